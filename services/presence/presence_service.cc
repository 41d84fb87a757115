#include "services/presence/presence_service.h"

#include <google/protobuf/util/field_mask_util.h>
#include <google/protobuf/util/time_util.h>
#include <prometheus/gauge.h>

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/auth/token.h"
#include "libs/common/log.h"
#include "libs/common/status.h"
#include "libs/common/status_macros.h"
#include "libs/events/events.h"

namespace kefu::embedded {
const std::vector<EmbeddedFile>& PresenceScripts();
}  // namespace kefu::embedded

namespace kefu::presence {
namespace {

using google::protobuf::util::TimeUtil;
using kefu::common::v1::ROLE_ADMIN;
using kefu::common::v1::ROLE_AGENT;
using kefu::common::v1::ROLE_SERVICE;
using kefu::common::v1::ROLE_SUPERVISOR;

int64_t Ms(absl::Duration d) { return absl::ToInt64Milliseconds(d); }

int64_t Int(const redisReply* r) { return redis::ReplyInt(r); }

absl::Status ValidateId(absl::string_view field, absl::string_view id) {
  if (id.empty()) return InvalidField(field, "required");
  if (id.size() > 64) return InvalidField(field, "must be at most 64 characters");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<redis::Reply> PresenceServiceImpl::Run(const std::string& tenant,
                                                      std::vector<std::string> args) {
  if (auto st = tenants_.Ensure(*pool_, tenant); !st.ok()) return st;
  std::vector<std::string> argv = {std::move(args[0]), tenant, auth::RandomId()};
  for (size_t i = 1; i < args.size(); ++i) argv.push_back(std::move(args[i]));
  std::vector<absl::string_view> views(argv.begin(), argv.end());
  return script_->Run(*pool_, {events::StreamKey(tenant)}, views);
}

absl::StatusOr<v1::AgentPresence> PresenceServiceImpl::Read(const std::string& tenant,
                                                            const std::string& agent) {
  auto reply = pool_->Command({"HMGET", events::TenantKey(tenant, "agent:" + agent), "status",
                               "reason", "since", "restore", "session", "seat", "seat_state",
                               "login_ms", "hb_ms", "load", "max", "depts"});
  if (!reply.ok()) return reply.status();
  auto at = [&](size_t i) { return (*reply)->element[i]; };
  if (redis::ReplyIsNil(*at(0))) {
    return absl::NotFoundError(absl::StrCat("agent ", agent, " has never logged in"));
  }
  v1::AgentPresence p;
  p.set_agent_id(agent);
  p.set_status(static_cast<kefu::common::v1::AgentStatus>(Int(at(0))));
  p.set_reason(static_cast<kefu::common::v1::AgentStatusReason>(Int(at(1))));
  *p.mutable_status_time() = TimeUtil::MillisecondsToTimestamp(Int(at(2)));
  p.set_restore_status(static_cast<kefu::common::v1::AgentStatus>(Int(at(3))));
  p.set_session_id(std::string(redis::ReplyString(*at(4))));
  p.set_seat_id(std::string(redis::ReplyString(*at(5))));
  p.set_seat_state(static_cast<kefu::common::v1::SeatState>(Int(at(6))));
  *p.mutable_login_time() = TimeUtil::MillisecondsToTimestamp(Int(at(7)));
  *p.mutable_last_heartbeat_time() = TimeUtil::MillisecondsToTimestamp(Int(at(8)));
  p.set_active_dialogs(static_cast<int32_t>(Int(at(9))));
  p.set_max_concurrent(static_cast<int32_t>(Int(at(10))));
  const absl::string_view depts = redis::ReplyString(*at(11));
  if (!depts.empty()) {
    for (absl::string_view d : absl::StrSplit(depts, ',')) p.add_department_ids(std::string(d));
  }
  return p;
}

grpc::Status PresenceServiceImpl::Login(grpc::ServerContext* context,
                                        const v1::LoginRequest* request,
                                        v1::LoginResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authenticator_->Require(*context, {ROLE_AGENT}));
    if (request->seat_id().size() > 64) return InvalidField("seat_id", "at most 64 characters");
    const std::string session = auth::RandomId();
    KEFU_ASSIGN_OR_RETURN(PresenceSettings settings, Settings(caller.tenant_id));
    KEFU_RETURN_IF_ERROR(
        Run(caller.tenant_id, {"login", caller.subject, session, request->seat_id(),
                               std::to_string(Ms(settings.heartbeat_timeout))})
            .status());
    response->set_session_id(session);
    // Three heartbeats fit in the window (at most the flag's interval).
    *response->mutable_heartbeat_interval() = TimeUtil::MillisecondsToDuration(
        Ms(std::min(settings.heartbeat_interval, settings.heartbeat_timeout / 3)));
    *response->mutable_heartbeat_timeout() =
        TimeUtil::MillisecondsToDuration(Ms(settings.heartbeat_timeout));
    KEFU_ASSIGN_OR_RETURN(*response->mutable_presence(), Read(caller.tenant_id, caller.subject));
    return absl::OkStatus();
  });
}

