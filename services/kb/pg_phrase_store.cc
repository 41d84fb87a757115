#include "services/kb/pg_phrase_store.h"

#include <google/protobuf/empty.pb.h>

#include <limits>

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

#define KB_PHRASE_CATEGORY_COLUMNS "category_id, scope, owner_id, name, sort_order"
#define KB_PHRASE_COLUMNS                                                                 \
  "phrase_id, scope, owner_id, category_id, title, body, shortcut, language, sort_order," \
  " (extract(epoch from update_time) * 1000000)::bigint"
// Rows a caller may see: the tenant's PUBLIC ones and their own PERSONAL ones.
#define KB_VISIBLE_TO_3 " AND (scope = 2 OR owner_id = $3)"

constexpr char kInsertCategory[] =
    "INSERT INTO kb.phrase_categories (tenant_id, category_id, scope, owner_id, name, sort_order)"
    " VALUES ($1, $2, $3, $4, $5, $6) RETURNING " KB_PHRASE_CATEGORY_COLUMNS;
constexpr char kGetCategory[] = "SELECT " KB_PHRASE_CATEGORY_COLUMNS
                                " FROM kb.phrase_categories WHERE tenant_id = $1"
                                " AND category_id = $2" KB_VISIBLE_TO_3;
constexpr char kLockCategory[] = "SELECT " KB_PHRASE_CATEGORY_COLUMNS
                                 " FROM kb.phrase_categories WHERE tenant_id = $1"
                                 " AND category_id = $2" KB_VISIBLE_TO_3 " FOR UPDATE";
constexpr char kUpdateCategory[] =
    "UPDATE kb.phrase_categories SET name = $3, sort_order = $4, update_time = now()"
    " WHERE tenant_id = $1 AND category_id = $2 RETURNING " KB_PHRASE_CATEGORY_COLUMNS;
constexpr char kCategoryPhraseCount[] =
    "SELECT count(*) FROM kb.phrases WHERE tenant_id = $1 AND category_id = $2";
constexpr char kDeleteCategory[] =
    "DELETE FROM kb.phrase_categories WHERE tenant_id = $1 AND category_id = $2";
constexpr char kListCategories[] =
    "SELECT " KB_PHRASE_CATEGORY_COLUMNS
    " FROM kb.phrase_categories WHERE tenant_id = $1" KB_VISIBLE_TO_3
    " AND ($2 = 0 OR scope = $2) AND (scope, sort_order, category_id) > ($4, $5, $6)"
    " ORDER BY scope, sort_order, category_id LIMIT $7";

constexpr char kInsertPhrase[] =
    "INSERT INTO kb.phrases (tenant_id, phrase_id, scope, owner_id, category_id, title, body,"
    " shortcut, language, sort_order) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
    " RETURNING " KB_PHRASE_COLUMNS;
constexpr char kGetPhrase[] =
    "SELECT " KB_PHRASE_COLUMNS
    " FROM kb.phrases WHERE tenant_id = $1 AND phrase_id = $2" KB_VISIBLE_TO_3;
constexpr char kLockPhrase[] =
    "SELECT " KB_PHRASE_COLUMNS
    " FROM kb.phrases WHERE tenant_id = $1 AND phrase_id = $2" KB_VISIBLE_TO_3 " FOR UPDATE";
constexpr char kUpdatePhrase[] =
    "UPDATE kb.phrases SET category_id = $3, title = $4, body = $5, shortcut = $6, language = $7,"
    " sort_order = $8, update_time = now() WHERE tenant_id = $1 AND phrase_id = $2"
    " RETURNING " KB_PHRASE_COLUMNS;
constexpr char kDeletePhrase[] = "DELETE FROM kb.phrases WHERE tenant_id = $1 AND phrase_id = $2";
constexpr char kShortcutTaken[] =
    "SELECT phrase_id FROM kb.phrases WHERE tenant_id = $1 AND scope = $2 AND owner_id = $3"
    " AND shortcut = $4 AND phrase_id <> $5";
constexpr char kListPhrases[] =
    "SELECT " KB_PHRASE_COLUMNS " FROM kb.phrases WHERE tenant_id = $1" KB_VISIBLE_TO_3
    " AND ($2 = 0 OR scope = $2) AND ($4 = '' OR category_id = $4)"
    " AND ($5 = 0 OR language = $5 OR language = 0)"
    " AND ($6 = '' OR title ILIKE $6 OR body ILIKE $6 OR shortcut ILIKE $6)"
    " AND (scope, sort_order, phrase_id) > ($7, $8, $9)"
    " ORDER BY scope, sort_order, phrase_id LIMIT $10";

