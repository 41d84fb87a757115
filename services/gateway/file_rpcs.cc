// File transfer inside a dialog (F35): the gateway checks the caller and the dialog, crm
// stores the file durably. Being written; until then these answer UNIMPLEMENTED.
#include "services/gateway/gateway_service.h"

namespace kefu::gateway {

grpc::Status CustomerGatewayServiceImpl::UploadFile(
    grpc::ServerContext*, grpc::ServerReader<v1::CustomerGatewayServiceUploadFileRequest>*,
    v1::CustomerGatewayServiceUploadFileResponse*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "file transfer is not built yet (F35)");
}

grpc::Status CustomerGatewayServiceImpl::DownloadFile(
    grpc::ServerContext*, const v1::CustomerGatewayServiceDownloadFileRequest*,
    grpc::ServerWriter<v1::CustomerGatewayServiceDownloadFileResponse>*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "file transfer is not built yet (F35)");
}

grpc::Status AgentGatewayServiceImpl::UploadFile(
    grpc::ServerContext*, grpc::ServerReader<v1::AgentGatewayServiceUploadFileRequest>*,
    v1::AgentGatewayServiceUploadFileResponse*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "file transfer is not built yet (F35)");
}

grpc::Status AgentGatewayServiceImpl::DownloadFile(
    grpc::ServerContext*, const v1::AgentGatewayServiceDownloadFileRequest*,
    grpc::ServerWriter<v1::AgentGatewayServiceDownloadFileResponse>*) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "file transfer is not built yet (F35)");
}

}  // namespace kefu::gateway
