#pragma once

#include <grpcpp/grpcpp.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "kefu/crm/v1/customer.grpc.pb.h"
#include "kefu/crm/v1/record.grpc.pb.h"
#include "kefu/events/v1/events.pb.h"
#include "kefu/gateway/v1/gateway.pb.h"
#include "kefu/identity/v1/auth.grpc.pb.h"
#include "kefu/identity/v1/verification.grpc.pb.h"
#include "kefu/kb/v1/bot.grpc.pb.h"
#include "kefu/kb/v1/knowledge_admin.grpc.pb.h"
#include "kefu/presence/v1/presence.grpc.pb.h"
#include "kefu/router/v1/routing.grpc.pb.h"
#include "kefu/router/v1/routing_admin.grpc.pb.h"
#include "libs/auth/token.h"
#include "services/gateway/contact_store.h"
#include "services/gateway/hub.h"
#include "services/gateway/metrics.h"
#include "services/gateway/visitors.h"

namespace kefu::gateway {

struct GatewaySettings {
  // A dialog ends by itself after this long of customer silence following an agent
  // message (F31).
  absl::Duration silence_timeout = absl::Minutes(6);
  absl::Duration sweep_interval = absl::Seconds(1);
  // Updates queued for one slow stream before it is ended (the client resumes).
  int stream_queue_limit = 1000;
  // Messages in a snapshot (customer or agent).
  int snapshot_messages = 100;
  int max_message_chars = 5000;
  absl::Duration customer_token_ttl = absl::Hours(24);
  // How long ended contacts stay in Redis for Rate and late reads.
  absl::Duration ended_retention = absl::Hours(24);
  // Consumer group reading the other services' events (one per deployment; tests that
  // share a Redis use their own).
  std::string event_group = "gateway";
  // Largest file in a dialog (F35) unless the tenant sets a smaller or larger one.
  int max_file_bytes = 10 << 20;
  // How long a VOICE contact waits for VerifyCaller / AnswerChallenge before it is routed
  // unverified (F3).
  absl::Duration verification_timeout = absl::Seconds(60);
  // How long tenant settings (identity) are cached before they are read again.
  absl::Duration tenant_settings_ttl = absl::Seconds(30);
  // A website visitor counts as online this long after the last page view (F5, F34).
  absl::Duration visitor_idle = absl::Minutes(5);
};

// The other services the gateway calls, with this service's platform token.
class Peers final {
 public:
  Peers(const auth::TokenCodec* codec,
        const std::map<std::string, std::string, std::less<>>& addrs);

  std::unique_ptr<grpc::ClientContext> Context(absl::Duration deadline = absl::Seconds(5)) const;

  kefu::crm::v1::CustomerService::Stub& customers() { return *customers_; }
  kefu::crm::v1::RecordService::Stub& records() { return *records_; }
  kefu::router::v1::RoutingService::Stub& routing() { return *routing_; }
  kefu::router::v1::RoutingAdminService::Stub& routing_admin() { return *routing_admin_; }
  kefu::identity::v1::AuthService::Stub& identity() { return *identity_; }
  kefu::identity::v1::VerificationService::Stub& verification() { return *verification_; }
  kefu::presence::v1::PresenceService::Stub& presence() { return *presence_; }
  kefu::kb::v1::BotService::Stub& bots() { return *bots_; }
  kefu::kb::v1::KnowledgeAdminService::Stub& kb_admin() { return *kb_admin_; }

 private:
  const auth::TokenCodec* codec_;
  std::unique_ptr<kefu::crm::v1::CustomerService::Stub> customers_;
  std::unique_ptr<kefu::crm::v1::RecordService::Stub> records_;
  std::unique_ptr<kefu::router::v1::RoutingService::Stub> routing_;
  std::unique_ptr<kefu::router::v1::RoutingAdminService::Stub> routing_admin_;
  std::unique_ptr<kefu::identity::v1::AuthService::Stub> identity_;
  std::unique_ptr<kefu::identity::v1::VerificationService::Stub> verification_;
  std::unique_ptr<kefu::presence::v1::PresenceService::Stub> presence_;
  std::unique_ptr<kefu::kb::v1::BotService::Stub> bots_;
  std::unique_ptr<kefu::kb::v1::KnowledgeAdminService::Stub> kb_admin_;
};

// A contact's life at the gateway (ARCHITECTURE.md "A contact's life"): start, routing
// outcome, assignment, messages both ways, transfer, end, rating. Each step is one atomic
// commit of the contact (contact_store.h) with its events and live updates; the gRPC
// services in gateway_service.cc only authenticate, validate and translate.
class Gateway final {
 public:
  Gateway(ContactStore* store, Hub* hub, Peers* peers, const auth::TokenCodec* codec,
          GatewaySettings settings)
      : store_(store),
        hub_(hub),
        peers_(peers),
        codec_(codec),
        settings_(std::move(settings)),
        visitors_(&store->pool()) {}

