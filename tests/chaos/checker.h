#pragma once

// The chaos checker: what the clients were told (acknowledged contacts and messages), the
// tenant's event history (kefu:{t:<tenant>}:events, XRANGE) and the final records in crm,
// turned into the figures of the chaos line. Pure C++ over protos: no sockets, so the rules
// themselves are tested on made-up histories (checker_test.cc).
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "kefu/common/v1/common.pb.h"
#include "kefu/events/v1/events.pb.h"

namespace kefu::chaos {

// A contact whose StartContact returned OK to the customer.
struct AckedContact {
  std::string contact_id;
  std::string dialog_id;
  // The router's state of the contact just before the customer left (QueueStatus), or
  // UNSPECIFIED when it was never asked.
  kefu::common::v1::ContactState last_routing_state = kefu::common::v1::CONTACT_STATE_UNSPECIFIED;
  bool probed = false;
  // The router did not know the contact (NOT_FOUND) when asked.
  bool unknown_to_router = false;
};

// A message whose Send returned OK (customer or agent).
struct AckedMessage {
  std::string dialog_id;
  std::string message_id;
  int64_t sequence = 0;
  std::string text;  // unique per test run
};

struct Verdict {
  int contacts = 0;
  int lost = 0;           // acknowledged contacts neither ended, queued, offered nor active
  int double_booked = 0;  // times an agent held more than max concurrent, or a contact two agents
  int messages = 0;
  int dup_msgs = 0;      // extra copies of an acknowledged message in a transcript
  int lost_msgs = 0;     // acknowledged messages missing from the transcript
  int out_of_order = 0;  // acknowledged messages out of sequence in the transcript
  int offers = 0;
  int reclaimed = 0;         // offers that expired and went back to the queue
  double max_reclaim_s = 0;  // longest time from an offer's deadline to its reclaim
  int unreclaimed = 0;       // offers still open more than 5 s after their deadline at the end
  std::vector<std::string> problems;  // one line per finding, for the failure message
};

// (2) Replays offers, assignments and ends per agent in stream order: at no point may an
// agent hold more contacts (open offers + dialogs) than `max_concurrent`, nor a contact be
// held by two agents; the router's own agent_load on ContactAssigned must stay within it.
void CheckConcurrency(const std::vector<kefu::events::v1::Event>& events, int max_concurrent,
                      Verdict* verdict);

// (4) Every offer that expired was reclaimed (requeued and matched again, in the same script)
// within max_reclaim_s of its deadline; offers open at `end` past their deadline count too.
void CheckReclaim(const std::vector<kefu::events::v1::Event>& events, absl::Time end,
                  Verdict* verdict);

// (1) Every acknowledged contact reached the router (ContactQueued), was QUEUED, OFFERED,
// ACTIVE or ENDED whenever the router was asked about it, and ended with a DialogEnded event
// and a dialog record in crm (`crm_ended`: dialog ids whose crm record has an end type).
void CheckContacts(const std::vector<AckedContact>& acked,
                   const std::vector<kefu::events::v1::Event>& events,
                   const std::set<std::string>& crm_ended, Verdict* verdict);

// (3) Each acknowledged message is in its dialog's crm transcript exactly once, in the order
// of the sequence the gateway gave it.
void CheckTranscripts(
    const std::vector<AckedMessage>& acked,
    const std::map<std::string, std::vector<kefu::common::v1::Message>>& transcripts,
    Verdict* verdict);

}  // namespace kefu::chaos