v1::PhraseCategory CategoryFromRow(const pqxx::row& row) {
  v1::PhraseCategory c;
  c.set_category_id(row[0].as<std::string>());
  c.set_scope(static_cast<v1::PhraseScope>(row[1].as<int>()));
  c.set_owner_id(row[2].as<std::string>());
  c.set_name(row[3].as<std::string>());
  c.set_sort_order(row[4].as<int>());
  return c;
}

v1::Phrase PhraseFromRow(const pqxx::row& row) {
  v1::Phrase p;
  p.set_phrase_id(row[0].as<std::string>());
  p.set_scope(static_cast<v1::PhraseScope>(row[1].as<int>()));
  p.set_owner_id(row[2].as<std::string>());
  p.set_category_id(row[3].as<std::string>());
  p.set_title(row[4].as<std::string>());
  p.set_text(row[5].as<std::string>());
  p.set_shortcut(row[6].as<std::string>());
  p.set_language(static_cast<kefu::common::v1::Language>(row[7].as<int>()));
  p.set_sort_order(row[8].as<int>());
  *p.mutable_update_time() = FromMicros(row[9]);
  return p;
}

absl::Status NotFound(absl::string_view what, const std::string& id) {
  return absl::NotFoundError(absl::StrCat(what, " \"", id, "\" not found"));
}

// A phrase's category has its scope and, for PERSONAL ones, its owner.
absl::Status CheckPhraseCategory(pqxx::work& txn, const std::string& tenant,
                                 const v1::Phrase& phrase) {
  if (phrase.category_id().empty()) return absl::OkStatus();
  const pqxx::result rows =
      txn.exec_params(kGetCategory, tenant, phrase.category_id(), phrase.owner_id());
  if (rows.empty()) {
    return InvalidField("phrase.category_id",
                        absl::StrCat("unknown category \"", phrase.category_id(), "\""));
  }
  const v1::PhraseCategory category = CategoryFromRow(rows[0]);
  if (category.scope() != phrase.scope() || category.owner_id() != phrase.owner_id()) {
    return InvalidField("phrase.category_id", "a phrase's category must have the phrase's scope");
  }
  return absl::OkStatus();
}

absl::Status CheckShortcut(pqxx::work& txn, const std::string& tenant, const v1::Phrase& phrase) {
  if (phrase.shortcut().empty()) return absl::OkStatus();
  if (!txn.exec_params(kShortcutTaken, tenant, static_cast<int>(phrase.scope()), phrase.owner_id(),
                       phrase.shortcut(), phrase.phrase_id())
           .empty()) {
    return absl::AlreadyExistsError(
        absl::StrCat("phrase.shortcut: \"", phrase.shortcut(), "\" is taken"));
  }
  return absl::OkStatus();
}

