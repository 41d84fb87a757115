// The per-tenant in-memory knowledge base (F40): loaded on first use, caught up from the
// store's revision on every read, so no answer comes from a stale index.
#include "services/kb/kb_cache.h"

#include <catch2/catch.hpp>
#include <map>
#include <string>
#include <vector>

namespace {

namespace v1 = kefu::kb::v1;

// A store in memory: rows with revisions, like kb.entries / kb.bots / kb.categories.
class FakeSource final : public kefu::kb::KbSource {
 public:
  absl::StatusOr<int64_t> CurrentRevision(const std::string& tenant) override {
    ++revision_reads;
    if (down) return absl::UnavailableError("postgres down");
    return tenants[tenant].revision;
  }
  absl::StatusOr<kefu::kb::KbChanges> ChangesSince(const std::string& tenant,
                                                   int64_t revision) override {
    ++change_reads;
    if (down) return absl::UnavailableError("postgres down");
    const Tenant& t = tenants[tenant];
    kefu::kb::KbChanges changes;
    changes.revision = t.revision;
    for (const auto& [id, row] : t.entries) {
      if (row.value.revision() > revision && !(revision == 0 && row.deleted)) {
        changes.entries.push_back(row);
      }
    }
    for (const auto& [id, row] : t.bots) {
      if (row.revision > revision) changes.bots.push_back({row.bot, row.deleted});
    }
    for (const auto& [id, row] : t.categories) {
      if (row.revision > revision) changes.categories.push_back({row.category, false});
    }
    return changes;
  }

  void PutEntry(const std::string& tenant, const std::string& id, const std::string& question,
                const std::string& keyword, v1::EntryStatus status = v1::ENTRY_STATUS_PUBLISHED,
                const std::string& category = "") {
    Tenant& t = tenants[tenant];
    v1::Entry e;
    e.set_entry_id(id);
    e.set_category_id(category);
    e.set_question(question);
    e.add_keywords(keyword);
    e.set_answer("answer " + id);
    e.set_status(status);
    e.set_revision(++t.revision);
    t.entries[id] = {e, false};
  }
  void DeleteEntry(const std::string& tenant, const std::string& id) {
    Tenant& t = tenants[tenant];
    t.entries[id].deleted = true;
    t.entries[id].value.set_revision(++t.revision);
  }
  void PutBot(const std::string& tenant, const std::string& id) {
    Tenant& t = tenants[tenant];
    v1::Bot b;
    b.set_bot_id(id);
    t.bots[id] = {b, ++t.revision, false};
  }
  void PutCategory(const std::string& tenant, const std::string& id, const std::string& parent) {
    Tenant& t = tenants[tenant];
    v1::Category c;
    c.set_category_id(id);
    c.set_parent_id(parent);
    t.categories[id] = {c, ++t.revision};
  }

  struct BotRow {
    v1::Bot bot;
    int64_t revision = 0;
    bool deleted = false;
  };
  struct CategoryRow {
    v1::Category category;
    int64_t revision = 0;
  };
  struct Tenant {
    int64_t revision = 0;
    std::map<std::string, kefu::kb::Changed<v1::Entry>> entries;
    std::map<std::string, BotRow> bots;
    std::map<std::string, CategoryRow> categories;
  };
  std::map<std::string, Tenant> tenants;
  bool down = false;
  int revision_reads = 0;
  int change_reads = 0;
};

std::string TopAnswer(kefu::kb::KbCache& cache, const std::string& tenant,
                      const std::string& question) {
  std::string top;
  REQUIRE(cache
              .Read(tenant,
                    [&](const kefu::kb::TenantView& view) {
                      auto result = view.index().Search(question, {});
                      if (!result.hits.empty()) top = result.hits.front().entry->entry_id;
                      return absl::OkStatus();
                    })
              .ok());
  return top;
}

}  // namespace

TEST_CASE("a tenant is loaded on its first read and only then") {
  FakeSource source;
  std::vector<std::string> first_uses;
  kefu::kb::KbCache::Options options;
  options.on_first_use = [&](const std::string& t) { first_uses.push_back(t); };
  kefu::kb::KbCache cache(&source, options);
  source.PutEntry("t1", "inv", "怎么开发票", "开发票");
  CHECK(cache.HeldRevision("t1") == -1);
  CHECK(cache.Refresh("t1", 5).ok());  // not loaded: nothing to do
  CHECK(source.change_reads == 0);
  CHECK(TopAnswer(cache, "t1", "开发票") == "inv");
  CHECK(cache.HeldRevision("t1") == 1);
  CHECK(TopAnswer(cache, "t1", "开发票") == "inv");
  CHECK(first_uses == std::vector<std::string>{"t1"});
  CHECK(source.change_reads == 1);  // the second read found the index current
}

