// File transfer inside a dialog (F35). The gateway checks the caller and the dialog and
// relays the bytes to crm, which checks size and type and stores the file durably; the file
// then goes into the dialog as a message (PostMessage), so the other side sees it on its
// Updates stream and crm's transcript gets it from MessageSent like any text.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "libs/common/status.h"
#include "libs/common/status_macros.h"
#include "services/gateway/gateway_service.h"

namespace kefu::gateway {
namespace {

namespace cv1 = kefu::common::v1;
namespace crm = kefu::crm::v1;
using cv1::ROLE_ADMIN;
using cv1::ROLE_AGENT;
using cv1::ROLE_SUPERVISOR;

// What one gRPC message of an upload may carry (the protos say 64 KiB).
constexpr size_t kMaxChunkBytes = 64 * 1024;
constexpr size_t kMaxFileNameBytes = 255 * 4;
// A whole file goes through within this (crm's limit is 20 MiB by default).
constexpr absl::Duration kFileDeadline = absl::Seconds(120);

// crm's answer to a relayed upload or download. Its complaints about the caller's input
// (the fields are the same as the gateway's) pass unchanged; the rest names crm.
absl::Status FromCrm(const grpc::Status& s) {
  if (s.error_code() == grpc::StatusCode::INVALID_ARGUMENT ||
      s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED ||
      s.error_code() == grpc::StatusCode::NOT_FOUND) {
    return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
  }
  return FromGrpc(s, "crm");
}

absl::Status CheckMetadata(Gateway& gw, const std::string& tenant, const v1::UploadMetadata& m) {
  if (m.file_name().empty()) return InvalidField("file_name", "required");
  if (m.file_name().size() > kMaxFileNameBytes) {
    return InvalidField("file_name", "at most 255 characters");
  }
  if (m.content_type().empty()) return InvalidField("content_type", "required");
  if (m.content_type().size() > 128) return InvalidField("content_type", "at most 128 characters");
  if (m.size_bytes() <= 0) return InvalidField("size_bytes", "must be positive");
  if (m.idempotency_key().size() > 128) {
    return InvalidField("idempotency_key", "at most 128 characters");
  }
  const int64_t limit = gw.MaxFileBytes(tenant);
  if (m.size_bytes() > limit) {
    return absl::ResourceExhaustedError(absl::StrCat("size_bytes: ", m.size_bytes(),
                                                     " bytes is more than the largest file "
                                                     "accepted in a dialog, ",
                                                     limit, " bytes"));
  }
  return absl::OkStatus();
}

// Streams the rest of `reader` (chunks only) to crm as the file `meta` of contact `c`'s
// dialog, then posts it into the dialog as `sender`'s message.
template <typename Request>
absl::StatusOr<cv1::Message> RelayUpload(Gateway& gw, const Contact& c,
                                         const cv1::Participant& sender,
                                         const v1::UploadMetadata& meta,
                                         grpc::ServerReader<Request>* reader) {
  KEFU_RETURN_IF_ERROR(CheckMetadata(gw, c.tenant_id, meta));
  if (c.ended()) {
    return absl::FailedPreconditionError(
        absl::StrCat("the dialog ", c.dialog_id, " has ended; no more files"));
  }
  crm::UploadFileRequest first;
  auto* m = first.mutable_metadata();
  m->set_tenant_id(c.tenant_id);
  m->set_dialog_id(c.dialog_id);
  m->set_file_name(meta.file_name());
  m->set_content_type(meta.content_type());
  m->set_size_bytes(meta.size_bytes());
  *m->mutable_uploader() = sender;
  // Scoped to the contact, as message idempotency keys are.
  if (!meta.idempotency_key().empty()) {
    m->set_idempotency_key(absl::StrCat("file:", c.contact_id, ":", meta.idempotency_key()));
  }

  auto ctx = gw.peers().Context(kFileDeadline);
  crm::UploadFileResponse stored;
  auto writer = gw.peers().records().UploadFile(ctx.get(), &stored);
  // Stops crm's side of the call when the caller's input is at fault.
  auto abandon = [&](absl::Status why) {
    ctx->TryCancel();
    (void)writer->Finish();
    return why;
  };
  bool open = writer->Write(first);
  int64_t received = 0;
  Request part;
  while (open && reader->Read(&part)) {
    if (!part.has_chunk()) {
      return abandon(
          InvalidField("metadata", "only the first message of an upload is the metadata"));
    }
    if (part.chunk().size() > kMaxChunkBytes) {
      return abandon(InvalidField("chunk", absl::StrCat("at most ", kMaxChunkBytes, " bytes")));
    }
    received += static_cast<int64_t>(part.chunk().size());
    if (received > meta.size_bytes()) {
      return abandon(InvalidField(
          "size_bytes",
          absl::StrCat("the upload has more than the declared ", meta.size_bytes(), " bytes")));
    }
    crm::UploadFileRequest chunk;
    chunk.set_chunk(std::move(*part.mutable_chunk()));
    open = writer->Write(chunk);  // false: crm ended the call; Finish says why
  }
  if (open) writer->WritesDone();
  KEFU_RETURN_IF_ERROR(FromCrm(writer->Finish()));
  return gw.PostMessage(c.tenant_id, c.contact_id, sender, "", meta.idempotency_key(),
                        &stored.file());
}

// Relays crm's download of `file_id` in `dialog_id` to the caller, `Response` by `Response`.
template <typename Response>
absl::Status RelayDownload(Gateway& gw, const std::string& tenant, const std::string& dialog_id,
                           const std::string& file_id, grpc::ServerWriter<Response>* writer) {
  if (file_id.empty()) return InvalidField("file_id", "required");
  if (file_id.size() > 128) return InvalidField("file_id", "at most 128 characters");
  crm::DownloadFileRequest request;
  request.set_tenant_id(tenant);
  request.set_dialog_id(dialog_id);
  request.set_file_id(file_id);
  auto ctx = gw.peers().Context(kFileDeadline);
  auto reader = gw.peers().records().DownloadFile(ctx.get(), request);
  crm::DownloadFileResponse part;
  Response out;
  while (reader->Read(&part)) {
    out.Clear();
    if (part.has_metadata()) {
      *out.mutable_metadata() = part.metadata();
    } else {
      out.set_chunk(std::move(*part.mutable_chunk()));
    }
    if (!writer->Write(out)) {
      ctx->TryCancel();
      (void)reader->Finish();
      return absl::CancelledError("the caller went away");
    }
  }
  return FromCrm(reader->Finish());
}

cv1::Participant CustomerOf(const Contact& c) {
  cv1::Participant me;
  me.set_type(cv1::PARTICIPANT_TYPE_CUSTOMER);
  me.set_id(c.customer_id);
  me.set_display_name(c.customer_name);
  return me;
}

// Whether `agent` serves the contact now or served it before a transfer.
bool TookPart(const Contact& c, const std::string& agent) {
  if (c.agent_id == agent) return true;
  kefu::events::v1::DialogEnded closed;
  if (!closed.ParseFromString(c.segments)) return false;
  return std::any_of(closed.segments().begin(), closed.segments().end(),
                     [&](const auto& segment) { return segment.agent_id() == agent; });
}

}  // namespace

grpc::Status CustomerGatewayServiceImpl::UploadFile(
    grpc::ServerContext* context,
    grpc::ServerReader<v1::CustomerGatewayServiceUploadFileRequest>* reader,
    v1::CustomerGatewayServiceUploadFileResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, RequireCustomer(*authn_, *context));
    v1::CustomerGatewayServiceUploadFileRequest first;
    if (!reader->Read(&first) || !first.has_metadata()) {
      return InvalidField("metadata", "the first message of an upload must be the metadata");
    }
    // The customer token is bound to its contact: the file goes into that dialog.
    KEFU_ASSIGN_OR_RETURN(Contact c, gateway_->store().Get(caller.tenant_id, caller.contact_id));
    KEFU_ASSIGN_OR_RETURN(*response->mutable_message(),
                          RelayUpload(*gateway_, c, CustomerOf(c), first.metadata(), reader));
    return absl::OkStatus();
  });
}

