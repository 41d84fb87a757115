#include "services/reporting/capability.h"

#include <grpcpp/grpcpp.h>

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/auth/authorize.h"
#include "libs/common/log.h"
#include "libs/common/status.h"
#include "libs/events/events.h"
#include "libs/server/peer_channel.h"

namespace kefu::reporting {

double CapabilityScore(const AgentPerformance& p) {
  constexpr double kPriorWeight = 5.0;
  const double rating = (static_cast<double>(p.score_sum) + 3.0 * kPriorWeight) /
                        (static_cast<double>(p.rated) + kPriorWeight);
  const double resolution = (static_cast<double>(p.resolved) + 0.5 * kPriorWeight) /
                            (static_cast<double>(p.consultations) + kPriorWeight);
  const double score = 100.0 * (0.6 * (rating - 1.0) / 4.0 + 0.4 * resolution);
  return std::round(std::clamp(score, 0.0, 100.0) * 10.0) / 10.0;
}

CapabilitySync::CapabilitySync(CapabilityOptions options, ReportStore* store, redis::Pool* redis,
                               const auth::TokenCodec* codec, prometheus::Registry& registry)
    : options_(std::move(options)),
      store_(store),
      redis_(redis),
      codec_(codec),
      syncs_(prometheus::BuildCounter()
                 .Name("kefu_reporting_capability_syncs_total")
                 .Help("Capability score syncs to the router per tenant, by result")
                 .Register(registry)),
      ok_(syncs_.Add({{"result", "ok"}})),
      error_(syncs_.Add({{"result", "error"}})) {
  if (!options_.router_addr.empty()) {
    stub_ =
        kefu::router::v1::RoutingAdminService::NewStub(server::PeerChannel(options_.router_addr));
  }
}

void CapabilitySync::Run(const std::stop_token& stop) {
  if (options_.interval <= absl::ZeroDuration() || stub_ == nullptr) return;
  while (!stop.stop_requested()) {
    const absl::Time next = absl::Now() + options_.interval;
    if (auto st = SyncAll(); !st.ok()) {
      log::Warn("capability score sync failed", {{"error", st.ToString()}});
    }
    while (!stop.stop_requested() && absl::Now() < next) {
      absl::SleepFor(std::min(absl::Milliseconds(100), next - absl::Now()));
    }
  }
}

absl::Status CapabilitySync::SyncAll() {
  auto lease = redis_->Acquire();
  if (!lease.ok()) return lease.status();
  auto tenants = events::ListTenants(**lease);
  if (!tenants.ok()) return tenants.status();
  absl::Status first = absl::OkStatus();
  for (const std::string& tenant : *tenants) {
    absl::Status st = SyncTenant(tenant);
    (st.ok() ? ok_ : error_).Increment();
    if (!st.ok() && first.ok()) first = st;
  }
  return first;
}

absl::Status CapabilitySync::SyncTenant(const std::string& tenant) {
  if (stub_ == nullptr) return absl::FailedPreconditionError("no router address configured");
  const absl::Time now = absl::Now();
  auto performance = store_->Performance(tenant, absl::ToUnixMicros(now - options_.window));
  if (!performance.ok()) return performance.status();
  if (performance->empty()) return absl::OkStatus();
  kefu::router::v1::SetCapabilityScoresRequest request;
  request.set_tenant_id(tenant);
  // One key per tenant and minute: a retried round is not applied twice.
  request.set_idempotency_key(absl::StrCat("reporting-capability-", absl::ToUnixSeconds(now) / 60));
  for (const AgentPerformance& p : *performance) {
    auto* score = request.add_scores();
    score->set_agent_id(p.agent_id);
    score->set_capability_score(CapabilityScore(p));
  }
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  auth::AttachToken(&ctx, auth::PlatformServiceToken(*codec_, "reporting", absl::Minutes(5)));
  kefu::router::v1::SetCapabilityScoresResponse response;
  grpc::Status status = stub_->SetCapabilityScores(&ctx, request, &response);
  if (!status.ok()) return FromGrpcStatus(status);
  log::Info("capability scores sent", {{"tenant", tenant},
                                       {"agents", absl::StrCat(request.scores_size())},
                                       {"updated", absl::StrCat(response.updated_count())}});
  return absl::OkStatus();
}

}  // namespace kefu::reporting
