#pragma once

#include <memory>
#include <mutex>
#include <stop_token>
#include <string>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "kefu/events/v1/events.pb.h"
#include "libs/redis/client.h"
#include "services/kb/kb_cache.h"

// Keeps every replica's in-memory knowledge base warm (F40): reads the event streams of
// the tenants this replica has loaded and, on KnowledgeEntryChanged or BotChanged, has
// the cache catch up at once.
//
// Every replica must see every change, so this is a plain XREAD from where each stream
// stood when its tenant was loaded, not a consumer group: a group would share the
// entries among replicas, and a group per replica would replay each stream's whole
// history on every start and be left behind on Redis by every stopped replica. Nothing
// is lost when an event is missed (Redis down, a replica starting): KbCache::Read checks
// the revision in PostgreSQL on every Ask anyway.
namespace kefu::kb {

class ChangeWatcher {
 public:
  // `cache` may come later through Attach (the cache calls Watch, so each needs the other).
  ChangeWatcher(redis::RedisUrl url, redis::Pool* pool, KbCache* cache = nullptr)
      : url_(std::move(url)), pool_(pool), cache_(cache) {}
  void Attach(KbCache* cache) { cache_ = cache; }

  // Starts following the tenant's stream from its current end (KbCache's on_first_use).
  void Watch(const std::string& tenant_id);

  // The worker loop: returns when `stop` is requested.
  void Run(const std::stop_token& stop);

  // One event, as Run applies it (exposed for tests).
  void Handle(const kefu::events::v1::Event& event);

 private:
  absl::Status PollOnce();

  const redis::RedisUrl url_;
  redis::Pool* pool_;
  KbCache* cache_;
  std::unique_ptr<redis::Connection> conn_;  // Run's own: XREAD BLOCK holds it
  std::mutex mu_;
  absl::flat_hash_map<std::string, std::string> last_ids_;  // stream key -> last id; mu_
};

}  // namespace kefu::kb
