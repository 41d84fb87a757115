#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "services/kb/kb_store.h"
#include "services/kb/knowledge_index.h"

// Each tenant's knowledge base in memory: the index of its published entries, its
// categories and its bots, at a known kb revision (F40, F42). A tenant is loaded on its
// first Ask or Search (lazily: row-level security gives no cross-tenant reads, and most
// replicas never serve most tenants), then kept up to date one change at a time.
//
// Answers never come from a stale KB: every Read first asks the store for the tenant's
// current revision and catches up on the rows changed since the one held, so a change
// committed on any replica is seen by the next Ask anywhere. Events
// (KnowledgeEntryChanged, BotChanged; change_watcher.h) and the writing replica itself
// (Refresh after its commit) keep the index warm, so that catching up on the Ask path
// is rare.
namespace kefu::kb {

struct CategoryNode {
  std::string parent_id;
  kefu::common::v1::LocalizedText name;
};

// What a reader sees, under the tenant's shared lock.
class TenantView {
 public:
  TenantView(const KnowledgeIndex& index,
             const absl::flat_hash_map<std::string, CategoryNode>& categories,
             const absl::flat_hash_map<std::string, v1::Bot>& bots, int64_t revision)
      : index_(index), categories_(categories), bots_(bots), revision_(revision) {}

  const KnowledgeIndex& index() const { return index_; }
  const absl::flat_hash_map<std::string, CategoryNode>& categories() const { return categories_; }
  const v1::Bot* FindBot(const std::string& bot_id) const;
  int64_t revision() const { return revision_; }

  // The categories and all their descendants (a bot's memory covers sub-categories).
  absl::flat_hash_set<std::string> WithDescendants(
      const google::protobuf::RepeatedPtrField<std::string>& category_ids) const;

 private:
  const KnowledgeIndex& index_;
  const absl::flat_hash_map<std::string, CategoryNode>& categories_;
  const absl::flat_hash_map<std::string, v1::Bot>& bots_;
  const int64_t revision_;
};

class KbCache {
 public:
  struct Options {
    RankingWeights weights;
    // Called once for each tenant just before its first load (the change watcher
    // remembers where the tenant's event stream stands).
    std::function<void(const std::string& tenant_id)> on_first_use;
  };

  KbCache(KbSource* source, Options options);
  explicit KbCache(KbSource* source) : KbCache(source, Options()) {}

  // Brings the tenant up to the store's current revision, then runs `read` under the
  // tenant's shared lock. UNAVAILABLE when the store cannot be reached.
  absl::Status Read(const std::string& tenant_id,
                    const std::function<absl::Status(const TenantView&)>& read);

  // A change at `revision` was committed (0: unknown, ask the store): a loaded tenant
  // behind it catches up now. Tenants not loaded are left alone.
  absl::Status Refresh(const std::string& tenant_id, int64_t revision = 0);

  // The revision a tenant is held at; -1 when it is not loaded.
  int64_t HeldRevision(const std::string& tenant_id) const;

 private:
  struct Tenant {
    explicit Tenant(const RankingWeights& weights) : index(weights) {}
    std::mutex catch_up;  // one catch-up at a time per tenant
    mutable std::shared_mutex mu;
    std::atomic<int64_t> revision{-1};                          // -1: never loaded
    KnowledgeIndex index;                                       // guarded by mu
    absl::flat_hash_map<std::string, CategoryNode> categories;  // guarded by mu
    absl::flat_hash_map<std::string, v1::Bot> bots;             // guarded by mu
  };

  std::shared_ptr<Tenant> Find(const std::string& tenant_id) const;
  std::shared_ptr<Tenant> FindOrCreate(const std::string& tenant_id);
  absl::Status CatchUp(Tenant& tenant, const std::string& tenant_id, int64_t target);
  static void Apply(Tenant& tenant, KbChanges changes);

  KbSource* source_;
  const Options options_;
  mutable std::mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<Tenant>> tenants_;  // guarded by mu_
};

// The index's view of a stored entry.
IndexedEntry ToIndexedEntry(const v1::Entry& entry);

}  // namespace kefu::kb
