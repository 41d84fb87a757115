#include "services/router/redis_router.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "libs/auth/token.h"
#include "libs/common/embedded.h"
#include "libs/events/events.h"

namespace kefu::embedded {
const std::vector<EmbeddedFile>& RouterScripts();
}  // namespace kefu::embedded

namespace kefu::router {
namespace {

std::string Str(const redisReply* r) { return redis::ReplyText(r); }
int64_t Int(const redisReply* r) { return redis::ReplyInt(r); }

const redisReply* At(const redis::Reply& reply, size_t i) {
  return (reply->type == REDIS_REPLY_ARRAY && i < reply->elements) ? reply->element[i] : nullptr;
}

std::string Key(const std::string& tenant, absl::string_view suffix) {
  return events::TenantKey(tenant, suffix);
}

}  // namespace

RedisRouter::RedisRouter(redis::Pool* pool, RouterMetrics* metrics)
    : pool_(pool),
      metrics_(metrics),
      script_("route", redis::Script::Concat(embedded::RouterScripts())) {}

absl::StatusOr<redis::Reply> RedisRouter::Run(const std::string& tenant,
                                              std::vector<std::string> args) {
  if (auto st = events::ValidateTenantId(tenant); !st.ok()) return st;
  if (auto st = tenants_.Ensure(*pool_, tenant); !st.ok()) return st;
  const std::string stream = events::StreamKey(tenant);
  std::vector<std::string> argv = {std::move(args[0]), tenant, auth::RandomId()};
  for (size_t i = 1; i < args.size(); ++i) argv.push_back(std::move(args[i]));
  std::vector<absl::string_view> views(argv.begin(), argv.end());
  if (metrics_ == nullptr) return script_.Run(*pool_, {stream}, views);
  const absl::Time start = absl::Now();
  auto reply = script_.Run(*pool_, {stream}, views);
  metrics_->ObserveDecision(argv[0], absl::ToDoubleSeconds(absl::Now() - start));
  return reply;
}

namespace {

std::vector<std::pair<std::string, std::string>> Pairs(const redisReply* r) {
  std::vector<std::pair<std::string, std::string>> out;
  if (r == nullptr || r->type != REDIS_REPLY_ARRAY) return out;
  for (size_t i = 0; i + 1 < r->elements; i += 2) {
    out.emplace_back(Str(r->element[i]), Str(r->element[i + 1]));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

absl::StatusOr<EnqueueResult> RedisRouter::Enqueue(
    const std::string& tenant, const std::string& contact_id, const std::string& department_id,
    int tier, const std::string& dialog_id, const std::string& customer_id,
    const std::string& exclusive_agent_id, const Eligibility& eligibility, int channel) {
  auto reply =
      Run(tenant, {"enqueue", contact_id, department_id, std::to_string(tier), dialog_id,
                   customer_id, exclusive_agent_id, absl::StrJoin(eligibility.agent_ids, ","),
                   absl::StrJoin(eligibility.department_ids, ","), std::to_string(channel)});
  if (!reply.ok()) return reply.status();
  EnqueueResult out;
  out.state = static_cast<int>(Int(At(*reply, 0)));
  out.agent_id = Str(At(*reply, 1));
  out.offer_id = Str(At(*reply, 2));
  out.queue_id = Str(At(*reply, 3));
  out.position = static_cast<int>(Int(At(*reply, 4)));
  out.ring_offers = Pairs(At(*reply, 5));
  out.staffed = At(*reply, 6) == nullptr || Int(At(*reply, 6)) != 0;  // a retry omits it
  return out;
}

absl::StatusOr<std::string> RedisRouter::BindExclusive(const std::string& tenant,
                                                       const std::string& customer_id,
                                                       const std::string& agent_id,
                                                       const std::string& contact_id) {
  auto reply = Run(tenant, {"bind", customer_id, agent_id, contact_id});
  if (!reply.ok()) return reply.status();
  return Str(reply->get());
}

absl::StatusOr<std::vector<RedisRouter::Suggestion>> RedisRouter::Suggest(
    const std::string& tenant, const std::string& queue_id,
    const std::vector<std::string>& declined) {
  std::vector<std::string> args = {"suggest", queue_id};
  args.insert(args.end(), declined.begin(), declined.end());
  auto reply = Run(tenant, std::move(args));
  if (!reply.ok()) return reply.status();
  std::vector<Suggestion> out;
  for (size_t i = 0; i + 2 < (*reply)->elements; i += 3) {
    Suggestion s;
    s.agent_id = Str((*reply)->element[i]);
    (void)absl::SimpleAtod(Str((*reply)->element[i + 1]), &s.capability);
    s.load = static_cast<int>(Int((*reply)->element[i + 2]));
    out.push_back(std::move(s));
  }
  return out;
}

absl::StatusOr<AcceptResult> RedisRouter::Accept(const std::string& tenant,
                                                 const std::string& offer_id,
                                                 const std::string& agent_id) {
  auto reply = Run(tenant, {"accept", offer_id, agent_id});
  if (!reply.ok()) return reply.status();
  AcceptResult out;
  out.contact_id = Str(At(*reply, 0));
  out.dialog_id = Str(At(*reply, 1));
  out.customer_id = Str(At(*reply, 2));
  out.queue_id = Str(At(*reply, 3));
  out.department_id = Str(At(*reply, 4));
  out.waited = absl::Milliseconds(Int(At(*reply, 5)));
  out.agent_load = static_cast<int>(Int(At(*reply, 6)));
  return out;
}

absl::StatusOr<absl::Time> RedisRouter::Reject(const std::string& tenant,
                                               const std::string& offer_id,
                                               const std::string& agent_id,
                                               const std::string& reason) {
  auto reply = Run(tenant, {"reject", offer_id, agent_id, reason});
  if (!reply.ok()) return reply.status();
  return absl::FromUnixMillis((*reply)->integer);
}

absl::Status RedisRouter::Release(const std::string& tenant, const std::string& contact_id,
                                  const std::string& agent_id) {
  return Run(tenant, {"release", contact_id, agent_id}).status();
}

absl::StatusOr<std::pair<bool, absl::Duration>> RedisRouter::Cancel(const std::string& tenant,
                                                                    const std::string& contact_id,
                                                                    int abandon_reason) {
  auto reply = Run(tenant, {"cancel", contact_id, std::to_string(abandon_reason)});
  if (!reply.ok()) return reply.status();
  return std::make_pair(Int(At(*reply, 0)) == 1, absl::Milliseconds(Int(At(*reply, 1))));
}

absl::StatusOr<EnqueueResult> RedisRouter::Transfer(const std::string& tenant,
                                                    const std::string& contact_id,
                                                    const std::string& from_agent,
                                                    bool to_department, const std::string& target,
                                                    const std::string& note,
                                                    const std::string& transfer_id) {
  auto reply = Run(tenant, {"transfer", contact_id, from_agent,
                            to_department ? "department" : "agent", target, note, transfer_id});
  if (!reply.ok()) return reply.status();
  EnqueueResult out;
  out.state = static_cast<int>(Int(At(*reply, 0)));
  out.agent_id = Str(At(*reply, 1));
  out.offer_id = Str(At(*reply, 2));
  out.queue_id = Str(At(*reply, 3));
  return out;
}

absl::StatusOr<RedisRouter::AgentLive> RedisRouter::Agent(const std::string& tenant,
                                                          const std::string& agent_id) {
  auto reply = pool_->Command({"HMGET", Key(tenant, "agent:" + agent_id), "status", "load", "max"});
  if (!reply.ok()) return reply.status();
  AgentLive out;
  out.status = static_cast<int>(Int(At(*reply, 0)));
  out.load = static_cast<int>(Int(At(*reply, 1)));
  out.max = static_cast<int>(Int(At(*reply, 2)));
  return out;
}

absl::StatusOr<std::vector<std::string>> RedisRouter::RecentTargets(const std::string& tenant,
                                                                    const std::string& agent_id) {
  auto reply = pool_->Command({"LRANGE", Key(tenant, "recent:" + agent_id), "0", "2"});
  if (!reply.ok()) return reply.status();
  std::vector<std::string> out;
  for (size_t i = 0; i < (*reply)->elements; ++i) out.push_back(Str((*reply)->element[i]));
  return out;
}

absl::StatusOr<PickUpResult> RedisRouter::PickUp(const std::string& tenant,
                                                 const std::string& agent_id,
                                                 const std::string& queue_id,
                                                 const std::string& contact_id) {
  auto reply = Run(tenant, {"pickup", agent_id, queue_id, contact_id});
  if (!reply.ok()) return reply.status();
  PickUpResult out;
  out.contact_id = Str(At(*reply, 0));
  out.dialog_id = Str(At(*reply, 1));
  out.customer_id = Str(At(*reply, 2));
  out.waited = absl::Milliseconds(Int(At(*reply, 3)));
  out.agent_load = static_cast<int>(Int(At(*reply, 4)));
  return out;
}

absl::StatusOr<int> RedisRouter::Sweep(const std::string& tenant, int limit) {
  auto reply = Run(tenant, {"sweep", std::to_string(limit)});
  if (!reply.ok()) return reply.status();
  return static_cast<int>((*reply)->integer);
}

absl::Status RedisRouter::AgentChanged(const std::string& tenant, const std::string& agent_id) {
  return Run(tenant, {"agent", agent_id}).status();
}

absl::Status RedisRouter::MatchAll(const std::string& tenant) {
  auto agents = pool_->Command({"SMEMBERS", Key(tenant, "presence:agents")});
  if (!agents.ok()) return agents.status();
  for (size_t i = 0; i < (*agents)->elements; ++i) {
    if (auto st = AgentChanged(tenant, Str((*agents)->element[i])); !st.ok()) return st;
  }
  return absl::OkStatus();
}

absl::StatusOr<QueueSnapshot> RedisRouter::Queue(const std::string& tenant,
                                                 const std::string& queue_id) {
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  QueueSnapshot out;
  auto length = (*lease)->Command({"ZCARD", Key(tenant, "queue:" + queue_id)});
  if (!length.ok()) return length.status();
  out.length = static_cast<int>((*length)->integer);
  auto head = (*lease)->Command({"ZRANGE", Key(tenant, "queue:" + queue_id), "0", "0"});
  if (!head.ok()) return head.status();
  if ((*head)->elements > 0) {
    const std::string cid = Str((*head)->element[0]);
    auto enq = (*lease)->Command({"HGET", Key(tenant, "contact:" + cid), "enq"});
    if (enq.ok()) {
      out.longest_wait = absl::Now() - absl::FromUnixMillis(Int(enq->get()));
    }
  }
  auto agents = (*lease)->Command({"SMEMBERS", Key(tenant, "qagents:" + queue_id)});
  if (!agents.ok()) return agents.status();
  for (size_t i = 0; i < (*agents)->elements; ++i) {
    auto a = (*lease)->Command(
        {"HMGET", Key(tenant, "agent:" + Str((*agents)->element[i])), "status", "load", "max"});
    if (!a.ok()) return a.status();
    if (Int(At(*a, 0)) == 1 && Int(At(*a, 1)) < Int(At(*a, 2))) ++out.available_agents;
  }
  return out;
}

absl::StatusOr<std::vector<RedisRouter::Waiting>> RedisRouter::ListWaiting(
    const std::string& tenant, const std::string& queue_id, int offset, int limit) {
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  auto ids = (*lease)->Command({"ZRANGE", Key(tenant, "queue:" + queue_id), std::to_string(offset),
                                std::to_string(offset + limit - 1)});
  if (!ids.ok()) return ids.status();
  std::vector<Waiting> out;
  for (size_t i = 0; i < (*ids)->elements; ++i) {
    Waiting w;
    w.contact_id = Str((*ids)->element[i]);
    auto f = (*lease)->Command(
        {"HMGET", Key(tenant, "contact:" + w.contact_id), "dialog", "customer", "tier", "enq"});
    if (!f.ok()) return f.status();
    w.dialog_id = Str(At(*f, 0));
    w.customer_id = Str(At(*f, 1));
    w.tier = static_cast<int>(Int(At(*f, 2)));
    w.enqueued = absl::FromUnixMillis(Int(At(*f, 3)));
    out.push_back(std::move(w));
  }
  return out;
}

absl::StatusOr<ContactSnapshot> RedisRouter::Contact(const std::string& tenant,
                                                     const std::string& contact_id) {
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  auto f = (*lease)->Command({"HMGET", Key(tenant, "contact:" + contact_id), "state", "queue",
                              "agent", "offer_id", "enq", "deadline", "ring"});
  if (!f.ok()) return f.status();
  if (At(*f, 0) == nullptr || redis::ReplyIsNil(*At(*f, 0))) {
    return absl::NotFoundError(absl::StrCat("contact ", contact_id, " is not routed"));
  }
  ContactSnapshot out;
  out.state = static_cast<int>(Int(At(*f, 0)));
  out.queue_id = Str(At(*f, 1));
  out.agent_id = Str(At(*f, 2));
  out.offer_id = Str(At(*f, 3));
  out.enqueued = absl::FromUnixMillis(Int(At(*f, 4)));
  out.offer_deadline = absl::FromUnixMillis(Int(At(*f, 5)));
  if (out.state == 4 && Str(At(*f, 6)) == "1") {  // ring-all: every open offer
    auto ring = (*lease)->Command({"HGETALL", Key(tenant, "ring:" + contact_id)});
    if (!ring.ok()) return ring.status();
    out.ring_offers = Pairs(ring->get());
  }
  if (out.state == 3) {
    auto rank = (*lease)->Command({"ZRANK", Key(tenant, "queue:" + out.queue_id), contact_id});
    if (rank.ok() && (*rank)->type == REDIS_REPLY_INTEGER) out.position = (*rank)->integer;
  }
  return out;
}

absl::Status RedisRouter::PutQueue(const std::string& tenant, const std::string& queue_id,
                                   const QueueConfig& config, bool is_default) {
  const std::string strategy = std::to_string(config.strategy);
  const std::string offer = std::to_string(absl::ToInt64Milliseconds(config.offer_timeout));
  const std::string reject = std::to_string(absl::ToInt64Milliseconds(config.reject_delay));
  const std::string no_answer = std::to_string(absl::ToInt64Milliseconds(config.no_answer_delay));
  const std::string exclusive = std::to_string(absl::ToInt64Milliseconds(config.exclusive_wait));
  {
    auto lease = pool_->Acquire();
    if (!lease.ok()) return lease.status();
    if (auto added = (*lease)->Command({"SADD", Key(tenant, "queues"), queue_id}); !added.ok()) {
      return added.status();
    }
    auto st = (*lease)->Command({"HSET", Key(tenant, "qcfg:" + queue_id), "strategy", strategy,
                                 "offer_timeout_ms", offer, "reject_delay_ms", reject,
                                 "no_answer_delay_ms", no_answer, "exclusive_wait_ms", exclusive});
    if (!st.ok()) return st.status();
    if (is_default) {
      if (auto set = (*lease)->Command({"SET", Key(tenant, "defaultq"), queue_id}); !set.ok()) {
        return set.status();
      }
    }
  }  // the connection goes back before the script takes one
  // The strategy may have changed: the queue's free index is rebuilt in its order.
  return Run(tenant, {"queue", queue_id}).status();
}

absl::Status RedisRouter::PutDepartment(const std::string& tenant, const std::string& department_id,
                                        const std::string& queue_id) {
  return pool_->Command({"HSET", Key(tenant, "dept:" + department_id), "queue", queue_id}).status();
}

absl::Status RedisRouter::DeleteQueue(const std::string& tenant, const std::string& queue_id) {
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  if (auto st = (*lease)->Command({"SREM", Key(tenant, "queues"), queue_id}); !st.ok()) {
    return st.status();
  }
  if (auto st = (*lease)->Command({"DEL", Key(tenant, "qcfg:" + queue_id)}); !st.ok()) {
    return st.status();
  }
  if (auto st = (*lease)->Command({"DEL", Key(tenant, "qfree:" + queue_id)}); !st.ok()) {
    return st.status();
  }
  auto current = (*lease)->Command({"GET", Key(tenant, "defaultq")});
  if (!current.ok()) return current.status();
  if (Str(current->get()) == queue_id) {
    return (*lease)->Command({"DEL", Key(tenant, "defaultq")}).status();
  }
  return absl::OkStatus();
}

absl::Status RedisRouter::DeleteDepartment(const std::string& tenant,
                                           const std::string& department_id) {
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  if (auto st = (*lease)->Command({"DEL", Key(tenant, "dept:" + department_id)}); !st.ok()) {
    return st.status();
  }
  return (*lease)->Command({"DEL", Key(tenant, "deptagents:" + department_id)}).status();
}

absl::Status RedisRouter::DeleteAgent(const std::string& tenant, const std::string& agent_id) {
  // No queues, no departments, no slots: the script finds the agent nowhere.
  return PutAgent(tenant, agent_id, 0, {}, 0, {}, {});
}

absl::StatusOr<std::vector<std::pair<std::string, int64_t>>> RedisRouter::TakeOfferCounts(
    const std::string& tenant) {
  auto reply = Run(tenant, {"offer_counts"});
  if (!reply.ok()) return reply.status();
  std::vector<std::pair<std::string, int64_t>> out;
  for (auto& [outcome, count] : Pairs(reply->get())) {
    int64_t n = 0;
    if (absl::SimpleAtoi(count, &n)) out.emplace_back(std::move(outcome), n);
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> RedisRouter::Queues(const std::string& tenant) {
  auto reply = pool_->Command({"SMEMBERS", Key(tenant, "queues")});
  if (!reply.ok()) return reply.status();
  std::vector<std::string> out;
  for (size_t i = 0; i < (*reply)->elements; ++i) out.push_back(Str((*reply)->element[i]));
  std::sort(out.begin(), out.end());
  return out;
}

absl::StatusOr<int64_t> RedisRouter::ConfigVersion(const std::string& tenant) {
  auto reply = pool_->Command({"GET", Key(tenant, "cfgver")});
  if (!reply.ok()) return reply.status();
  int64_t version = 0;
  (void)absl::SimpleAtoi(Str(reply->get()), &version);
  return version;
}

absl::Status RedisRouter::BumpConfigVersion(const std::string& tenant) {
  return pool_->Command({"INCR", Key(tenant, "cfgver")}).status();
}

absl::Status RedisRouter::PutTierMap(const std::string& tenant,
                                     const std::vector<std::pair<int, std::string>>& tiers) {
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  if (auto st = (*lease)->Command({"DEL", Key(tenant, "tiermap")}); !st.ok()) return st.status();
  for (const auto& [tier, department] : tiers) {
    auto st = (*lease)->Command({"HSET", Key(tenant, "tiermap"), std::to_string(tier), department});
    if (!st.ok()) return st.status();
  }
  return absl::OkStatus();
}

absl::Status RedisRouter::PutAgent(const std::string& tenant, const std::string& agent_id,
                                   int max_concurrent, const std::vector<int>& tiers,
                                   double capability, const std::vector<std::string>& queue_ids,
                                   const std::vector<std::string>& department_ids) {
  {
    auto lease = pool_->Acquire();
    if (!lease.ok()) return lease.status();
    redis::Connection& conn = **lease;
    const std::string agent_key = Key(tenant, "agent:" + agent_id);
    const std::string queues_key = Key(tenant, "agentq:" + agent_id);
    // Departments: the agent leaves its old departments' sets and joins the new ones'.
    auto old_depts = conn.Command({"HGET", agent_key, "depts"});
    if (!old_depts.ok()) return old_depts.status();
    for (absl::string_view d : absl::StrSplit(Str(old_depts->get()), ',', absl::SkipEmpty())) {
      auto st = conn.Command({"SREM", Key(tenant, absl::StrCat("deptagents:", d)), agent_id});
      if (!st.ok()) return st.status();
    }
    for (const std::string& d : department_ids) {
      if (auto st = conn.Command({"SADD", Key(tenant, "deptagents:" + d), agent_id}); !st.ok()) {
        return st.status();
      }
    }
    auto old = conn.Command({"SMEMBERS", queues_key});
    if (!old.ok()) return old.status();
    for (size_t i = 0; i < (*old)->elements; ++i) {
      const std::string q = Str((*old)->element[i]);
      auto st = conn.Command({"SREM", Key(tenant, "qagents:" + q), agent_id});
      if (!st.ok()) return st.status();
      // Out of the old queue's free index too; the script re-adds it where it still serves.
      if (auto zrem = conn.Command({"ZREM", Key(tenant, "qfree:" + q), agent_id}); !zrem.ok()) {
        return zrem.status();
      }
    }
    if (auto st = conn.Command({"DEL", queues_key}); !st.ok()) return st.status();
    for (const std::string& q : queue_ids) {
      if (auto st = conn.Command({"SADD", Key(tenant, "qagents:" + q), agent_id}); !st.ok()) {
        return st.status();
      }
      if (auto st = conn.Command({"SADD", queues_key, q}); !st.ok()) return st.status();
    }
    std::vector<std::string> tier_names;
    for (int tier : tiers) tier_names.push_back(std::to_string(tier));
    auto st = conn.Command({"HSET", agent_key, "max", std::to_string(max_concurrent), "tiers",
                            absl::StrJoin(tier_names, ","), "cap", absl::StrCat(capability),
                            "depts", absl::StrJoin(department_ids, ",")});
    if (!st.ok()) return st.status();
  }  // the connection goes back before the script takes one
  return AgentChanged(tenant, agent_id);
}

}  // namespace kefu::router
