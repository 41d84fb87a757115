#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/events/events.h"
#include "libs/redis/client.h"
#include "libs/redis/script.h"
#include "services/router/metrics.h"

// The live side of routing: queues, offers and agents' slots in Redis, every decision
// one call of lua/route.lua (atomic, so any number of replicas may run).
namespace kefu::router {

struct EnqueueResult {
  int state = 0;  // kefu.common.v1.ContactState
  std::string agent_id;
  std::string offer_id;
  std::string queue_id;
  int position = -1;  // 0-based place in the queue while QUEUED
  // Ring-all (F12): every open offer, agent -> offer id (agent_id/offer_id stay empty).
  std::vector<std::pair<std::string, std::string>> ring_offers;
  // False when the contact waits and no agent who may take it is ONLINE (F33).
  bool staffed = true;
};

// Who may take a contact (F15, F16): designated agents and the agents of eligible
// departments, whatever queue they serve. Both empty = any agent of the contact's queue.
struct Eligibility {
  std::vector<std::string> agent_ids;
  std::vector<std::string> department_ids;
  bool empty() const { return agent_ids.empty() && department_ids.empty(); }
};

struct AcceptResult {
  std::string contact_id, dialog_id, customer_id, queue_id, department_id;
  absl::Duration waited;
  int agent_load = 0;
};

struct PickUpResult {
  std::string contact_id, dialog_id, customer_id;
  absl::Duration waited;
  int agent_load = 0;
};

struct QueueSnapshot {
  int length = 0;
  absl::Duration longest_wait;
  int offered = 0;
  int available_agents = 0;
};

struct ContactSnapshot {
  int state = 0;
  std::string queue_id, agent_id, offer_id;
  int position = -1;
  absl::Time enqueued;
  absl::Time offer_deadline;
  std::vector<std::pair<std::string, std::string>> ring_offers;  // agent -> offer id
};

// How router and presence share an agent in Redis (documented in lua/route.lua).
struct QueueConfig {
  int strategy = 1;  // kefu.router.v1.RoutingStrategy
  absl::Duration offer_timeout = absl::Seconds(15);
  absl::Duration reject_delay = absl::Seconds(10);
  absl::Duration no_answer_delay = absl::Seconds(30);
  absl::Duration exclusive_wait = absl::Seconds(60);  // F14: before falling back
};

class RedisRouter final {
 public:
  explicit RedisRouter(redis::Pool* pool, RouterMetrics* metrics = nullptr);

  absl::StatusOr<EnqueueResult> Enqueue(const std::string& tenant, const std::string& contact_id,
                                        const std::string& department_id, int tier,
                                        const std::string& dialog_id,
                                        const std::string& customer_id,
                                        const std::string& exclusive_agent_id = "",
                                        const Eligibility& eligibility = {}, int channel = 0);
  // F14: binds (or with agent "" unbinds) the customer's exclusive agent; returns the
  // previous one.
  absl::StatusOr<std::string> BindExclusive(const std::string& tenant,
                                            const std::string& customer_id,
                                            const std::string& agent_id,
                                            const std::string& contact_id);
  struct Suggestion {
    std::string agent_id;
    double capability = 0;
    int load = 0;
  };
  // F14: available agents of a queue by capability, without the declined ones.
  absl::StatusOr<std::vector<Suggestion>> Suggest(const std::string& tenant,
                                                  const std::string& queue_id,
                                                  const std::vector<std::string>& declined);
  absl::StatusOr<AcceptResult> Accept(const std::string& tenant, const std::string& offer_id,
                                      const std::string& agent_id);
  // The time until which the agent gets no new offers.
  absl::StatusOr<absl::Time> Reject(const std::string& tenant, const std::string& offer_id,
                                    const std::string& agent_id, const std::string& reason);
  absl::Status Release(const std::string& tenant, const std::string& contact_id,
                       const std::string& agent_id);
  // Whether it was still waiting or offered, and how long it had waited.
  absl::StatusOr<std::pair<bool, absl::Duration>> Cancel(const std::string& tenant,
                                                         const std::string& contact_id,
                                                         int abandon_reason);
  // F18: the contact leaves `from_agent` for an agent (offered at once) or a department
  // (queued at its old place). Returns the contact's routing state afterwards.
  absl::StatusOr<EnqueueResult> Transfer(const std::string& tenant, const std::string& contact_id,
                                         const std::string& from_agent, bool to_department,
                                         const std::string& target, const std::string& note,
                                         const std::string& transfer_id);
  // An agent's live status, load and max, and its last 3 transfer targets ("agent:<id>" or
  // "department:<id>", newest first).
  struct AgentLive {
    int status = 0;
    int load = 0;
    int max = 0;
  };
  absl::StatusOr<AgentLive> Agent(const std::string& tenant, const std::string& agent_id);
  absl::StatusOr<std::vector<std::string>> RecentTargets(const std::string& tenant,
                                                         const std::string& agent_id);
  absl::StatusOr<PickUpResult> PickUp(const std::string& tenant, const std::string& agent_id,
                                      const std::string& queue_id, const std::string& contact_id);
  // Expired offers and ended delays of one tenant; returns how many were handled.
  absl::StatusOr<int> Sweep(const std::string& tenant, int limit);
  // Something about the agent changed (status, profile): offer it what waits.
  absl::Status AgentChanged(const std::string& tenant, const std::string& agent_id);
  // Offers waiting contacts to every logged-in agent of the tenant (after a wake-up
  // may have been missed: a router replica starting, a tenant seen for the first time).
  absl::Status MatchAll(const std::string& tenant);

