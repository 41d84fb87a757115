#pragma once

// Reads a gRPC server stream on its own thread so a test can wait for the update it
// expects (a customer's or an agent's Updates, a supervisor's Monitor).
#include <grpcpp/grpcpp.h>

#include <catch2/catch.hpp>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/time/time.h"

namespace kefu::testing {

// Reads a server stream on its own thread and keeps every update for the test to wait on.
template <typename Update>
class Listener {
 public:
  template <typename Open>
  explicit Listener(Open open) {
    thread_ = std::thread([this, open] {
      auto reader = open(&ctx_);
      Update u;
      while (reader->Read(&u)) {
        std::lock_guard lock(mu_);
        seen_.push_back(u);
        cv_.notify_all();
      }
      std::lock_guard lock(mu_);
      status_ = reader->Finish();
      done_ = true;
      cv_.notify_all();
    });
  }
  ~Listener() {
    ctx_.TryCancel();
    thread_.join();
  }

  // The first update matching `pred`, waiting up to `limit`; fails the test otherwise.
  Update WaitFor(const std::function<bool(const Update&)>& pred,
                 absl::Duration limit = absl::Seconds(8)) {
    std::unique_lock lock(mu_);
    Update found;
    bool ok = cv_.wait_for(lock, absl::ToChronoMilliseconds(limit), [&] {
      for (const auto& u : seen_) {
        if (pred(u)) {
          found = u;
          return true;
        }
      }
      return false;
    });
    REQUIRE(ok);
    return found;
  }

  std::vector<Update> All() {
    std::lock_guard lock(mu_);
    return {seen_.begin(), seen_.end()};
  }

  grpc::ClientContext& ctx() { return ctx_; }

 private:
  grpc::ClientContext ctx_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Update> seen_;
  grpc::Status status_;
  bool done_ = false;
  std::thread thread_;
};

}  // namespace kefu::testing