  const GatewaySettings& settings() const { return settings_; }
  // Counts relayed messages from now on (the service sets it; tests may leave it unset).
  void set_metrics(GatewayMetrics* metrics) { metrics_ = metrics; }
  ContactStore& store() { return *store_; }
  Hub& hub() { return *hub_; }
  VisitorStore& visitors() { return visitors_; }
  Peers& peers() { return *peers_; }

  absl::StatusOr<v1::StartContactResponse> StartContact(const auth::Claims& caller,
                                                        const v1::StartContactRequest& request,
                                                        const std::string& peer_ip);

  // A text message into the contact's dialog from `sender` (customer or the serving
  // agent); a retry with the same idempotency key returns the first message.
  // With `file`, the message carries that stored file (F35) instead of `text`. `known` is the
  // contact as the caller has just read it: the first commit attempt goes against it
  // instead of reading it again (one Redis round trip less; a stale copy only conflicts).
  absl::StatusOr<kefu::common::v1::Message> PostMessage(
      const std::string& tenant, const std::string& contact_id,
      const kefu::common::v1::Participant& sender, const std::string& text,
      const std::string& idempotency_key, const kefu::common::v1::FileAttachment* file = nullptr,
      const Contact* known = nullptr);

  // The tenant's settings (F38) from identity, cached for settings().tenant_settings_ttl;
  // on an identity outage the last known settings, else the defaults.
  kefu::identity::v1::TenantSettings TenantSettingsOf(const std::string& tenant);
  // The entry point (F16) from the router, cached like tenant settings; NOT_FOUND when the
  // tenant has no such entry point.
  absl::StatusOr<kefu::router::v1::EntryPoint> EntryPointOf(const std::string& tenant,
                                                            const std::string& entry_point_id);
  // Whether a human agent who could take a contact of the entry point is ONLINE now
  // (presence): a designated agent, an agent of a designated department, or, when the entry
  // point designates nobody (or there is none), any agent of the tenant (F16, F41).
  bool HumansOnline(const std::string& tenant, const std::string& entry_point_id);
  // The entry point's bot when it serves bot-first now (kb decides: online or auto-online,
  // and not hidden while humans are online, F41); nullopt when none, or kb is unreachable.
  std::optional<kefu::kb::v1::Bot> ServingBot(const std::string& tenant,
                                              const std::string& entry_point_id);
  // Routes the contact (F1): Enqueue at the router with what the contact carries, and the
  // contact's state follows unless an offer is already ahead.
  absl::StatusOr<kefu::router::v1::EnqueueResponse> Route(const Contact& c,
                                                          const std::string& department_id,
                                                          const std::string& agent_id);
  // A customer message to the serving bot: its answer, choices or the handover (F42).
  absl::Status BotTurn(const std::string& tenant, const std::string& contact_id,
                       const std::string& question);
  // Leaves the bot for a human: the screen pop gets the bot conversation and the contact is
  // routed (F42). FAILED_PRECONDITION when no bot serves the contact.
  absl::StatusOr<kefu::router::v1::EnqueueResponse> Escalate(const std::string& tenant,
                                                             const std::string& contact_id,
                                                             const std::string& department_id);

  // A VOICE contact waits for its caller's verification (F3) before routing. Records the
  // outcome in the screen pop (F4) and routes: a VIP only counts as VIP when verified.
  absl::StatusOr<kefu::router::v1::EnqueueResponse> FinishVerification(
      const std::string& tenant, const std::string& contact_id,
      const kefu::common::v1::VerificationResult& result);
  // Remembers the challenge the caller must answer.
  absl::Status SetChallenge(const std::string& tenant, const std::string& contact_id,
                            const std::string& challenge_id,
                            const kefu::common::v1::VerificationResult& so_far);
  // Routes, unverified, the VOICE contacts whose caller was not verified in time.
  void SweepVerification(const std::string& tenant);

  // The customer silence that ends a dialog for the tenant (F31).
  absl::Duration SilenceTimeout(const std::string& tenant);
  // The file size limit for the tenant (F35).
  int64_t MaxFileBytes(const std::string& tenant);

  absl::Status CustomerTyping(const std::string& tenant, const std::string& contact_id,
                              const std::string& draft);
  absl::Status AgentTyping(const std::string& tenant, const std::string& agent_id,
                           const std::string& contact_id, bool typing);

  // The agent takes the contact (accept, pickup, transfer accepted). Idempotent.
  // `from_event`: the router's ContactAssigned, which may arrive after the Accept or PickUp
  // call already made that assignment and a transfer undid it; then it changes nothing.
  absl::StatusOr<Contact> Assign(const std::string& tenant, const std::string& contact_id,
                                 const std::string& agent_id, const std::string& queue_id,
                                 const std::string& department_id, bool from_event = false);

