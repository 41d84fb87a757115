#pragma once

#include <grpcpp/grpcpp.h>

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace kefu::gateway {

// A server-stream of updates on the gRPC callback API. Updates are queued and written one
// at a time, so a slow client only fills its own queue; when that queue passes `limit` the
// stream ends with RESOURCE_EXHAUSTED and the client resumes with a fresh snapshot. Until
// Open() the stream holds live updates back (the snapshot goes first); afterwards updates
// whose sequence is not above the snapshot's are dropped as already seen.
// The update's per-session sequence; 0 for updates without one (always delivered).
template <typename Update>
int64_t SequenceOf(const Update& u) {
  if constexpr (requires { u.sequence(); }) {
    return u.sequence();
  } else {
    return 0;
  }
}

template <typename Update>
class UpdateStream final : public grpc::ServerWriteReactor<Update> {
 public:
  // `on_done` runs once, when gRPC is finished with the stream (unsubscribe there).
  explicit UpdateStream(size_t limit) : limit_(limit) {}

  void SetOnDone(std::function<void()> on_done) {
    std::lock_guard lock(mu_);
    on_done_ = std::move(on_done);
  }

  // First update (the snapshot), then everything held back with a higher sequence.
  void Open(Update first, int64_t after_sequence) {
    std::lock_guard lock(mu_);
    if (finished_) return;
    opened_ = true;
    after_ = after_sequence;
    queue_.push_back(std::move(first));
    for (auto& u : held_) {
      if (SequenceOf(u) == 0 || SequenceOf(u) > after_) queue_.push_back(std::move(u));
    }
    held_.clear();
    WriteNextLocked();
  }

  // Live update from any thread; never blocks.
  void Push(Update update) {
    std::lock_guard lock(mu_);
    if (finished_) return;
    if (!opened_) {
      held_.push_back(std::move(update));
      return;
    }
    if (SequenceOf(update) != 0 && SequenceOf(update) <= after_) return;
    if (queue_.size() >= limit_) {
      FinishLocked(grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                "client too slow: updates dropped; reconnect to resume"));
      return;
    }
    queue_.push_back(std::move(update));
    WriteNextLocked();
  }

  // Ends the stream after what is queued (e.g. after the "ended" update), or at once.
  void Close(grpc::Status status, bool after_queued) {
    std::lock_guard lock(mu_);
    if (finished_) return;
    if (after_queued && (writing_ || !queue_.empty())) {
      close_status_ = std::move(status);
      close_pending_ = true;
      return;
    }
    FinishLocked(std::move(status));
  }

  void OnWriteDone(bool ok) override {
    std::lock_guard lock(mu_);
    writing_ = false;
    if (!queue_.empty()) queue_.pop_front();
    if (!ok) {
      FinishLocked(grpc::Status(grpc::StatusCode::UNAVAILABLE, "stream write failed"));
      return;
    }
    if (queue_.empty() && close_pending_) {
      FinishLocked(close_status_);
      return;
    }
    WriteNextLocked();
  }

  void OnCancel() override {
    std::lock_guard lock(mu_);
    FinishLocked(grpc::Status::CANCELLED);
  }

  void OnDone() override {
    std::function<void()> done;
    {
      std::lock_guard lock(mu_);
      done = std::move(on_done_);
    }
    if (done) done();
    delete this;
  }

 private:
  void WriteNextLocked() {
    if (writing_ || finished_ || queue_.empty()) return;
    writing_ = true;
    this->StartWrite(&queue_.front());
  }

  void FinishLocked(grpc::Status status) {
    if (finished_) return;
    finished_ = true;
    this->Finish(std::move(status));
  }

  const size_t limit_;
  std::mutex mu_;
  std::deque<Update> queue_;  // front is being written while writing_
  std::vector<Update> held_;
  bool opened_ = false;
  bool writing_ = false;
  bool finished_ = false;
  bool close_pending_ = false;
  grpc::Status close_status_;
  int64_t after_ = 0;
  std::function<void()> on_done_;
};

// A stream that ends at once with `status` (a refused call on the callback API).
template <typename Update>
UpdateStream<Update>* FailedStream(const grpc::Status& status) {
  auto* stream = new UpdateStream<Update>(1);
  stream->Close(status, false);
  return stream;
}

// Wraps a reactor pointer for hub sinks: the sink may outlive the stream (a delivery racing
// with OnDone), so it goes through this handle, cleared before the reactor is deleted.
template <typename Stream>
class StreamHandle final {
 public:
  explicit StreamHandle(Stream* stream) : stream_(stream) {}
  template <typename Fn>
  void With(Fn&& fn) {
    std::lock_guard lock(mu_);
    if (stream_ != nullptr) fn(*stream_);
  }
  void Clear() {
    std::lock_guard lock(mu_);
    stream_ = nullptr;
  }

 private:
  std::mutex mu_;
  Stream* stream_;
};

}  // namespace kefu::gateway
