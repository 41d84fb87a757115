// crm applies the events one poll brings of a tenant in one transaction (RecordStore::
// ApplyEvents): duplicates inside the batch change nothing, an event the database refuses
// is dropped alone while the others are applied, everything is acknowledged, and a large
// backlog is applied completely.
#include <pqxx/pqxx>

#include "libs/pg/pool.h"
#include "services/crm/pg_record_store.h"
#include "tests/integration/crm_harness.h"

namespace {

using namespace crmtest;  // NOLINT(google-build-using-namespace): test vocabulary

// Publishes like the gateway and the router, before (or without) a crm running.
struct Producer {
  std::unique_ptr<kefu::redis::Pool> redis;
  std::unique_ptr<kefu::events::Publisher> publisher;

  Producer() {
    kefu::redis::PoolOptions options;
    options.url = *kefu::redis::ParseUrl(kefu::testing::SharedEnv().redis_url);
    redis = std::make_unique<kefu::redis::Pool>(options);
    publisher = std::make_unique<kefu::events::Publisher>(redis.get(), "gateway");
  }

  void Publish(const ev::Event& event) { REQUIRE(publisher->Publish(event).ok()); }

  // Entries of the tenant's stream that crm's consumer group read but did not acknowledge.
  int64_t Pending(const std::string& tenant) {
    auto lease = redis->Acquire();
    REQUIRE(lease.ok());
    auto reply = (*lease)->Command(
        {"XPENDING", kefu::events::StreamKey(tenant), TestOptions().events.group});
    REQUIRE(reply.ok());
    REQUIRE((*reply)->elements >= 1);
    return (*reply)->element[0]->integer;
  }

