// crm's dialog record once DialogEnded has been applied: the gateway's segments are the
// record (F53), and an assignment, pickup or transfer that arrives after it (its first
// attempt failed transiently and it came back after a claim, or another replica applied it
// late) adds no agent segment and changes none.
#include "libs/pg/pool.h"
#include "services/crm/pg_record_store.h"
#include "tests/integration/crm_harness.h"

namespace {

using namespace crmtest;  // NOLINT(google-build-using-namespace): test vocabulary

// A chat that Carl of "general" takes and transfers to the department "billing", where Dora
// takes it and closes it: the events of the router and the gateway, in stream order.
struct TransferScript {
  DialogScript base;
  const std::string carl = "gen-carl";
  const std::string dora = "bill-dora";

  explicit TransferScript(const std::string& tenant) {
    base.tenant = tenant;
    base.agent_id = carl;
    base.department_id = "general";
  }

  absl::Time At(int second) const { return base.start + absl::Seconds(second); }

  ev::Event Assigned(const std::string& agent, const std::string& department, int second) const {
    ev::Event event = base.Assigned();
    *event.mutable_occurred_time() = Ts(At(second));
    event.mutable_contact_assigned()->set_agent_id(agent);
    event.mutable_contact_assigned()->set_department_id(department);
    return event;
  }

  ev::Event PickedUp(const std::string& agent, int second) const {
    ev::Event event = base.Envelope();
    *event.mutable_occurred_time() = Ts(At(second));
    auto* e = event.mutable_contact_picked_up();
    e->set_contact_id(base.contact_id);
    e->set_dialog_id(base.dialog_id);
    e->set_agent_id(agent);
    return event;
  }

  ev::Event Transferred(int second) const {
    ev::Event event = base.Envelope();
    *event.mutable_occurred_time() = Ts(At(second));
    auto* e = event.mutable_contact_transferred();
    e->set_transfer_id("transfer-1");
    e->set_contact_id(base.contact_id);
    e->set_dialog_id(base.dialog_id);
    e->set_from_agent_id(carl);
    e->set_to_department_id("billing");
    return event;
  }

  // The gateway's account: Carl's part, then Dora's by TRANSFER.
  ev::Event Ended() const {
    ev::Event event = base.Ended();
    auto* e = event.mutable_dialog_ended();
    e->set_department_id("billing");
    e->clear_segments();
    auto* first = e->add_segments();
    first->set_agent_id(carl);
    first->set_department_id("general");
    first->set_initiation(common::DIALOG_INITIATION_CUSTOMER);
    *first->mutable_start_time() = Ts(At(20));
    *first->mutable_end_time() = Ts(At(60));
    auto* second = e->add_segments();
    second->set_agent_id(dora);
    second->set_department_id("billing");
    second->set_initiation(common::DIALOG_INITIATION_TRANSFER);
    *second->mutable_start_time() = Ts(At(70));
    *second->mutable_end_time() = Ts(base.start + absl::Minutes(5));
    return event;
  }
};

std::vector<const ev::Event*> Pointers(const std::vector<ev::Event>& events) {
  std::vector<const ev::Event*> out;
  for (const auto& event : events) out.push_back(&event);
  return out;
}

void RequireApplied(std::vector<absl::StatusOr<kefu::crm::EventOutcome>> outcomes) {
  for (size_t i = 0; i < outcomes.size(); ++i) {
    INFO("event " << i << ": " << outcomes[i].status());
    REQUIRE(outcomes[i].ok());
    CHECK_FALSE(outcomes[i]->duplicate);
  }
}

void CheckCarlThenDora(const crm::Dialog& dialog) {
  INFO("crm dialog: " << dialog.ShortDebugString());
  CHECK(dialog.department_id() == "billing");
  REQUIRE(dialog.agents_size() == 2);
  CHECK(dialog.agents(0).agent_id() == "gen-carl");
  CHECK(dialog.agents(0).initiation() == common::DIALOG_INITIATION_CUSTOMER);
  CHECK(dialog.agents(0).has_end_time());
  CHECK(dialog.agents(1).agent_id() == "bill-dora");
  CHECK(dialog.agents(1).initiation() == common::DIALOG_INITIATION_TRANSFER);
  CHECK(dialog.agents(1).has_end_time());
}

}  // namespace

TEST_CASE(
    "a dialog transferred once keeps the gateway's two segments when an assignment, a pickup "
    "or a transfer arrives after its DialogEnded") {
  Crm crm;  // the migrated database
  kefu::pg::PoolOptions options;
  options.dsn = crm.service.pg_dsn;
  options.size = 2;
  options.session_role = kefu::pg::kAppRole;  // row-level security applies, as in crm
  kefu::pg::Pool pool(options, {});
  kefu::crm::PgRecordStore store(&pool);
  const std::string tenant = kefu::testing::UniqueTenant("late-assign");
  TransferScript script(tenant);

  const ev::Event dora_assigned = script.Assigned(script.dora, "billing", 70);
  SECTION("the target's assignment, whose first attempt failed, comes back after the end") {
    // One poll: Dora's assignment failed transiently (left pending), the others applied.
    RequireApplied(store.ApplyEvents(
        tenant, Pointers({script.base.Started(), script.Assigned(script.carl, "general", 20),
                          script.Transferred(60), script.Ended()})));
    CheckCarlThenDora(*store.GetDialog(tenant, script.base.dialog_id));
    // Claimed and delivered again later.
    RequireApplied(store.ApplyEvents(tenant, Pointers({dora_assigned})));
    CheckCarlThenDora(*store.GetDialog(tenant, script.base.dialog_id));
  }
  SECTION("the first agent's assignment and a pickup come back after the end, one per poll") {
    RequireApplied(store.ApplyEvents(
        tenant,
        Pointers({script.base.Started(), script.Transferred(60), dora_assigned, script.Ended()})));
    RequireApplied(
        store.ApplyEvents(tenant, Pointers({script.Assigned(script.carl, "general", 20)})));
    RequireApplied(store.ApplyEvents(tenant, Pointers({script.PickedUp(script.dora, 70)})));
    CheckCarlThenDora(*store.GetDialog(tenant, script.base.dialog_id));
  }
  SECTION("late events in the same batch as DialogEnded, after it") {
    ev::Event to_agent = script.Transferred(65);
    to_agent.mutable_contact_transferred()->set_to_agent_id(script.dora);
    RequireApplied(store.ApplyEvents(
        tenant, Pointers({script.base.Started(), script.Ended(),
                          script.Assigned(script.carl, "general", 20), to_agent, dora_assigned})));
    CheckCarlThenDora(*store.GetDialog(tenant, script.base.dialog_id));
  }
}
