#pragma once

#include <prometheus/counter.h>
#include <prometheus/registry.h>

#include <memory>
#include <stop_token>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "kefu/router/v1/routing_admin.grpc.pb.h"
#include "libs/auth/token.h"
#include "libs/redis/client.h"
#include "services/reporting/report_store.h"

namespace kefu::reporting {

// An agent's service capability 0..100 (F54) from their record over the window:
//   60 % satisfaction: the average rating (1..5 mapped to 0..1), smoothed towards 3 with
//        the weight of 5 ratings so one rating cannot swing it;
//   40 % resolution: the share of their closing segments summarised "resolved", smoothed
//        towards 0.5 with the weight of 5 dialogs.
// One decimal. An agent with no dialogs and no ratings gets no score (left unchanged).
double CapabilityScore(const AgentPerformance& p);

struct CapabilityOptions {
  // How often each tenant's scores are computed and sent; 0 = never.
  absl::Duration interval = absl::Minutes(15);
  // The record the score is computed from: the last `window`.
  absl::Duration window = absl::Hours(24 * 30);
  // kefu-router gRPC address ("host:port"); empty = the --router-addr peer.
  std::string router_addr;
};

// The scheduled feedback of capability scores into the router's agent profiles (the timed
// synchronisation of agent information): every `interval`, for every tenant registered in
// Redis, RoutingAdminService.SetCapabilityScores with a platform service token minted
// with the deployment's signing key (subject "svc:reporting", 5-minute lifetime).
//   kefu_reporting_capability_syncs_total{result}  result: ok | error
class CapabilitySync final {
 public:
  CapabilitySync(CapabilityOptions options, ReportStore* store, redis::Pool* redis,
                 const auth::TokenCodec* codec, prometheus::Registry& registry);

  void Run(const std::stop_token& stop);
  // One round over every tenant; the first failure is returned after all were tried.
  absl::Status SyncAll();
  absl::Status SyncTenant(const std::string& tenant);

 private:
  const CapabilityOptions options_;
  ReportStore* store_;
  redis::Pool* redis_;
  const auth::TokenCodec* codec_;
  std::unique_ptr<kefu::router::v1::RoutingAdminService::Stub> stub_;
  prometheus::Family<prometheus::Counter>& syncs_;
  prometheus::Counter& ok_;
  prometheus::Counter& error_;
};

}  // namespace kefu::reporting