grpc::Status CustomerGatewayServiceImpl::DownloadFile(
    grpc::ServerContext* context, const v1::CustomerGatewayServiceDownloadFileRequest* request,
    grpc::ServerWriter<v1::CustomerGatewayServiceDownloadFileResponse>* writer) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller, RequireCustomer(*authn_, *context));
    KEFU_ASSIGN_OR_RETURN(Contact c, gateway_->store().Get(caller.tenant_id, caller.contact_id));
    // Only files of the customer's own dialog: crm answers NOT_FOUND for any other.
    return RelayDownload(*gateway_, caller.tenant_id, c.dialog_id, request->file_id(), writer);
  });
}

grpc::Status AgentGatewayServiceImpl::UploadFile(
    grpc::ServerContext* context,
    grpc::ServerReader<v1::AgentGatewayServiceUploadFileRequest>* reader,
    v1::AgentGatewayServiceUploadFileResponse* response) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller,
                          authn_->Require(*context, {ROLE_AGENT, ROLE_SUPERVISOR}));
    v1::AgentGatewayServiceUploadFileRequest first;
    if (!reader->Read(&first) || !first.has_metadata()) {
      return InvalidField("metadata", "the first message of an upload must be the metadata");
    }
    // Like Send: only the agent serving the dialog writes into it.
    KEFU_ASSIGN_OR_RETURN(Contact c, ServedContact(caller, first.metadata().dialog_id()));
    cv1::Participant me;
    me.set_type(cv1::PARTICIPANT_TYPE_AGENT);
    me.set_id(caller.subject);
    me.set_display_name(gateway_->AgentSummaryOf(caller.tenant_id, caller.subject).nickname());
    KEFU_ASSIGN_OR_RETURN(*response->mutable_message(),
                          RelayUpload(*gateway_, c, me, first.metadata().file(), reader));
    return absl::OkStatus();
  });
}