  absl::StatusOr<QueueSnapshot> Queue(const std::string& tenant, const std::string& queue_id);
  struct Waiting {
    std::string contact_id, dialog_id, customer_id;
    int tier = 0;
    absl::Time enqueued;
  };
  // Contacts waiting in a queue, in queue order, from position `offset` (F17).
  absl::StatusOr<std::vector<Waiting>> ListWaiting(const std::string& tenant,
                                                   const std::string& queue_id, int offset,
                                                   int limit);
  absl::StatusOr<ContactSnapshot> Contact(const std::string& tenant, const std::string& contact_id);

  // Routing configuration cached for the script (written by the admin side).
  absl::Status PutQueue(const std::string& tenant, const std::string& queue_id,
                        const QueueConfig& config, bool is_default);
  absl::Status PutDepartment(const std::string& tenant, const std::string& department_id,
                             const std::string& queue_id);
  absl::Status DeleteQueue(const std::string& tenant, const std::string& queue_id);
  absl::Status DeleteDepartment(const std::string& tenant, const std::string& department_id);
  // The agent is no longer routed to (its profile was deleted).
  absl::Status DeleteAgent(const std::string& tenant, const std::string& agent_id);
  // Offers by outcome ("created", "accepted", ...) since any replica last took them; each
  // offer is taken by exactly one caller (kefu_router_offers_total).
  absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> TakeOfferCounts(
      const std::string& tenant);
  // The queues configured for the tenant (for metrics).
  absl::StatusOr<std::vector<std::string>> Queues(const std::string& tenant);
  // A counter bumped by every change of entry points and region strategies: replicas
  // reload their cached copy when it moves.
  absl::StatusOr<int64_t> ConfigVersion(const std::string& tenant);
  absl::Status BumpConfigVersion(const std::string& tenant);
  absl::Status PutTierMap(const std::string& tenant,
                          const std::vector<std::pair<int, std::string>>& tiers);
  // The agent's routing fields and the queues it serves (replacing its old ones).
  absl::Status PutAgent(const std::string& tenant, const std::string& agent_id, int max_concurrent,
                        const std::vector<int>& tiers, double capability,
                        const std::vector<std::string>& queue_ids,
                        const std::vector<std::string>& department_ids);

 private:
  absl::StatusOr<redis::Reply> Run(const std::string& tenant, std::vector<std::string> args);
  redis::Pool* pool_;
  RouterMetrics* metrics_;
  redis::Script script_;
  events::TenantRegistry tenants_;
};

}  // namespace kefu::router