grpc::Status PresenceServiceImpl::Logout(grpc::ServerContext* context,
                                         const v1::LogoutRequest* request,
                                         v1::LogoutResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authenticator_->Require(*context, {ROLE_AGENT}));
    KEFU_ASSIGN_OR_RETURN(redis::Reply lasted,
                          Run(caller.tenant_id, {"logout", caller.subject, request->session_id()}));
    *response->mutable_session_duration() = TimeUtil::MillisecondsToDuration(lasted->integer);
    return absl::OkStatus();
  });
}

grpc::Status PresenceServiceImpl::SetStatus(grpc::ServerContext* context,
                                            const v1::SetStatusRequest* request,
                                            v1::SetStatusResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(
        auth::Claims caller,
        authenticator_->Require(*context, {ROLE_AGENT, ROLE_SUPERVISOR, ROLE_ADMIN}));
    std::string agent = request->agent_id().empty() ? caller.subject : request->agent_id();
    int reason = kefu::common::v1::AGENT_STATUS_REASON_MANUAL;
    if (agent != caller.subject) {
      if (caller.role == ROLE_AGENT) {
        return absl::PermissionDeniedError("agent_id: agents set only their own status");
      }
      reason = kefu::common::v1::AGENT_STATUS_REASON_SUPERVISOR;
    }
    KEFU_RETURN_IF_ERROR(ValidateId("agent_id", agent));
    if (!kefu::common::v1::AgentStatus_IsValid(request->status()) ||
        request->status() == kefu::common::v1::AGENT_STATUS_UNSPECIFIED) {
      return InvalidField("status", "must be ONLINE, BUSY, AWAY or OFFLINE");
    }
    KEFU_RETURN_IF_ERROR(Run(caller.tenant_id, {"status", agent, std::to_string(request->status()),
                                                std::to_string(reason)})
                             .status());
    KEFU_ASSIGN_OR_RETURN(*response->mutable_presence(), Read(caller.tenant_id, agent));
    return absl::OkStatus();
  });
}

grpc::Status PresenceServiceImpl::Heartbeat(grpc::ServerContext* context,
                                            const v1::HeartbeatRequest* request,
                                            v1::HeartbeatResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authenticator_->Require(*context, {ROLE_AGENT}));
    KEFU_RETURN_IF_ERROR(ValidateId("session_id", request->session_id()));
    // The script reads the tenant's own timeout (presence:cfg): one round trip a heartbeat.
    KEFU_ASSIGN_OR_RETURN(redis::Reply reply,
                          Run(caller.tenant_id, {"heartbeat", caller.subject, request->session_id(),
                                                 std::to_string(Ms(settings_.heartbeat_timeout))}));
    response->set_status(static_cast<kefu::common::v1::AgentStatus>(Int(reply->element[0])));
    *response->mutable_deadline() = TimeUtil::MillisecondsToTimestamp(Int(reply->element[1]));
    return absl::OkStatus();
  });
}

