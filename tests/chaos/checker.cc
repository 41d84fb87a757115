#include "tests/chaos/checker.h"

#include <google/protobuf/util/time_util.h>

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace kefu::chaos {
namespace {

namespace ev = kefu::events::v1;
namespace cv1 = kefu::common::v1;
using google::protobuf::util::TimeUtil;

absl::Time ToTime(const google::protobuf::Timestamp& t) {
  return absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(t));
}

constexpr int kMaxProblems = 40;

void Problem(Verdict* verdict, std::string line) {
  if (verdict->problems.size() < kMaxProblems) verdict->problems.push_back(std::move(line));
}

}  // namespace

void CheckConcurrency(const std::vector<ev::Event>& events, int max_concurrent, Verdict* verdict) {
  std::map<std::string, std::set<std::string>> held;  // agent -> contacts
  std::map<std::string, std::string> holder;          // contact -> agent
  auto take = [&](const std::string& agent, const std::string& contact, const char* how) {
    auto other = holder.find(contact);
    if (other != holder.end() && other->second != agent) {
      ++verdict->double_booked;
      Problem(verdict, absl::StrCat("contact ", contact, " ", how, " to ", agent, " while held by ",
                                    other->second));
    }
    holder[contact] = agent;
    auto& mine = held[agent];
    mine.insert(contact);
    if (static_cast<int>(mine.size()) > max_concurrent) {
      ++verdict->double_booked;
      Problem(verdict, absl::StrCat("agent ", agent, " holds ", mine.size(), " contacts (max ",
                                    max_concurrent, ") after ", how, " of ", contact));
    }
  };
  auto drop = [&](const std::string& agent, const std::string& contact) {
    held[agent].erase(contact);
    auto it = holder.find(contact);
    if (it != holder.end() && it->second == agent) holder.erase(it);
  };
  auto drop_everywhere = [&](const std::string& contact) {
    auto it = holder.find(contact);
    if (it == holder.end()) return;
    held[it->second].erase(contact);
    holder.erase(it);
  };
  for (const ev::Event& e : events) {
    switch (e.payload_case()) {
      case ev::Event::kOfferCreated:
        take(e.offer_created().agent_id(), e.offer_created().contact_id(), "an offer");
        break;
      case ev::Event::kContactPickedUp:
        take(e.contact_picked_up().agent_id(), e.contact_picked_up().contact_id(), "a pickup");
        break;
      case ev::Event::kContactAssigned: {
        const auto& a = e.contact_assigned();
        // Ring-all offers are several at once; the assignment keeps one (withdrawn ones drop).
        if (holder.contains(a.contact_id()) && holder[a.contact_id()] != a.agent_id()) {
          drop_everywhere(a.contact_id());
        }
        if (!held[a.agent_id()].contains(a.contact_id())) {
          take(a.agent_id(), a.contact_id(), "an assignment");
        }
        if (a.agent_load() > max_concurrent) {
          ++verdict->double_booked;
          Problem(verdict, absl::StrCat("router assigned ", a.contact_id(), " to ", a.agent_id(),
                                        " at load ", a.agent_load()));
        }
        break;
      }
      case ev::Event::kOfferRejected:
        drop(e.offer_rejected().agent_id(), e.offer_rejected().contact_id());
        break;
      case ev::Event::kOfferExpired:
        drop(e.offer_expired().agent_id(), e.offer_expired().contact_id());
        break;
      case ev::Event::kOfferWithdrawn:
        drop(e.offer_withdrawn().agent_id(), e.offer_withdrawn().contact_id());
        break;
      case ev::Event::kContactTransferred:
        drop(e.contact_transferred().from_agent_id(), e.contact_transferred().contact_id());
        break;
      case ev::Event::kDialogEnded:
        drop_everywhere(e.dialog_ended().contact_id());
        break;
      case ev::Event::kContactAbandoned:
        drop_everywhere(e.contact_abandoned().contact_id());
        break;
      default:
        break;
    }
  }
}

