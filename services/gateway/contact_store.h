#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "kefu/common/v1/common.pb.h"
#include "kefu/events/v1/events.pb.h"
#include "libs/redis/client.h"
#include "libs/redis/script.h"

// The gateway's live state of each contact, in Redis (docs/ARCHITECTURE.md "gateway"):
//   P gw:c:<contact>       hash   the contact (Contact below; field names in contact_store.cc)
//   P gw:msgs:<contact>    list   the dialog's last 500 messages (serialized Message)
//   P gw:dialog:<dialog>   string the dialog's contact
//   P gw:agent:<a>:dialogs set    contacts the agent is serving
//   P gw:agent:<a>:offers  hash   offer id -> serialized Offer open on the agent's screen
//   P gw:silence           zset   contacts by the end of the customer-silence window (ms)
//   P gw:router-ends       zset   ended contacts the router has not confirmed, by end (ms)
//   P gw:agents            hash   agent -> open Updates streams (broadcast delivery count)
//   P gw:idem:<key>        string idempotency records (24 h)
// and the pub/sub channels every replica subscribes to for its sessions:
//   P gw:ch:c:<contact>  customer updates   P gw:ch:a:<agent>  agent updates
//   P gw:ch:m:<contact>  monitor updates    P gw:ch:all        broadcasts to every agent
// where P = kefu:{t:<tenant>}: keeps a tenant's keys in one hash slot.
namespace kefu::gateway {

namespace keys {
std::string Contact(const std::string& tenant, const std::string& contact);
std::string Messages(const std::string& tenant, const std::string& contact);
std::string Dialog(const std::string& tenant, const std::string& dialog);
std::string AgentDialogs(const std::string& tenant, const std::string& agent);
std::string AgentOffers(const std::string& tenant, const std::string& agent);
std::string Silence(const std::string& tenant);
std::string AgentStreams(const std::string& tenant);
std::string CustomerChannel(const std::string& tenant, const std::string& contact);
std::string AgentChannel(const std::string& tenant, const std::string& agent);
std::string MonitorChannel(const std::string& tenant, const std::string& contact);
std::string BroadcastChannel(const std::string& tenant);
// VOICE contacts waiting for verification, by deadline (ms).
std::string Verifying(const std::string& tenant);
// Contacts an agent is serving now (the active-dialogs gauge, F68).
std::string ActiveDialogs(const std::string& tenant);
// Ended contacts the router has not yet confirmed (Release / Cancel), by end time (ms).
std::string RouterEnds(const std::string& tenant);
}  // namespace keys

// One contact as the gateway tracks it from StartContact to the end.
struct Contact {
  std::string tenant_id;
  std::string contact_id;
  int64_t version = 0;
  std::string dialog_id;
  std::string customer_id;
  std::string customer_name;
  std::string agent_id;  // serving agent, empty while none
  std::string entry_point_id;
  std::string department_id;
  std::string queue_id;
  std::string visitor_id;
  std::string ip;      // the customer's address (region routing, F15)
  std::string bot_id;  // the bot serving the contact while its state is BOT (F41, F42)
  std::string bot_name;
  std::string challenge_id;  // the fixed-information challenge the caller must answer (F3)
  kefu::common::v1::ContactState state = kefu::common::v1::CONTACT_STATE_UNSPECIFIED;
  kefu::common::v1::CustomerTier tier = kefu::common::v1::CUSTOMER_TIER_UNSPECIFIED;
  kefu::common::v1::Channel channel = kefu::common::v1::CHANNEL_UNSPECIFIED;
  kefu::common::v1::DialogInitiation initiation = kefu::common::v1::DIALOG_INITIATION_CUSTOMER;
  kefu::common::v1::DialogEndType end_type = kefu::common::v1::DIALOG_END_TYPE_UNSPECIFIED;
  int64_t start_ms = 0;
  int64_t first_assigned_ms = 0;
  int64_t assigned_ms = 0;  // current agent's segment start
  int64_t end_ms = 0;
  int32_t customer_messages = 0;
  int32_t agent_messages = 0;    // in the whole dialog
  int32_t segment_messages = 0;  // by the current agent
  int32_t bot_messages = 0;
  int32_t transfers = 0;
  std::string transfer_note;  // the transferring agent's note for the next one (F18)
  bool rated = false;
  bool customer_online = false;
  std::string screen_pop;  // serialized kefu.gateway.v1.ScreenPop
  std::string segments;    // serialized kefu.events.v1.DialogEnded holding closed segments

