#include "services/kb/pg_kb_store.h"

#include <google/protobuf/empty.pb.h>

#include <limits>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/common/status.h"
#include "libs/common/status_macros.h"
#include "services/kb/pg_common.h"

namespace kefu::kb {
namespace {

using pg_internal::FromMicros;
using pg_internal::Idempotent;
using pg_internal::NewId;
using pg_internal::NextRevision;
using pg_internal::ParseTextArray;
using pg_internal::TextArray;

// --- SQL --------------------------------------------------------------------------------

constexpr char kCurrentRevision[] = "SELECT revision FROM kb.tenant_state WHERE tenant_id = $1";
constexpr char kTenantRevision[] = "SELECT kb.tenant_revision($1)";

#define KB_CATEGORY_COLUMNS                                                  \
  "category_id, parent_id, name_zh, name_en, sort_order, revision, deleted," \
  " (extract(epoch from update_time) * 1000000)::bigint"
#define KB_ENTRY_COLUMNS                                                            \
  "entry_id, category_id, question, phrasings, keywords, answer, status, language," \
  " revision, deleted, (extract(epoch from create_time) * 1000000)::bigint,"        \
  " (extract(epoch from update_time) * 1000000)::bigint"
#define KB_BOT_COLUMNS                                                                     \
  "bot_id, name, online, auto_online, hidden, accept_transfer, category_ids,"              \
  " answer_threshold, clarify_threshold, max_choices, max_low_confidence_turns,"           \
  " escalation_phrases, greeting_zh, greeting_en, escalation_zh, escalation_en, language," \
  " revision, deleted, (extract(epoch from update_time) * 1000000)::bigint"

// Changed rows for the index. From revision 0 (a first load) tombstones are left out.
constexpr char kChangedCategories[] =
    "SELECT " KB_CATEGORY_COLUMNS
    " FROM kb.categories WHERE tenant_id = $1 AND revision > $2 AND (NOT deleted OR $2 > 0)";
constexpr char kChangedEntries[] =
    "SELECT " KB_ENTRY_COLUMNS
    " FROM kb.entries WHERE tenant_id = $1 AND revision > $2 AND (NOT deleted OR $2 > 0)";
constexpr char kChangedBots[] =
    "SELECT " KB_BOT_COLUMNS
    " FROM kb.bots WHERE tenant_id = $1 AND revision > $2 AND (NOT deleted OR $2 > 0)";

constexpr char kCategoryExists[] =
    "SELECT 1 FROM kb.categories WHERE tenant_id = $1 AND category_id = $2 AND NOT deleted";
constexpr char kCategoryParent[] =
    "SELECT parent_id FROM kb.categories WHERE tenant_id = $1 AND category_id = $2";
constexpr char kInsertCategory[] =
    "INSERT INTO kb.categories (tenant_id, category_id, parent_id, name_zh, name_en, sort_order,"
    " revision) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING " KB_CATEGORY_COLUMNS;
constexpr char kLockCategory[] = "SELECT " KB_CATEGORY_COLUMNS
                                 " FROM kb.categories WHERE tenant_id = $1 AND category_id = $2"
                                 " AND NOT deleted FOR UPDATE";
constexpr char kUpdateCategory[] =
    "UPDATE kb.categories SET parent_id = $3, name_zh = $4, name_en = $5, sort_order = $6,"
    " revision = $7, update_time = now() WHERE tenant_id = $1 AND category_id = $2"
    " RETURNING " KB_CATEGORY_COLUMNS;
constexpr char kCategoryEntryCount[] =
    "SELECT count(*) FROM kb.entries WHERE tenant_id = $1 AND category_id = $2 AND NOT deleted";
constexpr char kCategoryChildCount[] =
    "SELECT count(*) FROM kb.categories WHERE tenant_id = $1 AND parent_id = $2 AND NOT deleted";
constexpr char kBotsWithCategory[] =
    "SELECT name FROM kb.bots WHERE tenant_id = $1 AND $2 = ANY(category_ids) AND NOT deleted"
    " ORDER BY name LIMIT 3";
constexpr char kDeleteCategory[] =
    "UPDATE kb.categories SET deleted = true, revision = $3, update_time = now()"
    " WHERE tenant_id = $1 AND category_id = $2";
constexpr char kListCategories[] =
    "SELECT " KB_CATEGORY_COLUMNS
    " FROM kb.categories WHERE tenant_id = $1 AND NOT deleted AND (sort_order, category_id) >"
    " ($2, $3) ORDER BY sort_order, category_id LIMIT $4";
constexpr char kCategoryNames[] =
    "SELECT category_id, name_zh, name_en FROM kb.categories WHERE tenant_id = $1 AND NOT deleted"
    " ORDER BY create_time, category_id";

constexpr char kInsertEntry[] =
    "INSERT INTO kb.entries (tenant_id, entry_id, category_id, question, phrasings, keywords,"
    " answer, status, language, revision) VALUES ($1, $2, $3, $4, $5::text[], $6::text[], $7, $8,"
    " $9, $10) RETURNING " KB_ENTRY_COLUMNS;
// Import keeps the ids of its lines: a deleted entry with the same id comes back.
constexpr char kUpsertEntry[] =
    "INSERT INTO kb.entries AS e (tenant_id, entry_id, category_id, question, phrasings,"
    " keywords, answer, status, language, revision) VALUES ($1, $2, $3, $4, $5::text[],"
    " $6::text[], $7, $8, $9, $10) ON CONFLICT (tenant_id, entry_id) DO UPDATE SET"
    " category_id = excluded.category_id, question = excluded.question,"
    " phrasings = excluded.phrasings, keywords = excluded.keywords, answer = excluded.answer,"
    " status = excluded.status, language = excluded.language, revision = excluded.revision,"
    " deleted = false, update_time = now(),"
    " create_time = CASE WHEN e.deleted THEN now() ELSE e.create_time END";
constexpr char kLockEntry[] = "SELECT " KB_ENTRY_COLUMNS
                              " FROM kb.entries WHERE tenant_id = $1 AND entry_id = $2"
                              " AND NOT deleted FOR UPDATE";
constexpr char kUpdateEntry[] =
    "UPDATE kb.entries SET category_id = $3, question = $4, phrasings = $5::text[],"
    " keywords = $6::text[], answer = $7, status = $8, language = $9, revision = $10,"
    " update_time = now() WHERE tenant_id = $1 AND entry_id = $2 RETURNING " KB_ENTRY_COLUMNS;
constexpr char kDeleteEntry[] =
    "UPDATE kb.entries SET deleted = true, revision = $3, update_time = now()"
    " WHERE tenant_id = $1 AND entry_id = $2 RETURNING " KB_ENTRY_COLUMNS;
constexpr char kDeleteAllEntries[] =
    "UPDATE kb.entries SET deleted = true, revision = $2, update_time = now()"
    " WHERE tenant_id = $1 AND NOT deleted RETURNING entry_id, category_id";
constexpr char kLiveEntryIds[] =
    "SELECT entry_id FROM kb.entries WHERE tenant_id = $1 AND NOT deleted"
    " AND entry_id = ANY($2::text[])";
constexpr char kLiveEntryCount[] =
    "SELECT count(*) FROM kb.entries WHERE tenant_id = $1 AND NOT deleted";
constexpr char kGetEntry[] = "SELECT " KB_ENTRY_COLUMNS
                             " FROM kb.entries WHERE tenant_id = $1 AND entry_id = $2"
                             " AND NOT deleted";
#define KB_ENTRY_FILTER                                                            \
  " AND NOT deleted AND ($2 = '' OR category_id = $2) AND ($3 = 0 OR status = $3)" \
  " AND ($4 = 0 OR language = $4) AND entry_id > $5"
constexpr char kListEntries[] =
    "SELECT " KB_ENTRY_COLUMNS " FROM kb.entries WHERE tenant_id = $1" KB_ENTRY_FILTER
    " ORDER BY entry_id LIMIT $6";
// The JSONL `category` of an entry: its category's name in the entry's language first.
constexpr char kExportEntries[] =
    "SELECT " KB_ENTRY_COLUMNS
    ", COALESCE((SELECT CASE WHEN entries.language = 2 AND c.name_en <> '' THEN c.name_en"
    " WHEN c.name_zh <> '' THEN c.name_zh ELSE c.name_en END FROM kb.categories c"
    " WHERE c.tenant_id = entries.tenant_id AND c.category_id = entries.category_id), '')"
    " FROM kb.entries WHERE tenant_id = $1" KB_ENTRY_FILTER " ORDER BY entry_id LIMIT $6";

constexpr char kInsertBot[] =
    "INSERT INTO kb.bots (tenant_id, bot_id, name, online, auto_online, hidden, accept_transfer,"
    " category_ids, answer_threshold, clarify_threshold, max_choices, max_low_confidence_turns,"
    " escalation_phrases, greeting_zh, greeting_en, escalation_zh, escalation_en, language,"
    " revision) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text[], $9, $10, $11, $12, $13::text[],"
    " $14, $15, $16, $17, $18, $19) RETURNING " KB_BOT_COLUMNS;
constexpr char kLockBot[] = "SELECT " KB_BOT_COLUMNS
                            " FROM kb.bots WHERE tenant_id = $1 AND bot_id = $2 AND NOT deleted"
                            " FOR UPDATE";
constexpr char kUpdateBot[] =
    "UPDATE kb.bots SET name = $3, online = $4, auto_online = $5, hidden = $6,"
    " accept_transfer = $7, category_ids = $8::text[], answer_threshold = $9,"
    " clarify_threshold = $10, max_choices = $11, max_low_confidence_turns = $12,"
    " escalation_phrases = $13::text[], greeting_zh = $14, greeting_en = $15,"
    " escalation_zh = $16, escalation_en = $17, language = $18, revision = $19,"
    " update_time = now() WHERE tenant_id = $1 AND bot_id = $2 RETURNING " KB_BOT_COLUMNS;
constexpr char kDeleteBot[] =
    "UPDATE kb.bots SET deleted = true, revision = $3, update_time = now()"
    " WHERE tenant_id = $1 AND bot_id = $2 RETURNING " KB_BOT_COLUMNS;
constexpr char kGetBot[] =
    "SELECT " KB_BOT_COLUMNS " FROM kb.bots WHERE tenant_id = $1 AND bot_id = $2 AND NOT deleted";
// The transfer target list (F41) shows bots that accept transfers and are online.
constexpr char kListBots[] =
    "SELECT " KB_BOT_COLUMNS
    " FROM kb.bots WHERE tenant_id = $1 AND NOT deleted AND (NOT $2 OR (accept_transfer AND"
    " (online OR auto_online))) AND bot_id > $3 ORDER BY bot_id LIMIT $4";

// --- Rows -------------------------------------------------------------------------------

v1::Category CategoryFromRow(const pqxx::row& row, bool* deleted = nullptr) {
  v1::Category c;
  c.set_category_id(row[0].as<std::string>());
  c.set_parent_id(row[1].as<std::string>());
  c.mutable_name()->set_zh(row[2].as<std::string>());
  c.mutable_name()->set_en(row[3].as<std::string>());
  c.set_sort_order(row[4].as<int>());
  if (deleted != nullptr) *deleted = row[6].as<bool>();
  *c.mutable_update_time() = FromMicros(row[7]);
  return c;
}

v1::Entry EntryFromRow(const pqxx::row& row, bool* deleted = nullptr) {
  v1::Entry e;
  e.set_entry_id(row[0].as<std::string>());
  e.set_category_id(row[1].as<std::string>());
  e.set_question(row[2].as<std::string>());
  for (std::string& p : ParseTextArray(row[3])) e.add_phrasings(std::move(p));
  for (std::string& k : ParseTextArray(row[4])) e.add_keywords(std::move(k));
  e.set_answer(row[5].as<std::string>());
  e.set_status(static_cast<v1::EntryStatus>(row[6].as<int>()));
  e.set_language(static_cast<kefu::common::v1::Language>(row[7].as<int>()));
  e.set_revision(row[8].as<int64_t>());
  if (deleted != nullptr) *deleted = row[9].as<bool>();
  *e.mutable_create_time() = FromMicros(row[10]);
  *e.mutable_update_time() = FromMicros(row[11]);
  return e;
}

v1::Bot BotFromRow(const pqxx::row& row, bool* deleted = nullptr) {
  v1::Bot b;
  b.set_bot_id(row[0].as<std::string>());
  b.set_name(row[1].as<std::string>());
  b.set_online(row[2].as<bool>());
  b.set_auto_online(row[3].as<bool>());
  b.set_hidden(row[4].as<bool>());
  b.set_accept_transfer(row[5].as<bool>());
  for (std::string& c : ParseTextArray(row[6])) b.add_category_ids(std::move(c));
  b.set_answer_threshold(row[7].as<double>());
  b.set_clarify_threshold(row[8].as<double>());
  b.set_max_choices(row[9].as<int>());
  b.set_max_low_confidence_turns(row[10].as<int>());
  for (std::string& p : ParseTextArray(row[11])) b.add_escalation_phrases(std::move(p));
  b.mutable_greeting()->set_zh(row[12].as<std::string>());
  b.mutable_greeting()->set_en(row[13].as<std::string>());
  b.mutable_escalation_message()->set_zh(row[14].as<std::string>());
  b.mutable_escalation_message()->set_en(row[15].as<std::string>());
  b.set_language(static_cast<kefu::common::v1::Language>(row[16].as<int>()));
  if (deleted != nullptr) *deleted = row[18].as<bool>();
  *b.mutable_update_time() = FromMicros(row[19]);
  return b;
}

absl::Status CheckCategory(pqxx::work& txn, const std::string& tenant, const std::string& id,
                           absl::string_view field) {
  if (id.empty()) return absl::OkStatus();
  if (txn.exec_params(kCategoryExists, tenant, id).empty()) {
    return InvalidField(field, absl::StrCat("unknown category \"", id, "\""));
  }
  return absl::OkStatus();
}

// The new parent must exist and must not be the category or one of its descendants.
absl::Status CheckParent(pqxx::work& txn, const std::string& tenant, const std::string& id,
                         const std::string& parent) {
  if (parent.empty()) return absl::OkStatus();
  KEFU_RETURN_IF_ERROR(CheckCategory(txn, tenant, parent, "category.parent_id"));
  std::string at = parent;
  for (int depth = 0; depth < 64 && !at.empty(); ++depth) {
    if (at == id) return InvalidField("category.parent_id", "would put the category inside itself");
    const pqxx::result rows = txn.exec_params(kCategoryParent, tenant, at);
    if (rows.empty()) break;
    at = rows[0][0].as<std::string>();
  }
  return absl::OkStatus();
}

void ExecBot(pqxx::work& txn, const char* sql, const std::string& tenant, const v1::Bot& b,
             int64_t revision, pqxx::result* out) {
  *out = txn.exec_params(sql, tenant, b.bot_id(), b.name(), b.online(), b.auto_online(), b.hidden(),
                         b.accept_transfer(), TextArray(b.category_ids()), b.answer_threshold(),
                         b.clarify_threshold(), b.max_choices(), b.max_low_confidence_turns(),
                         TextArray(b.escalation_phrases()), b.greeting().zh(), b.greeting().en(),
                         b.escalation_message().zh(), b.escalation_message().en(),
                         static_cast<int>(b.language()), revision);
}

absl::Status CheckBotCategories(pqxx::work& txn, const std::string& tenant, const v1::Bot& bot) {
  for (int i = 0; i < bot.category_ids_size(); ++i) {
    KEFU_RETURN_IF_ERROR(
        CheckCategory(txn, tenant, bot.category_ids(i), absl::StrCat("bot.category_ids[", i, "]")));
  }
  return absl::OkStatus();
}

}  // namespace

// --- KbSource ---------------------------------------------------------------------------

// On every Ask and Search: one statement, one round trip (kb.tenant_revision binds the
// statement's transaction to the tenant itself).
absl::StatusOr<int64_t> PgKbStore::CurrentRevision(const std::string& tenant_id) {
  auto lease = pool_->Acquire();
  if (!lease.ok()) return lease.status();
  try {
    pqxx::nontransaction txn(**lease);
    return txn.exec_params(kTenantRevision, tenant_id)[0][0].as<int64_t>();
  } catch (const std::exception& e) {
    if (!(*lease)->is_open() || dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr) {
      lease->Discard();
    }
    return pg::StatusFromException(e);
  }
}

absl::StatusOr<KbChanges> PgKbStore::ChangesSince(const std::string& tenant_id, int64_t revision) {
  return pool_->TransactIn(tenant_id, [&](pqxx::work& txn) -> absl::StatusOr<KbChanges> {
    KbChanges changes;
    // The counter first: every row at or below it has committed (it is locked until
    // commit), so the rows read next include all of them.
    const pqxx::result state = txn.exec_params(kCurrentRevision, tenant_id);
    changes.revision = state.empty() ? 0 : state[0][0].as<int64_t>();
    const auto note = [&](int64_t r) { changes.revision = std::max(changes.revision, r); };
    for (const pqxx::row& row : txn.exec_params(kChangedCategories, tenant_id, revision)) {
      Changed<v1::Category> c;
      c.value = CategoryFromRow(row, &c.deleted);
      note(row[5].as<int64_t>());
      changes.categories.push_back(std::move(c));
    }
    for (const pqxx::row& row : txn.exec_params(kChangedEntries, tenant_id, revision)) {
      Changed<v1::Entry> e;
      e.value = EntryFromRow(row, &e.deleted);
      note(e.value.revision());
      changes.entries.push_back(std::move(e));
    }
    for (const pqxx::row& row : txn.exec_params(kChangedBots, tenant_id, revision)) {
      Changed<v1::Bot> b;
      b.value = BotFromRow(row, &b.deleted);
      note(row[17].as<int64_t>());
      changes.bots.push_back(std::move(b));
    }
    return changes;
  });
}

// --- Categories -------------------------------------------------------------------------

absl::StatusOr<v1::Category> PgKbStore::CreateCategory(const WriteScope& scope,
                                                       const v1::Category& category) {
  const std::string& t = scope.tenant_id;
  return pool_->TransactIn(t, [&](pqxx::work& txn) -> absl::StatusOr<v1::Category> {
    return Idempotent<v1::Category>(txn, scope, [&]() -> absl::StatusOr<v1::Category> {
      KEFU_RETURN_IF_ERROR(CheckCategory(txn, t, category.parent_id(), "category.parent_id"));
      const int64_t revision = NextRevision(txn, t);
      const pqxx::result rows =
          txn.exec_params(kInsertCategory, t, NewId(), category.parent_id(), category.name().zh(),
                          category.name().en(), category.sort_order(), revision);
      return CategoryFromRow(rows[0]);
    });
  });
}

absl::StatusOr<v1::Category> PgKbStore::UpdateCategory(const WriteScope& scope,
                                                       const std::string& category_id,
                                                       const Mutator<v1::Category>& mutate) {
  const std::string& t = scope.tenant_id;
  return pool_->TransactIn(t, [&](pqxx::work& txn) -> absl::StatusOr<v1::Category> {
    return Idempotent<v1::Category>(txn, scope, [&]() -> absl::StatusOr<v1::Category> {
      const pqxx::result rows = txn.exec_params(kLockCategory, t, category_id);
      if (rows.empty()) {
        return absl::NotFoundError(absl::StrCat("category \"", category_id, "\" not found"));
      }
      v1::Category category = CategoryFromRow(rows[0]);
      const std::string old_parent = category.parent_id();
      KEFU_RETURN_IF_ERROR(mutate(&category));
      if (category.parent_id() != old_parent) {
        KEFU_RETURN_IF_ERROR(CheckParent(txn, t, category_id, category.parent_id()));
      }
      const int64_t revision = NextRevision(txn, t);
      const pqxx::result updated = txn.exec_params(
          kUpdateCategory, t, category_id, category.parent_id(), category.name().zh(),
          category.name().en(), category.sort_order(), revision);
      return CategoryFromRow(updated[0]);
    });
  });
}

absl::Status PgKbStore::DeleteCategory(const WriteScope& scope, const std::string& category_id) {
  const std::string& t = scope.tenant_id;
  auto result =
      pool_->TransactIn(t, [&](pqxx::work& txn) -> absl::StatusOr<google::protobuf::Empty> {
        return Idempotent<google::protobuf::Empty>(
            txn, scope, [&]() -> absl::StatusOr<google::protobuf::Empty> {
              if (txn.exec_params(kLockCategory, t, category_id).empty()) {
                return absl::NotFoundError(
                    absl::StrCat("category \"", category_id, "\" not found"));
              }
              const auto entries = txn.exec_params(kCategoryEntryCount, t, category_id);
              if (entries[0][0].as<int64_t>() > 0) {
                return absl::FailedPreconditionError(
                    absl::StrCat("category \"", category_id, "\" has ", entries[0][0].as<int64_t>(),
                                 " entries; move or delete them first"));
              }
              const auto children = txn.exec_params(kCategoryChildCount, t, category_id);
              if (children[0][0].as<int64_t>() > 0) {
                return absl::FailedPreconditionError(absl::StrCat(
                    "category \"", category_id, "\" has sub-categories; delete them first"));
              }
              const auto bots = txn.exec_params(kBotsWithCategory, t, category_id);
              if (!bots.empty()) {
                return absl::FailedPreconditionError(
                    absl::StrCat("category \"", category_id, "\" is in the memory of bot \"",
                                 bots[0][0].as<std::string>(), "\"; remove it there first"));
              }
              txn.exec_params(kDeleteCategory, t, category_id, NextRevision(txn, t));
              return google::protobuf::Empty();
            });
      });
  return result.status();
}

absl::StatusOr<Page<v1::Category>> PgKbStore::ListCategories(const std::string& tenant_id,
                                                             const std::vector<std::string>& after,
                                                             int limit) {
  return pool_->TransactIn(tenant_id, [&](pqxx::work& txn) -> absl::StatusOr<Page<v1::Category>> {
    int sort_after = std::numeric_limits<int>::min();
    std::string id_after;
    if (after.size() == 2) {
      if (!absl::SimpleAtoi(after[0], &sort_after)) {
        return InvalidField("page_token", "not a token this API issued");
      }
      id_after = after[1];
    }
    Page<v1::Category> page;
    for (const pqxx::row& row :
         txn.exec_params(kListCategories, tenant_id, sort_after, id_after, limit + 1)) {
      page.items.push_back(CategoryFromRow(row));
    }
    page.more = static_cast<int>(page.items.size()) > limit;
    if (page.more) page.items.pop_back();
    return page;
  });
}

// --- Entries ----------------------------------------------------------------------------

absl::StatusOr<v1::Entry> PgKbStore::CreateEntry(const WriteScope& scope, const v1::Entry& entry) {
  const std::string& t = scope.tenant_id;
  return pool_->TransactIn(t, [&](pqxx::work& txn) -> absl::StatusOr<v1::Entry> {
    return Idempotent<v1::Entry>(txn, scope, [&]() -> absl::StatusOr<v1::Entry> {
      KEFU_RETURN_IF_ERROR(CheckCategory(txn, t, entry.category_id(), "entry.category_id"));
      const int64_t revision = NextRevision(txn, t);
      const pqxx::result rows = txn.exec_params(
          kInsertEntry, t, NewId(), entry.category_id(), entry.question(),
          TextArray(entry.phrasings()), TextArray(entry.keywords()), entry.answer(),
          static_cast<int>(entry.status()), static_cast<int>(entry.language()), revision);
      return EntryFromRow(rows[0]);
    });
  });
}

absl::StatusOr<v1::Entry> PgKbStore::UpdateEntry(const WriteScope& scope,
                                                 const std::string& entry_id,
                                                 int64_t expected_revision,
                                                 const Mutator<v1::Entry>& mutate) {
  const std::string& t = scope.tenant_id;
  return pool_->TransactIn(t, [&](pqxx::work& txn) -> absl::StatusOr<v1::Entry> {
    return Idempotent<v1::Entry>(txn, scope, [&]() -> absl::StatusOr<v1::Entry> {
      const pqxx::result rows = txn.exec_params(kLockEntry, t, entry_id);
      if (rows.empty()) {
        return absl::NotFoundError(absl::StrCat("entry \"", entry_id, "\" not found"));
      }
      v1::Entry entry = EntryFromRow(rows[0]);
      if (expected_revision != 0 && entry.revision() != expected_revision) {
        return absl::AbortedError(absl::StrCat("expected_revision: entry \"", entry_id,
                                               "\" changed at revision ", entry.revision(),
                                               "; read it again and retry"));
      }
      const std::string old_category = entry.category_id();
      KEFU_RETURN_IF_ERROR(mutate(&entry));
      if (entry.category_id() != old_category) {
        KEFU_RETURN_IF_ERROR(CheckCategory(txn, t, entry.category_id(), "entry.category_id"));
      }
      const int64_t revision = NextRevision(txn, t);
      const pqxx::result updated = txn.exec_params(
          kUpdateEntry, t, entry_id, entry.category_id(), entry.question(),
          TextArray(entry.phrasings()), TextArray(entry.keywords()), entry.answer(),
          static_cast<int>(entry.status()), static_cast<int>(entry.language()), revision);
      return EntryFromRow(updated[0]);
    });
  });
}

absl::StatusOr<v1::Entry> PgKbStore::DeleteEntry(const WriteScope& scope,
                                                 const std::string& entry_id) {
  const std::string& t = scope.tenant_id;
  return pool_->TransactIn(t, [&](pqxx::work& txn) -> absl::StatusOr<v1::Entry> {
    return Idempotent<v1::Entry>(txn, scope, [&]() -> absl::StatusOr<v1::Entry> {
      if (txn.exec_params(kLockEntry, t, entry_id).empty()) {
        return absl::NotFoundError(absl::StrCat("entry \"", entry_id, "\" not found"));
      }
      const pqxx::result rows = txn.exec_params(kDeleteEntry, t, entry_id, NextRevision(txn, t));
      return EntryFromRow(rows[0]);
    });
  });
}

absl::StatusOr<v1::Entry> PgKbStore::GetEntry(const std::string& tenant_id,
                                              const std::string& entry_id) {
  return pool_->TransactIn(tenant_id, [&](pqxx::work& txn) -> absl::StatusOr<v1::Entry> {
    const pqxx::result rows = txn.exec_params(kGetEntry, tenant_id, entry_id);
    if (rows.empty()) {
      return absl::NotFoundError(absl::StrCat("entry \"", entry_id, "\" not found"));
    }
    return EntryFromRow(rows[0]);
  });
}

absl::StatusOr<Page<v1::Entry>> PgKbStore::ListEntries(const std::string& tenant_id,
                                                       const EntryFilter& filter,
                                                       const std::string& after_id, int limit) {
  return pool_->TransactIn(tenant_id, [&](pqxx::work& txn) -> absl::StatusOr<Page<v1::Entry>> {
    Page<v1::Entry> page;
    for (const pqxx::row& row : txn.exec_params(
             kListEntries, tenant_id, filter.category_id, static_cast<int>(filter.status),
             static_cast<int>(filter.language), after_id, limit + 1)) {
      page.items.push_back(EntryFromRow(row));
    }
    page.more = static_cast<int>(page.items.size()) > limit;
    if (page.more) page.items.pop_back();
    return page;
  });
}

absl::StatusOr<v1::ImportEntriesResponse> PgKbStore::ImportEntries(
    const WriteScope& scope, const v1::ImportEntriesRequest& request,
    std::vector<EntryChange>* changes) {
  const std::string& t = scope.tenant_id;
  std::vector<EntryChange> pending;
  auto result =
      pool_->TransactIn(t, [&](pqxx::work& txn) -> absl::StatusOr<v1::ImportEntriesResponse> {
        pending.clear();
        return Idempotent<v1::ImportEntriesResponse>(
            txn, scope, [&]() -> absl::StatusOr<v1::ImportEntriesResponse> {
              v1::ImportEntriesResponse response;
              // Categories: by id, or by name (either language), created when missing.
              absl::flat_hash_map<std::string, std::string> by_name;
              absl::flat_hash_set<std::string> ids;
              for (const pqxx::row& row : txn.exec_params(kCategoryNames, t)) {
                const std::string id = row[0].as<std::string>();
                ids.insert(id);
                for (int col : {1, 2}) {
                  const std::string name = row[col].as<std::string>();
                  if (!name.empty()) by_name.emplace(name, id);
                }
              }
              for (int i = 0; i < request.entries_size(); ++i) {
                const std::string& id = request.entries(i).entry().category_id();
                if (!id.empty() && !ids.contains(id)) {
                  v1::ImportError* error = response.add_errors();
                  error->set_index(i + 1);
                  error->set_field("category_id");
                  error->set_message(absl::StrCat("unknown category \"", id, "\""));
                }
              }
              if (response.errors_size() > 0) return response;  // nothing written

              const bool replace = request.mode() == v1::IMPORT_MODE_REPLACE_ALL;
              std::vector<std::string> line_ids;
              for (const v1::ImportEntry& line : request.entries()) {
                if (!line.entry().entry_id().empty()) line_ids.push_back(line.entry().entry_id());
              }
              absl::flat_hash_set<std::string> existing;
              if (!replace) {
                for (const pqxx::row& row :
                     txn.exec_params(kLiveEntryIds, t, TextArray(line_ids))) {
                  existing.insert(row[0].as<std::string>());
                }
              }
              if (request.dry_run()) {
                if (replace) {
                  response.set_deleted_count(
                      static_cast<int>(txn.exec_params(kLiveEntryCount, t)[0][0].as<int64_t>()));
                }
                for (const v1::ImportEntry& line : request.entries()) {
                  if (existing.contains(line.entry().entry_id())) {
                    response.set_updated_count(response.updated_count() + 1);
                  } else {
                    response.set_created_count(response.created_count() + 1);
                  }
                }
                return response;
              }

              const int64_t revision = NextRevision(txn, t);
              if (replace) {
                for (const pqxx::row& row : txn.exec_params(kDeleteAllEntries, t, revision)) {
                  pending.push_back({row[0].as<std::string>(), row[1].as<std::string>(),
                                     EntryChange::kDeleted, revision});
                }
                response.set_deleted_count(static_cast<int>(pending.size()));
              }
              const v1::EntryStatus status = request.status() == v1::ENTRY_STATUS_UNSPECIFIED
                                                 ? v1::ENTRY_STATUS_PUBLISHED
                                                 : request.status();
              for (const v1::ImportEntry& line : request.entries()) {
                const v1::Entry& e = line.entry();
                std::string category = e.category_id();
                if (category.empty() && !line.category_name().empty()) {
                  auto it = by_name.find(line.category_name());
                  if (it == by_name.end()) {
                    const bool en = e.language() == kefu::common::v1::LANGUAGE_EN;
                    const std::string id = NewId();
                    txn.exec_params(kInsertCategory, t, id, std::string(),
                                    en ? std::string() : line.category_name(),
                                    en ? line.category_name() : std::string(), 0, revision);
                    it = by_name.emplace(line.category_name(), id).first;
                  }
                  category = it->second;
                }
                const std::string id = e.entry_id().empty() ? NewId() : e.entry_id();
                txn.exec_params(kUpsertEntry, t, id, category, e.question(),
                                TextArray(e.phrasings()), TextArray(e.keywords()), e.answer(),
                                static_cast<int>(status), static_cast<int>(e.language()), revision);
                const bool updated = existing.contains(id);
                pending.push_back({id, category,
                                   updated ? EntryChange::kUpdated : EntryChange::kCreated,
                                   revision});
                if (updated) {
                  response.set_updated_count(response.updated_count() + 1);
                } else {
                  response.set_created_count(response.created_count() + 1);
                }
              }
              return response;
            });
      });
  if (result.ok() && changes != nullptr) *changes = std::move(pending);
  return result;
}

absl::StatusOr<Page<v1::ImportEntry>> PgKbStore::ExportEntries(const std::string& tenant_id,
                                                               const EntryFilter& filter,
                                                               const std::string& after_id,
                                                               int limit) {
  return pool_->TransactIn(
      tenant_id, [&](pqxx::work& txn) -> absl::StatusOr<Page<v1::ImportEntry>> {
        Page<v1::ImportEntry> page;
        for (const pqxx::row& row : txn.exec_params(
                 kExportEntries, tenant_id, filter.category_id, static_cast<int>(filter.status),
                 static_cast<int>(filter.language), after_id, limit + 1)) {
          v1::ImportEntry line;
          *line.mutable_entry() = EntryFromRow(row);
          line.set_category_name(row[12].as<std::string>());
          page.items.push_back(std::move(line));
        }
        page.more = static_cast<int>(page.items.size()) > limit;
        if (page.more) page.items.pop_back();
        return page;
      });
}

// --- Bots -------------------------------------------------------------------------------

absl::StatusOr<v1::Bot> PgKbStore::CreateBot(const WriteScope& scope, const v1::Bot& bot) {
  const std::string& t = scope.tenant_id;
  return pool_->TransactIn(t, [&](pqxx::work& txn) -> absl::StatusOr<v1::Bot> {
    return Idempotent<v1::Bot>(txn, scope, [&]() -> absl::StatusOr<v1::Bot> {
      KEFU_RETURN_IF_ERROR(CheckBotCategories(txn, t, bot));
      v1::Bot stored = bot;
      stored.set_bot_id(NewId());
      pqxx::result rows;
      ExecBot(txn, kInsertBot, t, stored, NextRevision(txn, t), &rows);
      return BotFromRow(rows[0]);
    });
  });
}

absl::StatusOr<v1::Bot> PgKbStore::UpdateBot(const WriteScope& scope, const std::string& bot_id,
                                             const Mutator<v1::Bot>& mutate) {
  const std::string& t = scope.tenant_id;
  return pool_->TransactIn(t, [&](pqxx::work& txn) -> absl::StatusOr<v1::Bot> {
    return Idempotent<v1::Bot>(txn, scope, [&]() -> absl::StatusOr<v1::Bot> {
      const pqxx::result rows = txn.exec_params(kLockBot, t, bot_id);
      if (rows.empty()) return absl::NotFoundError(absl::StrCat("bot \"", bot_id, "\" not found"));
      v1::Bot bot = BotFromRow(rows[0]);
      KEFU_RETURN_IF_ERROR(mutate(&bot));
      bot.set_bot_id(bot_id);
      KEFU_RETURN_IF_ERROR(CheckBotCategories(txn, t, bot));
      pqxx::result updated;
      ExecBot(txn, kUpdateBot, t, bot, NextRevision(txn, t), &updated);
      return BotFromRow(updated[0]);
    });
  });
}

absl::StatusOr<v1::Bot> PgKbStore::DeleteBot(const WriteScope& scope, const std::string& bot_id) {
  const std::string& t = scope.tenant_id;
  return pool_->TransactIn(t, [&](pqxx::work& txn) -> absl::StatusOr<v1::Bot> {
    return Idempotent<v1::Bot>(txn, scope, [&]() -> absl::StatusOr<v1::Bot> {
      if (txn.exec_params(kLockBot, t, bot_id).empty()) {
        return absl::NotFoundError(absl::StrCat("bot \"", bot_id, "\" not found"));
      }
      const pqxx::result rows = txn.exec_params(kDeleteBot, t, bot_id, NextRevision(txn, t));
      return BotFromRow(rows[0]);
    });
  });
}

absl::StatusOr<v1::Bot> PgKbStore::GetBot(const std::string& tenant_id, const std::string& bot_id) {
  return pool_->TransactIn(tenant_id, [&](pqxx::work& txn) -> absl::StatusOr<v1::Bot> {
    const pqxx::result rows = txn.exec_params(kGetBot, tenant_id, bot_id);
    if (rows.empty()) return absl::NotFoundError(absl::StrCat("bot \"", bot_id, "\" not found"));
    return BotFromRow(rows[0]);
  });
}

absl::StatusOr<Page<v1::Bot>> PgKbStore::ListBots(const std::string& tenant_id,
                                                  bool accept_transfer_only,
                                                  const std::string& after_id, int limit) {
  return pool_->TransactIn(tenant_id, [&](pqxx::work& txn) -> absl::StatusOr<Page<v1::Bot>> {
    Page<v1::Bot> page;
    for (const pqxx::row& row :
         txn.exec_params(kListBots, tenant_id, accept_transfer_only, after_id, limit + 1)) {
      page.items.push_back(BotFromRow(row));
    }
    page.more = static_cast<int>(page.items.size()) > limit;
    if (page.more) page.items.pop_back();
    return page;
  });
}

}  // namespace kefu::kb