grpc::Status PresenceServiceImpl::ReportSeat(grpc::ServerContext* context,
                                             const v1::ReportSeatRequest* request,
                                             v1::ReportSeatResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    // Seat sensors report with a SERVICE account of their tenant (docs/API.md).
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller,
                          authenticator_->Require(*context, {ROLE_SERVICE, ROLE_ADMIN}));
    if (caller.platform()) return absl::PermissionDeniedError("use a tenant's service account");
    KEFU_RETURN_IF_ERROR(ValidateId("seat_id", request->seat_id()));
    KEFU_ASSIGN_OR_RETURN(PresenceSettings settings, Settings(caller.tenant_id));
    bool empty;
    int sensor;
    switch (request->reading_case()) {
      case v1::ReportSeatRequest::kPressure:
        empty = request->pressure().value() < settings.pressure_min ||
                request->pressure().value() > settings.pressure_max;
        sensor = kefu::common::v1::SEAT_SENSOR_PRESSURE;
        break;
      case v1::ReportSeatRequest::kCamera:
        if (request->camera().confidence() < 0 || request->camera().confidence() > 1) {
          return InvalidField("camera.confidence", "must be between 0 and 1");
        }
        // An unsure camera does not empty a seat.
        empty = request->camera().seat_empty() &&
                request->camera().confidence() >= settings.camera_min_confidence;
        sensor = kefu::common::v1::SEAT_SENSOR_CAMERA;
        break;
      default:
        return InvalidField("reading", "set pressure or camera");
    }
    KEFU_ASSIGN_OR_RETURN(redis::Reply reply,
                          Run(caller.tenant_id, {"seat", request->seat_id(), empty ? "1" : "0",
                                                 std::to_string(Ms(settings.seat_empty_limit)),
                                                 std::to_string(sensor)}));
    response->set_agent_id(std::string(redis::ReplyString(*reply->element[0])));
    response->set_seat_state(static_cast<kefu::common::v1::SeatState>(Int(reply->element[1])));
    if (Int(reply->element[2]) > 0) {
      *response->mutable_offline_deadline() =
          TimeUtil::MillisecondsToTimestamp(Int(reply->element[2]));
    }
    return absl::OkStatus();
  });
}

grpc::Status PresenceServiceImpl::GetAgent(grpc::ServerContext* context,
                                           const v1::GetAgentRequest* request,
                                           v1::GetAgentResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(
        auth::Claims caller,
        authenticator_->Require(*context, {ROLE_AGENT, ROLE_SUPERVISOR, ROLE_ADMIN, ROLE_SERVICE}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, request->tenant_id()));
    const std::string agent = request->agent_id().empty() ? caller.subject : request->agent_id();
    KEFU_RETURN_IF_ERROR(ValidateId("agent_id", agent));
    KEFU_ASSIGN_OR_RETURN(*response->mutable_presence(), Read(tenant, agent));
    return absl::OkStatus();
  });
}

