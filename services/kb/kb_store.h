#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "kefu/kb/v1/canned_phrase.pb.h"
#include "kefu/kb/v1/knowledge_admin.pb.h"

// What the kb service needs from storage (PostgreSQL in pg_kb_store.h). Mutations take a
// WriteScope: the tenant, and the idempotency record they are written with in the same
// transaction (docs/API.md "Idempotency"): a retry with the same key and request returns
// the first result and changes nothing; the same key with another request is
// INVALID_ARGUMENT. Categories, entries and bots carry the tenant-wide kb revision of
// their last change.
namespace kefu::kb {

struct WriteScope {
  std::string tenant_id;
  std::string caller;  // the token's subject
  std::string rpc;     // "CreateEntry"
  std::string idempotency_key;
  std::string request_hash;  // RequestFingerprint() of the request without its key
};

// Changes a stored object in place inside the store's transaction (mask + validation).
template <typename T>
using Mutator = std::function<absl::Status(T*)>;
// Decides on a stored object before it is deleted (e.g. PUBLIC phrases need admin).
template <typename T>
using Check = std::function<absl::Status(const T&)>;

struct EntryFilter {
  std::string category_id;
  v1::EntryStatus status = v1::ENTRY_STATUS_UNSPECIFIED;
  kefu::common::v1::Language language = kefu::common::v1::LANGUAGE_UNSPECIFIED;
};

template <typename T>
struct Page {
  std::vector<T> items;
  bool more = false;  // another page follows
};

// One changed row for the in-memory index.
template <typename T>
struct Changed {
  T value;
  bool deleted = false;
};

struct KbChanges {
  int64_t revision = 0;  // the tenant's revision the changes bring a reader to
  std::vector<Changed<v1::Category>> categories;
  std::vector<Changed<v1::Entry>> entries;
  std::vector<Changed<v1::Bot>> bots;
};

// An entry an import created, updated or deleted (for KnowledgeEntryChanged events).
struct EntryChange {
  std::string entry_id;
  std::string category_id;
  enum Kind { kCreated, kUpdated, kDeleted } kind = kCreated;
  int64_t revision = 0;
};

// The feed of the in-memory index (kb_cache.h).
class KbSource {
 public:
  virtual ~KbSource() = default;
  // The tenant's kb revision now (0 before its first change).
  virtual absl::StatusOr<int64_t> CurrentRevision(const std::string& tenant_id) = 0;
  // Rows changed after `revision`; from 0, deleted rows are left out.
  virtual absl::StatusOr<KbChanges> ChangesSince(const std::string& tenant_id,
                                                 int64_t revision) = 0;
};

class KbStore : public KbSource {
 public:
  // Categories (F40).
  virtual absl::StatusOr<v1::Category> CreateCategory(const WriteScope& scope,
                                                      const v1::Category& category) = 0;
  virtual absl::StatusOr<v1::Category> UpdateCategory(const WriteScope& scope,
                                                      const std::string& category_id,
                                                      const Mutator<v1::Category>& mutate) = 0;
  // FAILED_PRECONDITION while entries, child categories or bots use it.
  virtual absl::Status DeleteCategory(const WriteScope& scope, const std::string& category_id) = 0;
  // In (sort_order, category_id) order, after the key of the previous page's last one.
  virtual absl::StatusOr<Page<v1::Category>> ListCategories(const std::string& tenant_id,
                                                            const std::vector<std::string>& after,
                                                            int limit) = 0;

  // Entries (F40). category_id must name a category of the tenant.
  virtual absl::StatusOr<v1::Entry> CreateEntry(const WriteScope& scope,
                                                const v1::Entry& entry) = 0;
  // ABORTED when expected_revision is set and the entry has moved on.
  virtual absl::StatusOr<v1::Entry> UpdateEntry(const WriteScope& scope,
                                                const std::string& entry_id,
                                                int64_t expected_revision,
                                                const Mutator<v1::Entry>& mutate) = 0;
  // The entry as it was, with the revision of its deletion.
  virtual absl::StatusOr<v1::Entry> DeleteEntry(const WriteScope& scope,
                                                const std::string& entry_id) = 0;
  virtual absl::StatusOr<v1::Entry> GetEntry(const std::string& tenant_id,
                                             const std::string& entry_id) = 0;
  // In entry_id order, after `after_id`.
  virtual absl::StatusOr<Page<v1::Entry>> ListEntries(const std::string& tenant_id,
                                                      const EntryFilter& filter,
                                                      const std::string& after_id, int limit) = 0;
  // All or nothing; entries are valid already (validation.h). Fills `changes` unless the
  // call replays an earlier one.
  virtual absl::StatusOr<v1::ImportEntriesResponse> ImportEntries(
      const WriteScope& scope, const v1::ImportEntriesRequest& request,
      std::vector<EntryChange>* changes) = 0;
  // Entries with category names, in entry_id order after `after_id`.
  virtual absl::StatusOr<Page<v1::ImportEntry>> ExportEntries(const std::string& tenant_id,
                                                              const EntryFilter& filter,
                                                              const std::string& after_id,
                                                              int limit) = 0;

