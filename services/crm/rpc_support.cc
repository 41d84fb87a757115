#include "services/crm/rpc_support.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include "absl/strings/str_cat.h"
#include "libs/common/status.h"
#include "services/crm/pg_support.h"
#include "services/crm/validation.h"

namespace kefu::crm::rpc {

absl::StatusOr<std::string> TokenTenant(const auth::Claims& caller, absl::string_view rpc) {
  if (caller.platform()) {
    return absl::PermissionDeniedError(
        absl::StrCat(rpc,
                     " acts in the tenant of the caller's token; a platform service token "
                     "has none (use a token of the tenant)"));
  }
  return caller.tenant_id;
}

Idempotency IdempotencyOf(const auth::Claims& caller, absl::string_view rpc, const std::string& key,
                          const google::protobuf::Message& request) {
  Idempotency idem;
  idem.caller = caller.subject;
  idem.rpc = std::string(rpc);
  idem.key = key;
  if (!key.empty()) {
    google::protobuf::io::StringOutputStream stream(&idem.request);
    google::protobuf::io::CodedOutputStream coded(&stream);
    coded.SetSerializationDeterministic(true);
    request.SerializeToCodedStream(&coded);
  }
  return idem;
}

absl::StatusOr<TimeWindow> WindowOf(absl::string_view field,
                                    const kefu::common::v1::TimeRange& range) {
  TimeWindow window;
  if (range.has_start_time()) {
    window.from = absl::FromUnixMicros(pgsupport::Micros(range.start_time()));
  }
  if (range.has_end_time()) {
    window.to = absl::FromUnixMicros(pgsupport::Micros(range.end_time()));
  }
  if (range.has_start_time() && range.has_end_time() && window.to <= window.from) {
    return InvalidField(absl::StrCat(field, ".end_time"), "must be after start_time");
  }
  return window;
}

absl::Status CheckIds(absl::string_view field,
                      const google::protobuf::RepeatedPtrField<std::string>& ids, int max) {
  if (ids.size() > max) return InvalidField(field, absl::StrCat("at most ", max, " ids"));
  for (int i = 0; i < ids.size(); ++i) {
    if (auto st = CheckId(absl::StrCat(field, "[", i, "]"), ids.Get(i)); !st.ok()) return st;
  }
  return absl::OkStatus();
}

std::vector<std::string> PathsOf(const google::protobuf::FieldMask& mask) {
  return {mask.paths().begin(), mask.paths().end()};
}

void PublishAll(const PublishFn& publish, const auth::Claims& caller,
                std::vector<kefu::events::v1::Event> events) {
  if (!publish) return;
  for (auto& event : events) {
    event.mutable_actor()->set_role(caller.role);
    event.mutable_actor()->set_subject(caller.subject);
    publish(std::move(event));
  }
}

}  // namespace kefu::crm::rpc
