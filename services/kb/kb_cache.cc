#include "services/kb/kb_cache.h"

#include <algorithm>
#include <vector>

#include "absl/strings/str_cat.h"
#include "libs/common/log.h"

namespace kefu::kb {

IndexedEntry ToIndexedEntry(const v1::Entry& entry) {
  IndexedEntry e;
  e.entry_id = entry.entry_id();
  e.category_id = entry.category_id();
  e.question = entry.question();
  e.phrasings = {entry.phrasings().begin(), entry.phrasings().end()};
  e.keywords = {entry.keywords().begin(), entry.keywords().end()};
  e.answer = entry.answer();
  e.language = entry.language();
  e.revision = entry.revision();
  return e;
}

const v1::Bot* TenantView::FindBot(const std::string& bot_id) const {
  auto it = bots_.find(bot_id);
  return it == bots_.end() ? nullptr : &it->second;
}

absl::flat_hash_set<std::string> TenantView::WithDescendants(
    const google::protobuf::RepeatedPtrField<std::string>& category_ids) const {
  absl::flat_hash_set<std::string> out(category_ids.begin(), category_ids.end());
  // Categories are few; repeat until no child is added (depth is bounded by the tree).
  bool grew = true;
  while (grew) {
    grew = false;
    for (const auto& [id, node] : categories_) {
      if (!node.parent_id.empty() && out.contains(node.parent_id) && out.insert(id).second) {
        grew = true;
      }
    }
  }
  return out;
}

KbCache::KbCache(KbSource* source, Options options)
    : source_(source), options_(std::move(options)) {}

std::shared_ptr<KbCache::Tenant> KbCache::Find(const std::string& tenant_id) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = tenants_.find(tenant_id);
  return it == tenants_.end() ? nullptr : it->second;
}

std::shared_ptr<KbCache::Tenant> KbCache::FindOrCreate(const std::string& tenant_id) {
  bool created = false;
  std::shared_ptr<Tenant> tenant;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto& slot = tenants_[tenant_id];
    if (slot == nullptr) {
      slot = std::make_shared<Tenant>(options_.weights);
      created = true;
    }
    tenant = slot;
  }
  if (created && options_.on_first_use) options_.on_first_use(tenant_id);
  return tenant;
}

void KbCache::Apply(Tenant& tenant, KbChanges changes) {
  for (Changed<v1::Category>& c : changes.categories) {
    if (c.deleted) {
      tenant.categories.erase(c.value.category_id());
    } else {
      tenant.categories[c.value.category_id()] = {c.value.parent_id(), c.value.name()};
    }
  }
  // Rows come in no particular order; an entry appears once (its latest state).
  for (Changed<v1::Entry>& e : changes.entries) {
    if (e.deleted || e.value.status() != v1::ENTRY_STATUS_PUBLISHED) {
      tenant.index.Remove(e.value.entry_id());
    } else {
      tenant.index.Upsert(ToIndexedEntry(e.value));
    }
  }
  for (Changed<v1::Bot>& b : changes.bots) {
    if (b.deleted) {
      tenant.bots.erase(b.value.bot_id());
    } else {
      tenant.bots[b.value.bot_id()] = std::move(b.value);
    }
  }
}

absl::Status KbCache::CatchUp(Tenant& tenant, const std::string& tenant_id, int64_t target) {
  std::lock_guard<std::mutex> one_at_a_time(tenant.catch_up);
  const int64_t held = tenant.revision.load();
  if (held >= 0 && held >= target) return absl::OkStatus();  // someone else caught up
  auto changes = source_->ChangesSince(tenant_id, std::max<int64_t>(held, 0));
  if (!changes.ok()) return changes.status();
  const int64_t reached = changes->revision;
  const size_t entries = changes->entries.size();
  {
    std::unique_lock<std::shared_mutex> write(tenant.mu);
    Apply(tenant, std::move(*changes));
    tenant.revision.store(std::max(reached, held));
  }
  if (held < 0) {
    log::Info("kb index loaded", {{"tenant", tenant_id},
                                  {"entries", absl::StrCat(tenant.index.size())},
                                  {"revision", absl::StrCat(reached)}});
  } else {
    log::Debug("kb index caught up", {{"tenant", tenant_id},
                                      {"changed_entries", absl::StrCat(entries)},
                                      {"revision", absl::StrCat(reached)}});
  }
  return absl::OkStatus();
}

absl::Status KbCache::Read(const std::string& tenant_id,
                           const std::function<absl::Status(const TenantView&)>& read) {
  std::shared_ptr<Tenant> tenant = FindOrCreate(tenant_id);
  auto current = source_->CurrentRevision(tenant_id);
  if (!current.ok()) return current.status();
  const int64_t held = tenant->revision.load();
  if (held < 0 || held < *current) {
    if (auto st = CatchUp(*tenant, tenant_id, *current); !st.ok()) return st;
  }
  std::shared_lock<std::shared_mutex> lock(tenant->mu);
  return read(TenantView(tenant->index, tenant->categories, tenant->bots, tenant->revision.load()));
}

absl::Status KbCache::Refresh(const std::string& tenant_id, int64_t revision) {
  std::shared_ptr<Tenant> tenant = Find(tenant_id);
  if (tenant == nullptr || tenant->revision.load() < 0) return absl::OkStatus();
  if (revision > 0 && tenant->revision.load() >= revision) return absl::OkStatus();
  int64_t target = revision;
  if (target <= 0) {
    auto current = source_->CurrentRevision(tenant_id);
    if (!current.ok()) return current.status();
    target = *current;
  }
  if (tenant->revision.load() >= target) return absl::OkStatus();
  return CatchUp(*tenant, tenant_id, target);
}

int64_t KbCache::HeldRevision(const std::string& tenant_id) const {
  std::shared_ptr<Tenant> tenant = Find(tenant_id);
  return tenant == nullptr ? -1 : tenant->revision.load();
}

}  // namespace kefu::kb
