// Supervisors watching presence (F23), department lists with counts, and per-tenant
// presence settings (F21, F22).
#include "absl/strings/match.h"
#include "tests/integration/routing_harness.h"

namespace {

// Reads the stream until an update about `agent` has `status` (or the stream ends).
bool SeeStatus(grpc::ClientReader<pv1::WatchResponse>& stream, const std::string& agent,
               AgentStatus status, pv1::WatchResponse* seen) {
  pv1::WatchResponse update;
  while (stream.Read(&update)) {
    if (update.has_changed() && update.changed().agent_id() == agent &&
        update.changed().status() == status) {
      *seen = update;
      return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("a supervisor watching presence sees an agent go online") {
  Centre c;
  c.Queue("main", rv1::ROUTING_STRATEGY_LEAST_BUSY, true);
  c.Department("support", "main");
  c.Department("sales", "main");
  c.Agent("already", {"support"}, 3, AWAY);
  c.Agent("seller", {"sales"}, 3, ONLINE);
  const std::string supervisor = TokenFor(c.tenant, kefu::common::v1::ROLE_SUPERVISOR, "sup");

  auto context = CallWith(supervisor);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  pv1::WatchRequest request;
  request.add_department_ids("support");
  auto stream = c.presence_stub->Watch(context.get(), request);
  pv1::WatchResponse first;
  REQUIRE(stream->Read(&first));
  REQUIRE(first.has_snapshot());
  REQUIRE(first.snapshot().agents_size() == 1);  // only the watched department
  CHECK(first.snapshot().agents(0).agent_id() == "already");
  CHECK(first.snapshot().counts().away() == 1);

  c.Agent("newcomer", {"support"}, 3, ONLINE);  // logs in (AWAY), then goes ONLINE
  pv1::WatchResponse seen;
  REQUIRE(SeeStatus(*stream, "newcomer", ONLINE, &seen));
  CHECK(seen.counts().online() == 1);
  CHECK(seen.counts().away() == 1);
  c.SetStatus("already", BUSY);
  REQUIRE(SeeStatus(*stream, "already", BUSY, &seen));
  CHECK(seen.counts().busy() == 1);
  context->TryCancel();
}

TEST_CASE("a watcher that stops reading does not hold back another watcher") {
  Centre c;
  c.Queue("main", rv1::ROUTING_STRATEGY_LEAST_BUSY, true);
  c.Department("support", "main");
  c.Agent("a1", {"support"}, 3, AWAY);
  const std::string supervisor = TokenFor(c.tenant, kefu::common::v1::ROLE_SUPERVISOR, "sup");
  auto slow_context = CallWith(supervisor);
  slow_context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto slow = c.presence_stub->Watch(slow_context.get(), pv1::WatchRequest());
  pv1::WatchResponse ignored;
  REQUIRE(slow->Read(&ignored));  // then never reads again
  auto context = CallWith(supervisor);
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto stream = c.presence_stub->Watch(context.get(), pv1::WatchRequest());
  REQUIRE(stream->Read(&ignored));
  for (int i = 0; i < 100; ++i) c.SetStatus("a1", i % 2 == 0 ? ONLINE : AWAY);
  c.SetStatus("a1", BUSY);
  pv1::WatchResponse seen;
  CHECK(SeeStatus(*stream, "a1", BUSY, &seen));
  slow_context->TryCancel();
  context->TryCancel();
}

TEST_CASE("supervisors list a department's agents with counts per status") {
  Centre c;
  c.Queue("main", rv1::ROUTING_STRATEGY_LEAST_BUSY, true);
  c.Department("support", "main");
  c.Department("sales", "main");
  c.Agent("s1", {"support"}, 3, ONLINE);
  c.Agent("s2", {"support"}, 3, ONLINE);
  c.Agent("s3", {"support"}, 3, AWAY);
  c.Agent("x1", {"sales"}, 3, BUSY);
  pv1::ListAgentsRequest request;
  request.set_department_id("support");
  request.add_statuses(ONLINE);
  request.set_page_size(1);
  pv1::ListAgentsResponse response;
  REQUIRE(c.presence_stub->ListAgents(CallWith(c.admin).get(), request, &response).ok());
  CHECK(response.agents_size() == 1);
  CHECK(response.counts().online() == 2);  // counts cover the department, not the page
  CHECK(response.counts().away() == 1);
  CHECK(response.counts().busy() == 0);
  CHECK_FALSE(response.next_page_token().empty());
}

TEST_CASE("an admin changes the tenant's presence settings and logins and heartbeats use them") {
  Centre c;
  pv1::UpdatePresenceSettingsRequest update;
  update.mutable_settings()->mutable_heartbeat_timeout()->set_seconds(45);
  update.mutable_settings()->mutable_seat_empty_timeout()->set_seconds(10);
  update.mutable_update_mask()->add_paths("heartbeat_timeout");
  update.mutable_update_mask()->add_paths("seat_empty_timeout");
  pv1::UpdatePresenceSettingsResponse updated;
  auto st = c.presence_stub->UpdatePresenceSettings(CallWith(c.admin).get(), update, &updated);
  INFO(st.error_message());
  REQUIRE(st.ok());
  pv1::GetPresenceSettingsResponse got;
  REQUIRE(
      c.presence_stub
          ->GetPresenceSettings(CallWith(c.admin).get(), pv1::GetPresenceSettingsRequest(), &got)
          .ok());
  CHECK(got.settings().heartbeat_timeout().seconds() == 45);
  CHECK(got.settings().seat_empty_timeout().seconds() == 10);
  CHECK(got.settings().pressure_max() > got.settings().pressure_min());  // defaults kept
  pv1::LoginResponse login;
  REQUIRE(
      c.presence_stub->Login(CallWith(c.AgentToken("a1")).get(), pv1::LoginRequest(), &login).ok());
  CHECK(login.heartbeat_timeout().seconds() == 45);
  // Each heartbeat moves the deadline by the tenant's timeout, not the service default (60 s).
  pv1::HeartbeatRequest beat;
  beat.set_session_id(login.session_id());
  pv1::HeartbeatResponse beaten;
  const int64_t before = absl::ToUnixSeconds(absl::Now());
  REQUIRE(c.presence_stub->Heartbeat(CallWith(c.AgentToken("a1")).get(), beat, &beaten).ok());
  CHECK(beaten.deadline().seconds() >= before + 44);
  CHECK(beaten.deadline().seconds() <= absl::ToUnixSeconds(absl::Now()) + 46);

  // Agents may read but not change them; a bad range names its field.
  update.mutable_settings()->set_pressure_min(50);
  update.mutable_settings()->set_pressure_max(10);
  update.mutable_update_mask()->Clear();
  update.mutable_update_mask()->add_paths("pressure_min");
  update.mutable_update_mask()->add_paths("pressure_max");
  auto bad = c.presence_stub->UpdatePresenceSettings(CallWith(c.admin).get(), update, &updated);
  CHECK(bad.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(bad.error_message().rfind("settings.pressure_min", 0) == 0);
  auto denied =
      c.presence_stub->UpdatePresenceSettings(CallWith(c.AgentToken("a1")).get(), update, &updated);
  CHECK(denied.error_code() == grpc::StatusCode::PERMISSION_DENIED);
}

TEST_CASE(
    "presence events are copied to the tenant's agent-events stream, which the router and "
    "Watch follow, and contact events are not") {
  Centre c;
  c.Queue("main", rv1::ROUTING_STRATEGY_LEAST_BUSY, true);
  c.Department("support", "main");
  c.Agent("a1", {"support"}, 3, ONLINE);                     // logs in (AWAY), then goes ONLINE
  CHECK(c.Enqueue("c1", NEW).routing().agent_id() == "a1");  // contact events, router's
  c.SetStatus("a1", BUSY);

  auto redis = kefu::redis::Connection::Open(
      *kefu::redis::ParseUrl(kefu::testing::SharedEnv().redis_url), absl::Seconds(3));
  REQUIRE(redis.ok());
  // type -> event bytes, in stream order.
  auto entries = [&](const std::string& key) {
    auto reply = (*redis)->Command({"XRANGE", key, "-", "+"});
    REQUIRE(reply.ok());
    std::vector<std::pair<std::string, std::string>> out;
    for (size_t i = 0; i < (*reply)->elements; ++i) {
      const redisReply* fields = (*reply)->element[i]->element[1];
      out.emplace_back(kefu::redis::ReplyString(*fields->element[1]),
                       kefu::redis::ReplyString(*fields->element[3]));
    }
    return out;
  };
  const auto agent_events = entries(kefu::events::AgentStreamKey(c.tenant));
  std::vector<std::string> types;
  for (const auto& [type, bytes] : agent_events) types.push_back(type);
  CHECK(types == std::vector<std::string>{"agent_logged_in", "agent_status_changed",
                                          "agent_status_changed", "agent_status_changed"});
  // The very entries of the tenant's stream (same event ids), in the same order.
  std::vector<std::pair<std::string, std::string>> presence_on_main;
  for (const auto& entry : entries(kefu::events::StreamKey(c.tenant))) {
    if (absl::StartsWith(entry.first, "agent_")) presence_on_main.push_back(entry);
  }
  CHECK(presence_on_main == agent_events);
}