void CheckReclaim(const std::vector<ev::Event>& events, absl::Time end, Verdict* verdict) {
  struct Open {
    absl::Time deadline;
    std::string contact_id;
  };
  std::map<std::string, Open> open;                        // offer id -> its deadline
  std::map<std::string, std::set<std::string>> offers_of;  // contact -> open offer ids
  auto close = [&](const std::string& offer_id) {
    auto it = open.find(offer_id);
    if (it == open.end()) return;
    offers_of[it->second.contact_id].erase(offer_id);
    open.erase(it);
  };
  auto close_contact = [&](const std::string& contact_id) {
    for (const std::string& id : offers_of[contact_id]) open.erase(id);
    offers_of.erase(contact_id);
  };
  for (const ev::Event& e : events) {
    switch (e.payload_case()) {
      case ev::Event::kOfferCreated: {
        const auto& o = e.offer_created();
        ++verdict->offers;
        open[o.offer_id()] = {ToTime(o.deadline()), o.contact_id()};
        offers_of[o.contact_id()].insert(o.offer_id());
        break;
      }
      case ev::Event::kOfferExpired: {
        const auto& x = e.offer_expired();
        auto it = open.find(x.offer_id());
        if (it != open.end()) {
          ++verdict->reclaimed;
          const double late =
              absl::ToDoubleSeconds(ToTime(e.occurred_time()) - it->second.deadline);
          verdict->max_reclaim_s = std::max(verdict->max_reclaim_s, late);
          if (late > 5) {
            Problem(verdict, absl::StrCat("offer ", x.offer_id(), " of ", x.contact_id(),
                                          " reclaimed ", late, " s after its deadline"));
          }
        }
        close(x.offer_id());
        break;
      }
      case ev::Event::kOfferAccepted:
        close(e.offer_accepted().offer_id());
        break;
      case ev::Event::kOfferRejected:
        close(e.offer_rejected().offer_id());
        break;
      case ev::Event::kOfferWithdrawn:
        close(e.offer_withdrawn().offer_id());
        break;
      case ev::Event::kContactAssigned:
        close_contact(e.contact_assigned().contact_id());
        break;
      case ev::Event::kContactAbandoned:
        close_contact(e.contact_abandoned().contact_id());
        break;
      case ev::Event::kDialogEnded:
        close_contact(e.dialog_ended().contact_id());
        break;
      default:
        break;
    }
  }
  for (const auto& [offer_id, o] : open) {
    const double late = absl::ToDoubleSeconds(end - o.deadline);
    if (late <= 5) continue;
    ++verdict->unreclaimed;
    verdict->max_reclaim_s = std::max(verdict->max_reclaim_s, late);
    Problem(verdict, absl::StrCat("offer ", offer_id, " of ", o.contact_id, " still open ", late,
                                  " s after its deadline"));
  }
}

void CheckContacts(const std::vector<AckedContact>& acked, const std::vector<ev::Event>& events,
                   const std::set<std::string>& crm_ended, Verdict* verdict) {
  std::set<std::string> queued, ended;
  for (const ev::Event& e : events) {
    if (e.has_contact_queued()) queued.insert(e.contact_queued().contact_id());
    if (e.has_dialog_ended()) ended.insert(e.dialog_ended().contact_id());
  }
  for (const AckedContact& c : acked) {
    ++verdict->contacts;
    std::string why;
    if (!queued.contains(c.contact_id)) {
      why = "never reached a queue (no ContactQueued)";
    } else if (c.unknown_to_router) {
      why = "unknown to the router (NOT_FOUND) while the customer was still there";
    } else if (c.probed && c.last_routing_state != cv1::CONTACT_STATE_QUEUED &&
               c.last_routing_state != cv1::CONTACT_STATE_OFFERED &&
               c.last_routing_state != cv1::CONTACT_STATE_ACTIVE &&
               c.last_routing_state != cv1::CONTACT_STATE_ENDED) {
      why =
          absl::StrCat("the router had it in state ", cv1::ContactState_Name(c.last_routing_state));
    } else if (!ended.contains(c.contact_id)) {
      why = "never ended (no DialogEnded)";
    } else if (!crm_ended.contains(c.dialog_id)) {
      why = "no ended dialog record in crm";
    }
    if (why.empty()) continue;
    ++verdict->lost;
    Problem(verdict,
            absl::StrCat("contact ", c.contact_id, " (dialog ", c.dialog_id, ") lost: ", why));
  }
}

void CheckTranscripts(const std::vector<AckedMessage>& acked,
                      const std::map<std::string, std::vector<cv1::Message>>& transcripts,
                      Verdict* verdict) {
  std::map<std::string, std::vector<const AckedMessage*>> by_dialog;
  for (const AckedMessage& m : acked) by_dialog[m.dialog_id].push_back(&m);
  for (auto& [dialog, mine] : by_dialog) {
    std::sort(mine.begin(), mine.end(), [](const AckedMessage* a, const AckedMessage* b) {
      return a->sequence < b->sequence;
    });
    auto found = transcripts.find(dialog);
    static const std::vector<cv1::Message> kNone;
    const std::vector<cv1::Message>& transcript =
        found == transcripts.end() ? kNone : found->second;
    int last_position = -1;
    for (const AckedMessage* m : mine) {
      ++verdict->messages;
      int copies = 0;
      int position = -1;
      for (size_t i = 0; i < transcript.size(); ++i) {
        if (transcript[i].message_id() == m->message_id || transcript[i].text() == m->text) {
          ++copies;
          if (position < 0) position = static_cast<int>(i);
        }
      }
      if (copies == 0) {
        ++verdict->lost_msgs;
        Problem(verdict, absl::StrCat("message \"", m->text, "\" (", m->message_id,
                                      ") missing from the transcript of ", dialog));
        continue;
      }
      if (copies > 1) {
        verdict->dup_msgs += copies - 1;
        Problem(verdict, absl::StrCat("message \"", m->text, "\" is ", copies,
                                      " times in the transcript of ", dialog));
      }
      if (position < last_position) {
        ++verdict->out_of_order;
        Problem(verdict, absl::StrCat("message \"", m->text, "\" out of order in ", dialog));
      }
      last_position = std::max(last_position, position);
    }
  }
}

}  // namespace kefu::chaos