  // Ends the contact once; later calls return the contact as it ended.
  absl::StatusOr<Contact> End(const std::string& tenant, const std::string& contact_id,
                              kefu::common::v1::DialogEndType end_type,
                              const kefu::common::v1::DialogSummary* summary,
                              const std::string& actor_agent_id);

  // The serving agent leaves (transfer); the contact waits for the router's next offer and
  // the customer gets `notice`.
  absl::Status TransferAway(const std::string& tenant, const std::string& contact_id,
                            const std::string& from_agent_id, const std::string& transfer_id,
                            kefu::common::v1::ContactState next_state,
                            const v1::TransferNotice& notice);

  // Counts a transfer before the router moves the contact, so the next agent's offer
  // already knows it is a transfer (carries the transcript and the sender's `note`); -1
  // undoes it on failure.
  absl::Status CountTransfer(const std::string& tenant, const std::string& contact_id, int delta,
                             const std::string& note = "");

  absl::Status Rate(const std::string& tenant, const std::string& contact_id, int score,
                    const std::string& comment, const std::string& idempotency_key);

  // Publishes an ephemeral update (no version change) on a channel.
  absl::Status Publish(const std::string& channel, const std::string& payload);

  // The dialog as the agent desktop shows it.
  absl::StatusOr<v1::ActiveDialog> ActiveDialogOf(const Contact& contact);
  absl::StatusOr<v1::ContactSnapshot> SnapshotOf(const Contact& contact);

  // Nickname and avatar from the router's agent profile (cached a minute).
  kefu::common::v1::AgentSummary AgentSummaryOf(const std::string& tenant,
                                                const std::string& agent_id);

  // Reacts to a domain event of another service (offers, assignment, status, rating).
  void OnEvent(const kefu::events::v1::Event& event);

  // Ends dialogs whose customer stayed silent too long after an agent message (F31).
  void SweepSilence(const std::string& tenant);
  // Tells the router again about ended contacts it has not confirmed (Release or Cancel
  // failed: router away, or the replica that ended them died first).
  void SweepRouterEnds(const std::string& tenant);

  kefu::events::v1::Event NewEvent(const std::string& tenant) const;

 private:
  // Reads the contact (or starts from `known`), makes the change and commits it against the
  // version read; on a conflict, reads again and retries.
  absl::StatusOr<CommitResult> CommitWithRetry(
      const std::string& tenant, const std::string& contact_id,
      const std::function<absl::StatusOr<std::optional<Change>>(const Contact&)>& make,
      const Contact* known = nullptr);
  bool TellRouterEnded(const std::string& tenant, const std::string& contact_id,
                       const std::string& agent_id, kefu::common::v1::DialogEndType end_type);
  void OnOffer(const std::string& tenant, const kefu::events::v1::OfferCreated& offer);
  void OnOfferGone(const std::string& tenant, const std::string& contact_id,
                   const std::string& agent_id, const std::string& offer_id,
                   v1::OfferWithdrawnReason reason);

  ContactStore* store_;
  Hub* hub_;
  Peers* peers_;
  const auth::TokenCodec* codec_;
  const GatewaySettings settings_;
  VisitorStore visitors_;
  GatewayMetrics* metrics_ = nullptr;

  struct CachedAgent {
    kefu::common::v1::AgentSummary summary;
    absl::Time fetched;
  };
  std::mutex agents_mu_;
  std::map<std::string, CachedAgent> agents_;  // guarded by agents_mu_; "tenant/agent"
  struct CachedSettings {
    absl::Time fetched;
    kefu::identity::v1::TenantSettings settings;
  };
  // The contact starts with the bot: state BOT and the bot's greeting (F41).
  absl::Status HandToBot(const Contact& c, const kefu::kb::v1::Bot& bot);

  struct CachedEntryPoint {
    absl::Time fetched;
    absl::StatusOr<kefu::router::v1::EntryPoint> entry_point;
  };
  std::map<std::string, CachedEntryPoint> entry_points_;  // guarded by settings_mu_
  std::mutex settings_mu_;
  std::map<std::string, CachedSettings> tenant_settings_;  // guarded by settings_mu_
};

// A peer service's answer as a status whose message names the peer ("router: ...").
absl::Status FromGrpc(const grpc::Status& status, absl::string_view peer);

// Serialized updates for each kind of channel.
std::string CustomerUpdate(int64_t sequence, v1::CustomerGatewayServiceUpdatesResponse update);
std::string AgentUpdate(v1::AgentGatewayServiceUpdatesResponse update);

}  // namespace kefu::gateway
