#pragma once

#include <google/protobuf/field_mask.pb.h>
#include <google/protobuf/message.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "kefu/common/v1/common.pb.h"
#include "kefu/events/v1/events.pb.h"
#include "libs/auth/token.h"
#include "services/crm/customer_store.h"
#include "services/crm/event_consumer.h"
#include "services/crm/record_store.h"

// What the crm gRPC adapters share: tenant of a caller, idempotency scope, filters.
namespace kefu::crm::rpc {

// The tenant of an RPC whose request has no tenant_id: the caller's token's. A platform
// service token (no tenant) may only call the RPCs that name a tenant.
absl::StatusOr<std::string> TokenTenant(const auth::Claims& caller, absl::string_view rpc);

// Idempotency scope of a request (docs/API.md): its deterministic bytes are kept to tell
// a retry from a different request under the same key.
Idempotency IdempotencyOf(const auth::Claims& caller, absl::string_view rpc, const std::string& key,
                          const google::protobuf::Message& request);

// [start_time, end_time) of a TimeRange; INVALID_ARGUMENT when end is not after start.
absl::StatusOr<TimeWindow> WindowOf(absl::string_view field,
                                    const kefu::common::v1::TimeRange& range);

// Each id valid (CheckId), at most `max` of them.
absl::Status CheckIds(absl::string_view field,
                      const google::protobuf::RepeatedPtrField<std::string>& ids, int max = 100);

std::vector<std::string> PathsOf(const google::protobuf::FieldMask& mask);

// Publishes `events` with the caller as actor.
void PublishAll(const PublishFn& publish, const auth::Claims& caller,
                std::vector<kefu::events::v1::Event> events);

}  // namespace kefu::crm::rpc