TEST_CASE("a change committed elsewhere is seen by the very next read") {
  FakeSource source;
  kefu::kb::KbCache cache(&source);
  source.PutEntry("t1", "a", "怎么开发票", "开发票");
  CHECK(TopAnswer(cache, "t1", "维修") == "");
  source.PutEntry("t1", "b", "怎么申请维修", "维修");  // another replica's write
  CHECK(TopAnswer(cache, "t1", "维修") == "b");
  source.PutEntry("t1", "b", "怎么申请退货", "退货");  // edited
  CHECK(TopAnswer(cache, "t1", "维修") == "");
  CHECK(TopAnswer(cache, "t1", "退货") == "b");
}

TEST_CASE("deleted and unpublished entries leave the index") {
  FakeSource source;
  kefu::kb::KbCache cache(&source);
  source.PutEntry("t1", "a", "怎么开发票", "开发票");
  source.PutEntry("t1", "b", "怎么申请维修", "维修");
  CHECK(TopAnswer(cache, "t1", "开发票") == "a");
  source.DeleteEntry("t1", "a");
  source.PutEntry("t1", "b", "怎么申请维修", "维修", v1::ENTRY_STATUS_DRAFT);
  CHECK(TopAnswer(cache, "t1", "开发票") == "");
  CHECK(TopAnswer(cache, "t1", "维修") == "");
}

TEST_CASE("drafts are never indexed") {
  FakeSource source;
  kefu::kb::KbCache cache(&source);
  source.PutEntry("t1", "a", "怎么开发票", "开发票", v1::ENTRY_STATUS_DRAFT);
  CHECK(TopAnswer(cache, "t1", "开发票") == "");
}

TEST_CASE("tenants are kept apart") {
  FakeSource source;
  kefu::kb::KbCache cache(&source);
  source.PutEntry("t1", "a", "怎么开发票", "开发票");
  source.PutEntry("t2", "b", "怎么申请维修", "维修");
  CHECK(TopAnswer(cache, "t1", "维修") == "");
  CHECK(TopAnswer(cache, "t2", "开发票") == "");
  CHECK(TopAnswer(cache, "t2", "维修") == "b");
}

TEST_CASE("a refresh after a local write catches a loaded tenant up at once") {
  FakeSource source;
  kefu::kb::KbCache cache(&source);
  source.PutEntry("t1", "a", "怎么开发票", "开发票");
  TopAnswer(cache, "t1", "开发票");
  source.PutEntry("t1", "b", "怎么申请维修", "维修");
  REQUIRE(cache.Refresh("t1", 2).ok());
  CHECK(cache.HeldRevision("t1") == 2);
  const int before = source.change_reads;
  REQUIRE(cache.Refresh("t1", 2).ok());  // already there: no store read
  CHECK(source.change_reads == before);
}

TEST_CASE("bots and categories follow the revisions too") {
  FakeSource source;
  kefu::kb::KbCache cache(&source);
  source.PutCategory("t1", "parent", "");
  source.PutCategory("t1", "child", "parent");
  source.PutBot("t1", "bot-1");
  REQUIRE(cache
              .Read("t1",
                    [&](const kefu::kb::TenantView& view) {
                      CHECK(view.FindBot("bot-1") != nullptr);
                      CHECK(view.FindBot("bot-2") == nullptr);
                      google::protobuf::RepeatedPtrField<std::string> memory;
                      memory.Add("parent");
                      CHECK(view.WithDescendants(memory).contains("child"));
                      return absl::OkStatus();
                    })
              .ok());
}

TEST_CASE("a store outage fails the read instead of answering from a stale index") {
  FakeSource source;
  kefu::kb::KbCache cache(&source);
  source.PutEntry("t1", "a", "怎么开发票", "开发票");
  TopAnswer(cache, "t1", "开发票");
  source.down = true;
  const absl::Status st =
      cache.Read("t1", [](const kefu::kb::TenantView&) { return absl::OkStatus(); });
  CHECK(absl::IsUnavailable(st));
}