  // Bots (F41). category_ids must name categories of the tenant.
  virtual absl::StatusOr<v1::Bot> CreateBot(const WriteScope& scope, const v1::Bot& bot) = 0;
  virtual absl::StatusOr<v1::Bot> UpdateBot(const WriteScope& scope, const std::string& bot_id,
                                            const Mutator<v1::Bot>& mutate) = 0;
  virtual absl::StatusOr<v1::Bot> DeleteBot(const WriteScope& scope, const std::string& bot_id) = 0;
  virtual absl::StatusOr<v1::Bot> GetBot(const std::string& tenant_id,
                                         const std::string& bot_id) = 0;
  // In bot_id order after `after_id`.
  virtual absl::StatusOr<Page<v1::Bot>> ListBots(const std::string& tenant_id,
                                                 bool accept_transfer_only,
                                                 const std::string& after_id, int limit) = 0;
};

struct PhraseFilter {
  std::string owner_id;  // the caller: their PERSONAL ones plus PUBLIC ones
  v1::PhraseScope scope = v1::PHRASE_SCOPE_UNSPECIFIED;
  std::string category_id;
  std::string query;  // substring of title, text or shortcut, case-insensitive
  kefu::common::v1::Language language = kefu::common::v1::LANGUAGE_UNSPECIFIED;
};

// Canned phrases (F43). Reads see PUBLIC rows and the owner's PERSONAL ones; anyone
// else's PERSONAL rows are NOT_FOUND.
class PhraseStore {
 public:
  virtual ~PhraseStore() = default;
  virtual absl::StatusOr<v1::PhraseCategory> CreatePhraseCategory(
      const WriteScope& scope, const v1::PhraseCategory& category) = 0;
  // `owner_id`: the caller, who may read PUBLIC and their own PERSONAL categories.
  virtual absl::StatusOr<v1::PhraseCategory> GetPhraseCategory(const std::string& tenant_id,
                                                               const std::string& owner_id,
                                                               const std::string& category_id) = 0;
  virtual absl::StatusOr<v1::PhraseCategory> UpdatePhraseCategory(
      const WriteScope& scope, const std::string& owner_id, const std::string& category_id,
      const Mutator<v1::PhraseCategory>& mutate) = 0;
  // FAILED_PRECONDITION while phrases use it.
  virtual absl::Status DeletePhraseCategory(const WriteScope& scope, const std::string& owner_id,
                                            const std::string& category_id,
                                            const Check<v1::PhraseCategory>& allow) = 0;
  // In (scope, sort_order, category_id) order after `after`.
  virtual absl::StatusOr<Page<v1::PhraseCategory>> ListPhraseCategories(
      const std::string& tenant_id, const std::string& owner_id, v1::PhraseScope scope,
      const std::vector<std::string>& after, int limit) = 0;

  virtual absl::StatusOr<v1::Phrase> CreatePhrase(const WriteScope& scope,
                                                  const v1::Phrase& phrase) = 0;
  virtual absl::StatusOr<v1::Phrase> GetPhrase(const std::string& tenant_id,
                                               const std::string& owner_id,
                                               const std::string& phrase_id) = 0;
  virtual absl::StatusOr<v1::Phrase> UpdatePhrase(const WriteScope& scope,
                                                  const std::string& owner_id,
                                                  const std::string& phrase_id,
                                                  const Mutator<v1::Phrase>& mutate) = 0;
  virtual absl::Status DeletePhrase(const WriteScope& scope, const std::string& owner_id,
                                    const std::string& phrase_id,
                                    const Check<v1::Phrase>& allow) = 0;
  // In (scope, sort_order, phrase_id) order after `after`.
  virtual absl::StatusOr<Page<v1::Phrase>> ListPhrases(const std::string& tenant_id,
                                                       const PhraseFilter& filter,
                                                       const std::vector<std::string>& after,
                                                       int limit) = 0;
};

}  // namespace kefu::kb