grpc::Status PresenceServiceImpl::ListAgents(grpc::ServerContext* context,
                                             const v1::ListAgentsRequest* request,
                                             v1::ListAgentsResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(
        auth::Claims caller,
        authenticator_->Require(*context, {ROLE_AGENT, ROLE_SUPERVISOR, ROLE_ADMIN, ROLE_SERVICE}));
    KEFU_ASSIGN_OR_RETURN(std::string tenant, auth::ActingTenant(caller, request->tenant_id()));
    if (request->page_size() < 0) return InvalidField("page_size", "must not be negative");
    const int limit = request->page_size() == 0 ? 500 : std::min(request->page_size(), 1000);
    int offset = 0;
    if (!request->page_token().empty() &&
        (!absl::SimpleAtoi(request->page_token(), &offset) || offset < 0)) {
      return InvalidField("page_token", "not a token this API issued");
    }
    for (int status : request->statuses()) {
      if (!kefu::common::v1::AgentStatus_IsValid(status)) {
        return InvalidField("statuses", "unknown value");
      }
    }
    KEFU_ASSIGN_OR_RETURN(auto all, ReadAll(tenant));
    v1::StatusCounts* counts = response->mutable_counts();
    int matched = 0;
    for (auto& presence_value : all) {
      auto* presence = &presence_value;
      if (!request->department_id().empty() &&
          std::find(presence->department_ids().begin(), presence->department_ids().end(),
                    request->department_id()) == presence->department_ids().end()) {
        continue;
      }
      switch (presence->status()) {  // F23: live counts of the department
        case kefu::common::v1::AGENT_STATUS_ONLINE:
          counts->set_online(counts->online() + 1);
          break;
        case kefu::common::v1::AGENT_STATUS_BUSY:
          counts->set_busy(counts->busy() + 1);
          break;
        case kefu::common::v1::AGENT_STATUS_AWAY:
          counts->set_away(counts->away() + 1);
          break;
        default:
          counts->set_offline(counts->offline() + 1);
      }
      bool wanted = request->statuses().empty();
      for (int status : request->statuses()) wanted |= status == presence->status();
      if (!wanted) continue;
      // Pages by position in agent id order; the counts always cover the whole filter.
      if (matched >= offset && response->agents_size() < limit) {
        *response->add_agents() = std::move(*presence);
      }
      ++matched;
    }
    if (matched > offset + response->agents_size()) {
      response->set_next_page_token(std::to_string(offset + response->agents_size()));
    }
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<v1::AgentPresence>> PresenceServiceImpl::ReadAll(
    const std::string& tenant) {
  auto members = pool_->Command({"SMEMBERS", events::TenantKey(tenant, "presence:agents")});
  if (!members.ok()) return members.status();
  std::vector<std::string> agents;
  for (size_t i = 0; i < (*members)->elements; ++i) {
    agents.emplace_back(redis::ReplyString(*(*members)->element[i]));
  }
  std::sort(agents.begin(), agents.end());
  std::vector<v1::AgentPresence> out;
  for (const std::string& agent : agents) {
    auto presence = Read(tenant, agent);
    if (presence.ok()) out.push_back(std::move(*presence));
  }
  return out;
}

grpc::ServerWriteReactor<v1::WatchResponse>* PresenceServiceImpl::Watch(
    grpc::CallbackServerContext* context, const v1::WatchRequest* request) {
  // A stream that ends at once with an error.
  class Refused final : public grpc::ServerWriteReactor<v1::WatchResponse> {
   public:
    explicit Refused(const absl::Status& status) { Finish(ToGrpcStatus(status)); }
    void OnDone() override { delete this; }
  };
  auto caller = authenticator_->Require(*context, {ROLE_SUPERVISOR, ROLE_ADMIN, ROLE_SERVICE});
  if (!caller.ok()) return new Refused(caller.status());
  auto tenant = auth::ActingTenant(*caller, request->tenant_id());
  if (!tenant.ok()) return new Refused(tenant.status());
  std::set<std::string> departments;
  for (const auto& d : request->department_ids()) {
    if (auto st = ValidateId("department_ids", d); !st.ok()) return new Refused(st);
    departments.insert(d);
  }
  if (hub_ == nullptr) return new Refused(absl::UnavailableError("watch is not running"));
  auto snapshot = ReadAll(*tenant);
  if (!snapshot.ok()) return new Refused(snapshot.status());
  // Subscribed before the first write: a change after the snapshot read is sent after it.
  return new WatchReactor(hub_, *tenant, std::move(departments), std::move(*snapshot));
}

absl::StatusOr<PresenceSettings> PresenceServiceImpl::Settings(const std::string& tenant) {
  auto reply = pool_->Command({"HGETALL", events::TenantKey(tenant, "presence:cfg")});
  if (!reply.ok()) return reply.status();
  PresenceSettings out = settings_;
  for (size_t i = 0; i + 1 < (*reply)->elements; i += 2) {
    const absl::string_view name = redis::ReplyString(*(*reply)->element[i]);
    double value = 0;
    if (!absl::SimpleAtod(redis::ReplyString(*(*reply)->element[i + 1]), &value)) continue;
    if (name == "seat_empty_ms") out.seat_empty_limit = absl::Milliseconds(value);
    if (name == "heartbeat_timeout_ms") out.heartbeat_timeout = absl::Milliseconds(value);
    if (name == "pressure_min") out.pressure_min = value;
    if (name == "pressure_max") out.pressure_max = value;
    if (name == "camera_min_confidence") out.camera_min_confidence = value;
  }
  return out;
}

namespace {

v1::PresenceSettings ToProto(const PresenceSettings& s) {
  v1::PresenceSettings out;
  *out.mutable_seat_empty_timeout() = TimeUtil::MillisecondsToDuration(Ms(s.seat_empty_limit));
  *out.mutable_heartbeat_timeout() = TimeUtil::MillisecondsToDuration(Ms(s.heartbeat_timeout));
  out.set_pressure_min(s.pressure_min);
  out.set_pressure_max(s.pressure_max);
  out.set_camera_min_confidence(s.camera_min_confidence);
  return out;
}

}  // namespace

grpc::Status PresenceServiceImpl::GetPresenceSettings(grpc::ServerContext* context,
                                                      const v1::GetPresenceSettingsRequest*,
                                                      v1::GetPresenceSettingsResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(
        auth::Claims caller,
        authenticator_->Require(*context, {ROLE_ADMIN, ROLE_SUPERVISOR, ROLE_AGENT}));
    KEFU_ASSIGN_OR_RETURN(PresenceSettings settings, Settings(caller.tenant_id));
    *response->mutable_settings() = ToProto(settings);
    return absl::OkStatus();
  });
}

