// The chaos checker on made-up histories: each rule finds the fault it is there to find, so a
// clean chaos line means something.
#include "tests/chaos/checker.h"

#include <google/protobuf/util/time_util.h>

#include <catch2/catch.hpp>

namespace {

namespace ev = kefu::events::v1;
namespace cv1 = kefu::common::v1;
using google::protobuf::util::TimeUtil;
using kefu::chaos::Verdict;

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

google::protobuf::Timestamp At(double seconds) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(kT0 + absl::Seconds(seconds)));
}

ev::Event Offer(const std::string& offer, const std::string& contact, const std::string& agent,
                double at = 0, double deadline = 3) {
  ev::Event e;
  *e.mutable_occurred_time() = At(at);
  auto* o = e.mutable_offer_created();
  o->set_offer_id(offer);
  o->set_contact_id(contact);
  o->set_agent_id(agent);
  *o->mutable_deadline() = At(deadline);
  return e;
}

ev::Event Expired(const std::string& offer, const std::string& contact, const std::string& agent,
                  double at) {
  ev::Event e;
  *e.mutable_occurred_time() = At(at);
  auto* x = e.mutable_offer_expired();
  x->set_offer_id(offer);
  x->set_contact_id(contact);
  x->set_agent_id(agent);
  return e;
}

ev::Event Assigned(const std::string& contact, const std::string& agent, int load) {
  ev::Event e;
  e.mutable_contact_assigned()->set_contact_id(contact);
  e.mutable_contact_assigned()->set_agent_id(agent);
  e.mutable_contact_assigned()->set_agent_load(load);
  return e;
}

ev::Event Ended(const std::string& contact) {
  ev::Event e;
  e.mutable_dialog_ended()->set_contact_id(contact);
  e.mutable_dialog_ended()->set_dialog_id("d-" + contact);
  return e;
}

ev::Event Queued(const std::string& contact) {
  ev::Event e;
  e.mutable_contact_queued()->set_contact_id(contact);
  return e;
}

cv1::Message Msg(const std::string& id, const std::string& text, int64_t seq) {
  cv1::Message m;
  m.set_message_id(id);
  m.set_text(text);
  m.set_sequence(seq);
  return m;
}

}  // namespace

TEST_CASE("the checker counts a third contact held by an agent of max 2 as double booking") {
  std::vector<ev::Event> events = {Offer("o1", "c1", "a"), Assigned("c1", "a", 1),
                                   Offer("o2", "c2", "a"), Ended("c1"), Offer("o3", "c3", "a")};
  Verdict ok;
  kefu::chaos::CheckConcurrency(events, 2, &ok);
  CHECK(ok.double_booked == 0);  // c1 ended before c3 came

  events.push_back(Offer("o4", "c4", "a"));
  Verdict over;
  kefu::chaos::CheckConcurrency(events, 2, &over);
  CHECK(over.double_booked == 1);

  Verdict two_agents;
  kefu::chaos::CheckConcurrency({Offer("o1", "c1", "a"), Offer("o2", "c1", "b")}, 2, &two_agents);
  CHECK(two_agents.double_booked == 1);
}

TEST_CASE("the checker measures reclaim from the offer's deadline and flags offers left open") {
  Verdict v;
  kefu::chaos::CheckReclaim({Offer("o1", "c1", "a", 0, 3), Expired("o1", "c1", "a", 3.4),
                             Offer("o2", "c1", "b", 3.4, 6.4)},
                            kT0 + absl::Seconds(20), &v);
  CHECK(v.reclaimed == 1);
  CHECK(v.unreclaimed == 1);  // o2 never answered, never expired
  CHECK(v.max_reclaim_s == Approx(13.6));

  Verdict quick;
  kefu::chaos::CheckReclaim({Offer("o1", "c1", "a", 0, 3), Expired("o1", "c1", "a", 3.4)},
                            kT0 + absl::Seconds(20), &quick);
  CHECK(quick.unreclaimed == 0);
  CHECK(quick.max_reclaim_s == Approx(0.4));
}

TEST_CASE("the checker calls an acknowledged contact lost unless queued, ended and kept in crm") {
  std::vector<kefu::chaos::AckedContact> acked = {{"c1", "d-c1"}, {"c2", "d-c2"}, {"c3", "d-c3"}};
  acked[2].probed = true;
  acked[2].last_routing_state = cv1::CONTACT_STATE_STARTED;
  const std::vector<ev::Event> events = {Queued("c1"), Ended("c1"), Queued("c3"), Ended("c3")};
  Verdict v;
  kefu::chaos::CheckContacts(acked, events, {"d-c1", "d-c3"}, &v);
  CHECK(v.contacts == 3);
  CHECK(v.lost == 2);  // c2 never queued; c3 stuck in STARTED when the router was asked

  Verdict no_record;
  kefu::chaos::CheckContacts({{"c1", "d-c1"}}, events, {}, &no_record);
  CHECK(no_record.lost == 1);
}

TEST_CASE("the checker finds duplicated, missing and reordered messages in a transcript") {
  const std::vector<kefu::chaos::AckedMessage> acked = {
      {"d1", "m1", 1, "one"}, {"d1", "m2", 2, "two"}, {"d1", "m3", 3, "three"}};
  Verdict clean;
  kefu::chaos::CheckTranscripts(
      acked,
      {{"d1",
        {Msg("m1", "one", 1), Msg("x", "notice", 2), Msg("m2", "two", 3), Msg("m3", "three", 4)}}},
      &clean);
  CHECK(clean.messages == 3);
  CHECK(clean.dup_msgs + clean.lost_msgs + clean.out_of_order == 0);

  Verdict bad;
  kefu::chaos::CheckTranscripts(
      acked, {{"d1", {Msg("m2", "two", 1), Msg("m1", "one", 2), Msg("m9", "one", 3)}}}, &bad);
  CHECK(bad.dup_msgs == 1);      // "one" twice (a retry stored as a new message)
  CHECK(bad.lost_msgs == 1);     // "three" never arrived
  CHECK(bad.out_of_order == 1);  // "two" before "one"
}