grpc::Status AgentGatewayServiceImpl::DownloadFile(
    grpc::ServerContext* context, const v1::AgentGatewayServiceDownloadFileRequest* request,
    grpc::ServerWriter<v1::AgentGatewayServiceDownloadFileResponse>* writer) {
  return HandleRpc([&]() -> absl::Status {
    KEFU_ASSIGN_OR_RETURN(auth::Claims caller,
                          authn_->Require(*context, {ROLE_AGENT, ROLE_SUPERVISOR, ROLE_ADMIN}));
    const std::string& dialog_id = request->dialog_id();
    if (dialog_id.empty()) return InvalidField("dialog_id", "required");
    if (dialog_id.size() > 64) return InvalidField("dialog_id", "at most 64 characters");
    // Supervisors and admins read any dialog of their tenant (F36); an agent only the
    // dialogs it serves or served before a transfer.
    if (caller.role == ROLE_AGENT) {
      KEFU_ASSIGN_OR_RETURN(std::string contact_id,
                            gateway_->store().ContactOfDialog(caller.tenant_id, dialog_id));
      KEFU_ASSIGN_OR_RETURN(Contact c, gateway_->store().Get(caller.tenant_id, contact_id));
      if (!TookPart(c, caller.subject)) {
        return absl::PermissionDeniedError(
            absl::StrCat("dialog_id: you did not take part in dialog ", dialog_id));
      }
    }
    return RelayDownload(*gateway_, caller.tenant_id, dialog_id, request->file_id(), writer);
  });
}

}  // namespace kefu::gateway