std::string LikePattern(const std::string& query) {
  if (query.empty()) return "";
  std::string out = "%";
  for (char c : query) {
    if (c == '%' || c == '_' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('%');
  return out;
}

}  // namespace

absl::StatusOr<v1::PhraseCategory> PgPhraseStore::CreatePhraseCategory(
    const WriteScope& scope, const v1::PhraseCategory& category) {
  const std::string& t = scope.tenant_id;
  return pool_->TransactIn(t, [&](pqxx::work& txn) -> absl::StatusOr<v1::PhraseCategory> {
    return Idempotent<v1::PhraseCategory>(txn, scope, [&]() -> absl::StatusOr<v1::PhraseCategory> {
      const pqxx::result rows =
          txn.exec_params(kInsertCategory, t, NewId(), static_cast<int>(category.scope()),
                          category.owner_id(), category.name(), category.sort_order());
      return CategoryFromRow(rows[0]);
    });
  });
}

absl::StatusOr<v1::PhraseCategory> PgPhraseStore::GetPhraseCategory(
    const std::string& tenant_id, const std::string& owner_id, const std::string& category_id) {
  return pool_->TransactIn(tenant_id, [&](pqxx::work& txn) -> absl::StatusOr<v1::PhraseCategory> {
    const pqxx::result rows = txn.exec_params(kGetCategory, tenant_id, category_id, owner_id);
    if (rows.empty()) return NotFound("phrase category", category_id);
    return CategoryFromRow(rows[0]);
  });
}

absl::StatusOr<v1::PhraseCategory> PgPhraseStore::UpdatePhraseCategory(
    const WriteScope& scope, const std::string& owner_id, const std::string& category_id,
    const Mutator<v1::PhraseCategory>& mutate) {
  const std::string& t = scope.tenant_id;
  return pool_->TransactIn(t, [&](pqxx::work& txn) -> absl::StatusOr<v1::PhraseCategory> {
    return Idempotent<v1::PhraseCategory>(txn, scope, [&]() -> absl::StatusOr<v1::PhraseCategory> {
      const pqxx::result rows = txn.exec_params(kLockCategory, t, category_id, owner_id);
      if (rows.empty()) return NotFound("phrase category", category_id);
      v1::PhraseCategory category = CategoryFromRow(rows[0]);
      KEFU_RETURN_IF_ERROR(mutate(&category));
      const pqxx::result updated =
          txn.exec_params(kUpdateCategory, t, category_id, category.name(), category.sort_order());
      return CategoryFromRow(updated[0]);
    });
  });
}

absl::Status PgPhraseStore::DeletePhraseCategory(const WriteScope& scope,
                                                 const std::string& owner_id,
                                                 const std::string& category_id,
                                                 const Check<v1::PhraseCategory>& allow) {
  const std::string& t = scope.tenant_id;
  return pool_
      ->TransactIn(t,
                   [&](pqxx::work& txn) -> absl::StatusOr<google::protobuf::Empty> {
                     return Idempotent<google::protobuf::Empty>(
                         txn, scope, [&]() -> absl::StatusOr<google::protobuf::Empty> {
                           const pqxx::result rows =
                               txn.exec_params(kLockCategory, t, category_id, owner_id);
                           if (rows.empty()) return NotFound("phrase category", category_id);
                           KEFU_RETURN_IF_ERROR(allow(CategoryFromRow(rows[0])));
                           const auto count = txn.exec_params(kCategoryPhraseCount, t, category_id);
                           if (count[0][0].as<int64_t>() > 0) {
                             return absl::FailedPreconditionError(absl::StrCat(
                                 "phrase category \"", category_id, "\" has ",
                                 count[0][0].as<int64_t>(), " phrases; move or delete them first"));
                           }
                           txn.exec_params(kDeleteCategory, t, category_id);
                           return google::protobuf::Empty();
                         });
                   })
      .status();
}

absl::StatusOr<Page<v1::PhraseCategory>> PgPhraseStore::ListPhraseCategories(
    const std::string& tenant_id, const std::string& owner_id, v1::PhraseScope scope,
    const std::vector<std::string>& after, int limit) {
  return pool_->TransactIn(
      tenant_id, [&](pqxx::work& txn) -> absl::StatusOr<Page<v1::PhraseCategory>> {
        int scope_after = -1;
        int sort_after = std::numeric_limits<int>::min();
        std::string id_after;
        if (after.size() == 3) {
          if (!absl::SimpleAtoi(after[0], &scope_after) ||
              !absl::SimpleAtoi(after[1], &sort_after)) {
            return InvalidField("page_token", "not a token this API issued");
          }
          id_after = after[2];
        }
        Page<v1::PhraseCategory> page;
        for (const pqxx::row& row :
             txn.exec_params(kListCategories, tenant_id, static_cast<int>(scope), owner_id,
                             scope_after, sort_after, id_after, limit + 1)) {
          page.items.push_back(CategoryFromRow(row));
        }
        page.more = static_cast<int>(page.items.size()) > limit;
        if (page.more) page.items.pop_back();
        return page;
      });
}

absl::StatusOr<v1::Phrase> PgPhraseStore::CreatePhrase(const WriteScope& scope,
                                                       const v1::Phrase& phrase) {
  const std::string& t = scope.tenant_id;
  return pool_->TransactIn(t, [&](pqxx::work& txn) -> absl::StatusOr<v1::Phrase> {
    return Idempotent<v1::Phrase>(txn, scope, [&]() -> absl::StatusOr<v1::Phrase> {
      KEFU_RETURN_IF_ERROR(CheckPhraseCategory(txn, t, phrase));
      KEFU_RETURN_IF_ERROR(CheckShortcut(txn, t, phrase));
      const pqxx::result rows = txn.exec_params(
          kInsertPhrase, t, NewId(), static_cast<int>(phrase.scope()), phrase.owner_id(),
          phrase.category_id(), phrase.title(), phrase.text(), phrase.shortcut(),
          static_cast<int>(phrase.language()), phrase.sort_order());
      return PhraseFromRow(rows[0]);
    });
  });
}

absl::StatusOr<v1::Phrase> PgPhraseStore::GetPhrase(const std::string& tenant_id,
                                                    const std::string& owner_id,
                                                    const std::string& phrase_id) {
  return pool_->TransactIn(tenant_id, [&](pqxx::work& txn) -> absl::StatusOr<v1::Phrase> {
    const pqxx::result rows = txn.exec_params(kGetPhrase, tenant_id, phrase_id, owner_id);
    if (rows.empty()) return NotFound("phrase", phrase_id);
    return PhraseFromRow(rows[0]);
  });
}

absl::StatusOr<v1::Phrase> PgPhraseStore::UpdatePhrase(const WriteScope& scope,
                                                       const std::string& owner_id,
                                                       const std::string& phrase_id,
                                                       const Mutator<v1::Phrase>& mutate) {
  const std::string& t = scope.tenant_id;
  return pool_->TransactIn(t, [&](pqxx::work& txn) -> absl::StatusOr<v1::Phrase> {
    return Idempotent<v1::Phrase>(txn, scope, [&]() -> absl::StatusOr<v1::Phrase> {
      const pqxx::result rows = txn.exec_params(kLockPhrase, t, phrase_id, owner_id);
      if (rows.empty()) return NotFound("phrase", phrase_id);
      v1::Phrase phrase = PhraseFromRow(rows[0]);
      const v1::Phrase before = phrase;
      KEFU_RETURN_IF_ERROR(mutate(&phrase));
      if (phrase.category_id() != before.category_id()) {
        KEFU_RETURN_IF_ERROR(CheckPhraseCategory(txn, t, phrase));
      }
      if (phrase.shortcut() != before.shortcut())
        KEFU_RETURN_IF_ERROR(CheckShortcut(txn, t, phrase));
      const pqxx::result updated = txn.exec_params(
          kUpdatePhrase, t, phrase_id, phrase.category_id(), phrase.title(), phrase.text(),
          phrase.shortcut(), static_cast<int>(phrase.language()), phrase.sort_order());
      return PhraseFromRow(updated[0]);
    });
  });
}

absl::Status PgPhraseStore::DeletePhrase(const WriteScope& scope, const std::string& owner_id,
                                         const std::string& phrase_id,
                                         const Check<v1::Phrase>& allow) {
  const std::string& t = scope.tenant_id;
  return pool_
      ->TransactIn(t,
                   [&](pqxx::work& txn) -> absl::StatusOr<google::protobuf::Empty> {
                     return Idempotent<google::protobuf::Empty>(
                         txn, scope, [&]() -> absl::StatusOr<google::protobuf::Empty> {
                           const pqxx::result rows =
                               txn.exec_params(kLockPhrase, t, phrase_id, owner_id);
                           if (rows.empty()) return NotFound("phrase", phrase_id);
                           KEFU_RETURN_IF_ERROR(allow(PhraseFromRow(rows[0])));
                           txn.exec_params(kDeletePhrase, t, phrase_id);
                           return google::protobuf::Empty();
                         });
                   })
      .status();
}

absl::StatusOr<Page<v1::Phrase>> PgPhraseStore::ListPhrases(const std::string& tenant_id,
                                                            const PhraseFilter& filter,
                                                            const std::vector<std::string>& after,
                                                            int limit) {
  return pool_->TransactIn(tenant_id, [&](pqxx::work& txn) -> absl::StatusOr<Page<v1::Phrase>> {
    int scope_after = -1;
    int sort_after = std::numeric_limits<int>::min();
    std::string id_after;
    if (after.size() == 3) {
      if (!absl::SimpleAtoi(after[0], &scope_after) || !absl::SimpleAtoi(after[1], &sort_after)) {
        return InvalidField("page_token", "not a token this API issued");
      }
      id_after = after[2];
    }
    Page<v1::Phrase> page;
    for (const pqxx::row& row :
         txn.exec_params(kListPhrases, tenant_id, static_cast<int>(filter.scope), filter.owner_id,
                         filter.category_id, static_cast<int>(filter.language),
                         LikePattern(filter.query), scope_after, sort_after, id_after, limit + 1)) {
      page.items.push_back(PhraseFromRow(row));
    }
    page.more = static_cast<int>(page.items.size()) > limit;
    if (page.more) page.items.pop_back();
    return page;
  });
}

}  // namespace kefu::kb