grpc::Status PresenceServiceImpl::UpdatePresenceSettings(
    grpc::ServerContext* context, const v1::UpdatePresenceSettingsRequest* request,
    v1::UpdatePresenceSettingsResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, authenticator_->Require(*context, {ROLE_ADMIN}));
    KEFU_ASSIGN_OR_RETURN(PresenceSettings current, Settings(caller.tenant_id));
    v1::PresenceSettings merged = ToProto(current);
    const auto& mask = request->update_mask();
    if (mask.paths().empty()) {
      merged = request->settings();
    } else {
      if (!google::protobuf::util::FieldMaskUtil::IsValidFieldMask<v1::PresenceSettings>(mask)) {
        return InvalidField("update_mask", "names a field PresenceSettings does not have");
      }
      google::protobuf::util::FieldMaskUtil::MergeOptions options;
      options.set_replace_message_fields(true);
      google::protobuf::util::FieldMaskUtil::MergeMessageTo(request->settings(), mask, options,
                                                            &merged);
    }
    const int64_t seat_ms = TimeUtil::DurationToMilliseconds(merged.seat_empty_timeout());
    const int64_t hb_ms = TimeUtil::DurationToMilliseconds(merged.heartbeat_timeout());
    if (seat_ms < 100 || seat_ms > 3600000) {
      return InvalidField("settings.seat_empty_timeout", "must be between 100 ms and 1 h");
    }
    if (hb_ms < 100 || hb_ms > 3600000) {
      return InvalidField("settings.heartbeat_timeout", "must be between 100 ms and 1 h");
    }
    if (!(merged.pressure_min() < merged.pressure_max())) {
      return InvalidField("settings.pressure_min", "must be below pressure_max");
    }
    if (!(merged.camera_min_confidence() >= 0 && merged.camera_min_confidence() <= 1)) {
      return InvalidField("settings.camera_min_confidence", "must be between 0 and 1");
    }
    auto stored = pool_->Command(
        {"HSET", events::TenantKey(caller.tenant_id, "presence:cfg"), "seat_empty_ms",
         std::to_string(seat_ms), "heartbeat_timeout_ms", std::to_string(hb_ms), "pressure_min",
         absl::StrCat(merged.pressure_min()), "pressure_max", absl::StrCat(merged.pressure_max()),
         "camera_min_confidence", absl::StrCat(merged.camera_min_confidence())});
    if (!stored.ok()) return stored.status();
    *response->mutable_settings() = merged;
    return absl::OkStatus();
  });
}

namespace {

// F68: logged-in agents by status per tenant, every 2 s (kefu_presence_agents; every
// replica reports the same shared values).
void AgentGaugeLoop(const std::stop_token& stop, redis::Pool* pool, PresenceServiceImpl* service,
                    prometheus::Registry* registry) {
  auto& family = prometheus::BuildGauge()
                     .Name("kefu_presence_agents")
                     .Help("Logged-in agents by status")
                     .Register(*registry);
  std::map<std::pair<std::string, int>, prometheus::Gauge*> gauges;
  while (!stop.stop_requested()) {
    std::vector<std::string> tenants;
    {
      auto lease = pool->Acquire();
      if (lease.ok()) {
        auto listed = events::ListTenants(**lease);
        if (listed.ok()) tenants = std::move(*listed);
      }
    }
    for (const std::string& tenant : tenants) {
      auto agents = service->ReadAll(tenant);
      if (!agents.ok()) continue;
      std::map<int, int> counts = {{1, 0}, {2, 0}, {3, 0}, {4, 0}};
      for (const auto& a : *agents) ++counts[a.status() == 0 ? 4 : a.status()];
      for (const auto& [status, count] : counts) {
        prometheus::Gauge*& gauge = gauges[{tenant, status}];
        if (gauge == nullptr) {
          gauge = &family.Add(
              {{"tenant", tenant},
               {"status", absl::AsciiStrToLower(kefu::common::v1::AgentStatus_Name(status).substr(
                              sizeof("AGENT_STATUS_") - 1))}});
        }
        gauge->Set(count);
      }
    }
    for (int i = 0; i < 20 && !stop.stop_requested(); ++i) absl::SleepFor(absl::Milliseconds(100));
  }
}

}  // namespace