  // Crm instances of later test processes read every registered stream from the start:
  // take this test's stream out of their way.
  void Forget(const std::string& tenant) {
    auto lease = redis->Acquire();
    REQUIRE(lease.ok());
    CHECK((*lease)->Command({"SREM", kefu::events::kTenantsKey, tenant}).ok());
    CHECK((*lease)->Command({"DEL", kefu::events::StreamKey(tenant)}).ok());
  }
};

// An event every check passes and PostgreSQL refuses: its time lies before 4713 BC, out
// of timestamptz's range. Stands for any event that can never be applied.
ev::Event Unstorable(const std::string& tenant) {
  ev::Event event;
  event.set_tenant_id(tenant);
  event.set_event_id(kefu::events::NewEventId());
  event.mutable_occurred_time()->set_seconds(-300'000'000'000);
  auto* e = event.mutable_contact_started();
  e->set_contact_id(kefu::events::NewEventId());
  e->set_dialog_id(kefu::events::NewEventId());
  e->set_channel(common::CHANNEL_CHAT);
  return event;
}

int64_t Count(const std::string& dsn, const std::string& sql, const std::string& tenant) {
  pqxx::connection conn(dsn);
  pqxx::nontransaction txn(conn);
  return txn.exec_params1(sql, tenant)[0].as<int64_t>();
}

// kefu_crm_events_total{result="<result>"} of the crm's registry.
double EventsCounted(Crm& crm, const std::string& result) {
  for (const auto& family : crm.service.runtime->context().registry().Collect()) {
    if (family.name != "kefu_crm_events_total") continue;
    for (const auto& metric : family.metric) {
      for (const auto& label : metric.label) {
        if (label.name == "result" && label.value == result) return metric.counter.value;
      }
    }
  }
  return 0;
}

}  // namespace

TEST_CASE(
    "events read in one poll with a duplicate and an event the database refuses: the good ones "
    "are applied once, the bad one is dropped and all are acknowledged") {
  const std::string tenant = kefu::testing::UniqueTenant("batch");
  Producer producer;
  DialogScript script;
  script.tenant = tenant;
  const ev::Event bad = Unstorable(tenant);
  const std::vector<ev::Event> messages = script.Messages();
  REQUIRE(messages.size() == 2);
  // All on the stream before crm starts, so its first read takes them together, in order.
  const std::vector<ev::Event> stream = {script.Started(),
                                         script.Assigned(),
                                         messages[0],
                                         messages[0],  // redelivered
                                         bad,
                                         messages[1],
                                         script.Ended()};
  for (const auto& event : stream) producer.Publish(event);

  Crm crm;
  const std::string admin = TokenFor(tenant, common::ROLE_ADMIN, "admin");
  crm::Dialog dialog = crm.WaitForEndedDialog(admin, script.dialog_id);
  CHECK(dialog.message_count() == 2);
  REQUIRE(dialog.agents_size() == 1);
  CHECK(dialog.agents(0).agent_id() == script.agent_id);
  CHECK(dialog.connected());
  CHECK(dialog.wait_duration().seconds() == 20);
  crm::GetTranscriptRequest request;
  request.set_dialog_id(script.dialog_id);
  crm::GetTranscriptResponse transcript;
  REQUIRE(crm.records->GetTranscript(CallWith(admin).get(), request, &transcript).ok());
  CHECK(transcript.messages_size() == 2);
  // The refused event left nothing behind, not even its processed_events row.
  CHECK(crm.GetDialog(admin, bad.contact_started().dialog_id()).error_code() ==
        grpc::StatusCode::NOT_FOUND);
  CHECK(Count(crm.service.pg_dsn, "SELECT count(*) FROM crm.processed_events WHERE tenant_id = $1",
              tenant) == 5);
  // Nothing waits to be delivered again.
  CHECK(Eventually([&] { return producer.Pending(tenant) == 0; }));
  CHECK(EventsCounted(crm, "dropped") >= 1);
  CHECK(EventsCounted(crm, "duplicate") >= 1);
  CHECK(EventsCounted(crm, "applied") >= 5);
  producer.Forget(tenant);
}

TEST_CASE(
    "a tenant's batch reports each event's outcome: applied in order, duplicate, ignored, or "
    "refused alone, and applying it again changes nothing") {
  Crm crm;  // the migrated database
  const std::string tenant = kefu::testing::UniqueTenant("store-batch");
  kefu::pg::PoolOptions options;
  options.dsn = crm.service.pg_dsn;
  options.size = 2;
  options.session_role = kefu::pg::kAppRole;  // row-level security applies, as in crm
  kefu::pg::Pool pool(options, {});
  kefu::crm::PgRecordStore store(&pool);

  DialogScript script;
  script.tenant = tenant;
  const std::vector<ev::Event> messages = script.Messages();
  REQUIRE(messages.size() == 2);
  ev::Event not_crms = script.Envelope();  // reporting's, not crm's
  not_crms.mutable_offer_created()->set_offer_id("offer-1");
  ev::Event no_id = messages[1];
  no_id.clear_event_id();
  const std::vector<ev::Event> batch = {
      script.Started(),   script.Assigned(), messages[0], messages[0],
      Unstorable(tenant), not_crms,          no_id,       messages[1],
      script.Ended()};
  std::vector<const ev::Event*> pointers;
  for (const auto& event : batch) pointers.push_back(&event);

  auto outcomes = store.ApplyEvents(tenant, pointers);
  REQUIRE(outcomes.size() == batch.size());
  for (size_t i : {0, 1, 2, 7, 8}) {
    INFO("event " << i << ": " << outcomes[i].status());
    REQUIRE(outcomes[i].ok());
    CHECK_FALSE(outcomes[i]->duplicate);
    CHECK_FALSE(outcomes[i]->ignored);
  }
  REQUIRE(outcomes[3].ok());
  CHECK(outcomes[3]->duplicate);
  CHECK(absl::IsInvalidArgument(outcomes[4].status()));
  REQUIRE(outcomes[5].ok());
  CHECK(outcomes[5]->ignored);
  CHECK(absl::IsInvalidArgument(outcomes[6].status()));
  auto dialog = store.GetDialog(tenant, script.dialog_id);
  REQUIRE(dialog.ok());
  CHECK(dialog->message_count() == 2);
  CHECK(dialog->agents_size() == 1);
  CHECK(dialog->end_type() == script.end_type);

  // The whole batch delivered again (a crash before the acknowledgement).
  auto again = store.ApplyEvents(tenant, pointers);
  REQUIRE(again.size() == batch.size());
  for (size_t i : {0, 1, 2, 3, 7, 8}) {
    REQUIRE(again[i].ok());
    CHECK(again[i]->duplicate);
  }
  CHECK(absl::IsInvalidArgument(again[4].status()));
  dialog = store.GetDialog(tenant, script.dialog_id);
  REQUIRE(dialog.ok());
  CHECK(dialog->message_count() == 2);
  CHECK(dialog->agents_size() == 1);
}

TEST_CASE("a backlog of 2000 events of one tenant is applied completely, each event once") {
  constexpr int kDialogs = 400;  // 5 events each
  const std::string tenant = kefu::testing::UniqueTenant("backlog");
  Producer producer;
  for (int i = 0; i < kDialogs; ++i) {
    DialogScript script;
    script.tenant = tenant;
    for (const auto& event : script.All()) producer.Publish(event);
  }
  constexpr int64_t kEvents = kDialogs * 5;

  Crm crm;
  const std::string& dsn = crm.service.pg_dsn;
  constexpr char kProcessed[] = "SELECT count(*) FROM crm.processed_events WHERE tenant_id = $1";
  const absl::Time start = absl::Now();
  const int64_t before = Count(dsn, kProcessed, tenant);
  int64_t processed = before;
  const bool all = Eventually(
      [&] {
        processed = Count(dsn, kProcessed, tenant);
        return processed == kEvents;
      },
      absl::Seconds(60));
  const double seconds = absl::ToDoubleSeconds(absl::Now() - start);
  INFO(processed << " of " << kEvents << " events applied");
  REQUIRE(all);
  WARN("crm applied " << (kEvents - before) << " events in " << seconds << " s: "
                      << static_cast<int64_t>((kEvents - before) / seconds) << " events/s");
  CHECK(Count(dsn,
              "SELECT count(*) FROM crm.dialogs WHERE tenant_id = $1 AND end_type <> 0"
              " AND message_count = 2 AND connected",
              tenant) == kDialogs);
  CHECK(Count(dsn, "SELECT count(*) FROM crm.messages WHERE tenant_id = $1", tenant) ==
        2 * kDialogs);
  CHECK(Eventually([&] { return producer.Pending(tenant) == 0; }));
  producer.Forget(tenant);
}
