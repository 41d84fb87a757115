#pragma once

#include "kefu/crm/v1/record.grpc.pb.h"
#include "libs/auth/authorize.h"
#include "services/crm/customer_store.h"
#include "services/crm/event_consumer.h"
#include "services/crm/file_rules.h"
#include "services/crm/file_store.h"
#include "services/crm/record_store.h"

namespace kefu::crm {

// kefu.crm.v1.RecordService (F5, F32, F33, F51-F53): checks the caller and the input,
// maps proto to store calls and statuses to gRPC. Agents see only the dialogs they took
// part in and the contact plans they own; supervisors and admins see the whole tenant.
class RecordServiceImpl final : public v1::RecordService::Service {
 public:
  RecordServiceImpl(RecordStore* records, CustomerStore* customers, FileStore* files,
                    FileRules file_rules, const auth::Authenticator* authenticator,
                    PublishFn publish)
      : records_(records),
        customers_(customers),
        files_(files),
        file_rules_(std::move(file_rules)),
        auth_(authenticator),
        publish_(std::move(publish)) {}

  // RecordService::Service
  grpc::Status GetDialog(grpc::ServerContext* context, const v1::GetDialogRequest* request,
                         v1::GetDialogResponse* response) override;
  grpc::Status GetTranscript(grpc::ServerContext* context, const v1::GetTranscriptRequest* request,
                             v1::GetTranscriptResponse* response) override;
  grpc::Status SearchDialogs(grpc::ServerContext* context, const v1::SearchDialogsRequest* request,
                             v1::SearchDialogsResponse* response) override;
  grpc::Status CreateOfflineMessage(grpc::ServerContext* context,
                                    const v1::CreateOfflineMessageRequest* request,
                                    v1::CreateOfflineMessageResponse* response) override;
  grpc::Status GetOfflineMessage(grpc::ServerContext* context,
                                 const v1::GetOfflineMessageRequest* request,
                                 v1::GetOfflineMessageResponse* response) override;
  grpc::Status ListOfflineMessages(grpc::ServerContext* context,
                                   const v1::ListOfflineMessagesRequest* request,
                                   v1::ListOfflineMessagesResponse* response) override;
  grpc::Status ReplyOfflineMessage(grpc::ServerContext* context,
                                   const v1::ReplyOfflineMessageRequest* request,
                                   v1::ReplyOfflineMessageResponse* response) override;
  grpc::Status RateDialog(grpc::ServerContext* context, const v1::RateDialogRequest* request,
                          v1::RateDialogResponse* response) override;
  grpc::Status ListRatings(grpc::ServerContext* context, const v1::ListRatingsRequest* request,
                           v1::ListRatingsResponse* response) override;
  grpc::Status CreateContactPlan(grpc::ServerContext* context,
                                 const v1::CreateContactPlanRequest* request,
                                 v1::CreateContactPlanResponse* response) override;
  grpc::Status UpdateContactPlan(grpc::ServerContext* context,
                                 const v1::UpdateContactPlanRequest* request,
                                 v1::UpdateContactPlanResponse* response) override;
  grpc::Status DeleteContactPlan(grpc::ServerContext* context,
                                 const v1::DeleteContactPlanRequest* request,
                                 v1::DeleteContactPlanResponse* response) override;
  grpc::Status ListContactPlans(grpc::ServerContext* context,
                                const v1::ListContactPlansRequest* request,
                                v1::ListContactPlansResponse* response) override;
  grpc::Status GetVisitor(grpc::ServerContext* context, const v1::GetVisitorRequest* request,
                          v1::GetVisitorResponse* response) override;
  grpc::Status ListVisits(grpc::ServerContext* context, const v1::ListVisitsRequest* request,
                          v1::ListVisitsResponse* response) override;
  // Dialog files (F35): size within file_rules.max_bytes, declared type on the allow-list
  // and agreeing with the bytes (file_rules.h). Agents reach only files of their dialogs.
  grpc::Status UploadFile(grpc::ServerContext* context,
                          grpc::ServerReader<v1::UploadFileRequest>* reader,
                          v1::UploadFileResponse* response) override;
  grpc::Status DownloadFile(grpc::ServerContext* context, const v1::DownloadFileRequest* request,
                            grpc::ServerWriter<v1::DownloadFileResponse>* writer) override;

 private:
  // The dialog, if the caller may see it: agents only their own (PERMISSION_DENIED).
  absl::StatusOr<v1::Dialog> VisibleDialog(const auth::Claims& caller, const std::string& tenant,
                                           const std::string& dialog_id);
  // The plan, if the caller may change it: agents only the plans they own.
  absl::StatusOr<v1::ContactPlan> OwnedPlan(const auth::Claims& caller, const std::string& tenant,
                                            const std::string& contact_plan_id);

  RecordStore* records_;
  CustomerStore* customers_;
  FileStore* files_;
  const FileRules file_rules_;
  const auth::Authenticator* auth_;
  PublishFn publish_;
};

}  // namespace kefu::crm