namespace {

// Heartbeat and empty-seat deadlines of every tenant, claimed atomically by the script.
void SweepLoop(const std::stop_token& stop, redis::Pool* pool, redis::Script* script) {
  while (!stop.stop_requested()) {
    absl::SleepFor(absl::Milliseconds(100));
    absl::StatusOr<std::vector<std::string>> tenants;
    {
      auto lease = pool->Acquire();
      if (!lease.ok()) continue;
      tenants = events::ListTenants(**lease);
    }
    if (!tenants.ok()) continue;
    for (const std::string& tenant : *tenants) {
      const std::string nonce = auth::RandomId();
      auto swept = script->Run(*pool, {events::StreamKey(tenant)}, {"sweep", tenant, nonce, "200"});
      if (!swept.ok()) {
        log::Warn("presence sweep failed",
                  {{"tenant", tenant}, {"error", swept.status().message()}});
      }
    }
  }
}

absl::Status Setup(server::ServiceContext& ctx, const PresenceSettings& settings) {
  auto script = std::make_shared<redis::Script>("presence",
                                                redis::Script::Concat(embedded::PresenceScripts()));
  auto hub = std::make_shared<WatchHub>();
  auto service = std::make_unique<PresenceServiceImpl>(ctx.redis(), script.get(),
                                                       &ctx.authenticator(), settings, hub.get());
  PresenceServiceImpl* impl = service.get();
  hub->SetReader([impl](const std::string& tenant, const std::string& agent) {
    return impl->Read(tenant, agent);
  });
  ctx.AddService(std::move(service), v1::PresenceService::service_full_name());
  redis::Pool* pool = ctx.redis();
  redis::Script* s = script.get();
  ctx.AddWorker("presence-sweep",
                [pool, s](const std::stop_token& stop) { SweepLoop(stop, pool, s); });
  WatchHub* h = hub.get();
  const redis::RedisUrl url = ctx.redis_url();
  ctx.AddWorker("presence-watch", [h, url](const std::stop_token& stop) { h->Run(stop, url); });
  prometheus::Registry* registry = &ctx.registry();
  ctx.AddWorker("presence-metrics", [pool, impl, registry](const std::stop_token& stop) {
    AgentGaugeLoop(stop, pool, impl, registry);
  });
  ctx.Keep(std::move(hub));
  ctx.Keep(std::move(script));
  return absl::OkStatus();
}

}  // namespace

server::ServiceDefinition Definition(PresenceSettings settings) {
  auto shared = std::make_shared<PresenceSettings>(settings);
  return {.name = "presence",
          .register_flags = nullptr,
          .setup = [shared](server::ServiceContext& ctx) { return Setup(ctx, *shared); }};
}

server::ServiceDefinition Definition() {
  auto settings = std::make_shared<PresenceSettings>();
  return {.name = "presence",
          .register_flags =
              [settings](FlagSet& flags) {
                flags.Duration("heartbeat-timeout", "KEFU_HEARTBEAT_TIMEOUT",
                               "agents without a heartbeat this long go OFFLINE",
                               &settings->heartbeat_timeout);
                flags.Duration("seat-empty-limit", "KEFU_SEAT_EMPTY_LIMIT",
                               "an empty seat this long turns its agent OFFLINE (F21)",
                               &settings->seat_empty_limit);
              },
          .setup = [settings](server::ServiceContext& ctx) { return Setup(ctx, *settings); }};
}

}  // namespace kefu::presence