  bool ended() const { return state == kefu::common::v1::CONTACT_STATE_ENDED; }
};

// Field names of the contact hash, for Change::fields.
namespace field {
inline constexpr char kState[] = "state";
inline constexpr char kAgent[] = "agent";
inline constexpr char kDepartment[] = "dept";
inline constexpr char kQueue[] = "queue";
inline constexpr char kFirstAssigned[] = "first_assigned_ms";
inline constexpr char kAssigned[] = "assigned_ms";
inline constexpr char kEnd[] = "end_ms";
inline constexpr char kEndType[] = "end_type";
inline constexpr char kCustomerMessages[] = "cust_n";
inline constexpr char kAgentMessages[] = "agent_n";
inline constexpr char kSegmentMessages[] = "seg_n";
inline constexpr char kBotMessages[] = "bot_n";
inline constexpr char kTransfers[] = "transfers";
inline constexpr char kTransferNote[] = "transfer_note";
inline constexpr char kRated[] = "rated";
inline constexpr char kCustomerOnline[] = "online";
inline constexpr char kSegments[] = "segments";
inline constexpr char kInitiation[] = "initiation";
inline constexpr char kTier[] = "tier";
inline constexpr char kCustomer[] = "customer";
inline constexpr char kCustomerName[] = "customer_name";
inline constexpr char kScreenPop[] = "pop";
inline constexpr char kBot[] = "bot";
inline constexpr char kBotName[] = "bot_name";
inline constexpr char kChallenge[] = "challenge";
// Value that deletes a field.
inline std::string Deleted() { return std::string(1, '\0'); }
}  // namespace field

// Everything one step changes, committed atomically by commit.lua.
struct Change {
  std::optional<int64_t> expect_version;  // unset: create or overwrite without a check
  std::string idempotency_key;            // empty: none
  std::string idempotency_value;          // what a retry with the same key gets back
  std::vector<kefu::events::v1::Event> events;
  std::vector<std::pair<std::string, std::string>> fields;
  std::vector<kefu::common::v1::Message> messages;
  std::vector<std::pair<std::string, std::string>> publish;  // channel, payload
  std::vector<std::vector<std::string>> commands;            // extra same-tenant writes
};

struct CommitResult {
  enum class Outcome { kOk, kDuplicate, kConflict, kGone };
  Outcome outcome = Outcome::kOk;
  int64_t version = 0;  // new version (kOk) or current one (kConflict)
  std::string stored;   // idempotency value stored by the first call (kDuplicate)
};

class ContactStore final {
 public:
  explicit ContactStore(redis::Pool* pool);

  // NOT_FOUND when the contact does not exist (or has expired after its end).
  absl::StatusOr<Contact> Get(const std::string& tenant, const std::string& contact_id);
  // The dialog's last `limit` messages, oldest first.
  absl::StatusOr<std::vector<kefu::common::v1::Message>> Messages(const std::string& tenant,
                                                                  const std::string& contact_id,
                                                                  int limit);
  // NOT_FOUND naming the dialog when the gateway does not know it.
  absl::StatusOr<std::string> ContactOfDialog(const std::string& tenant,
                                              const std::string& dialog_id);
  absl::StatusOr<CommitResult> Commit(const std::string& tenant, const std::string& contact_id,
                                      const Change& change);

  redis::Pool& pool() { return *pool_; }

 private:
  redis::Pool* pool_;
  redis::Script commit_;
};

// The hash fields a new contact starts with.
std::vector<std::pair<std::string, std::string>> InitialFields(const Contact& contact);

}  // namespace kefu::gateway
