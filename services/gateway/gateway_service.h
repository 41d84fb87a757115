#pragma once

#include <memory>

#include "kefu/gateway/v1/gateway.grpc.pb.h"
#include "libs/auth/authorize.h"
#include "libs/server/service_main.h"
#include "services/gateway/gateway.h"

namespace kefu::gateway {

using CustomerBase =
    v1::CustomerGatewayService::WithCallbackMethod_Updates<v1::CustomerGatewayService::Service>;
using AgentBase = v1::AgentGatewayService::WithCallbackMethod_Updates<
    v1::AgentGatewayService::WithCallbackMethod_Monitor<v1::AgentGatewayService::Service>>;

// kefu.gateway.v1.CustomerGatewayService: the customer's side of a contact. Updates is a
// callback-API stream (one reactor, no thread per customer); the unary calls are short.
class CustomerGatewayServiceImpl final : public CustomerBase {
 public:
  CustomerGatewayServiceImpl(Gateway* gateway, const auth::Authenticator* authn)
      : gateway_(gateway), authn_(authn) {}

  grpc::Status StartContact(grpc::ServerContext* context, const v1::StartContactRequest* request,
                            v1::StartContactResponse* response) override;
  grpc::ServerWriteReactor<v1::CustomerGatewayServiceUpdatesResponse>* Updates(
      grpc::CallbackServerContext* context,
      const v1::CustomerGatewayServiceUpdatesRequest* request) override;
  grpc::Status Send(grpc::ServerContext* context,
                    const v1::CustomerGatewayServiceSendRequest* request,
                    v1::CustomerGatewayServiceSendResponse* response) override;
  grpc::Status Typing(grpc::ServerContext* context,
                      const v1::CustomerGatewayServiceTypingRequest* request,
                      v1::CustomerGatewayServiceTypingResponse* response) override;
  grpc::Status End(grpc::ServerContext* context, const v1::EndRequest* request,
                   v1::EndResponse* response) override;
  grpc::Status Rate(grpc::ServerContext* context, const v1::RateRequest* request,
                    v1::RateResponse* response) override;
  grpc::Status LeaveMessage(grpc::ServerContext* context, const v1::LeaveMessageRequest* request,
                            v1::LeaveMessageResponse* response) override;
  // F14 and F5, in directory_rpcs.cc.
  grpc::Status SuggestAgents(grpc::ServerContext* context, const v1::SuggestAgentsRequest* request,
                             v1::SuggestAgentsResponse* response) override;
  grpc::Status ChooseAgent(grpc::ServerContext* context, const v1::ChooseAgentRequest* request,
                           v1::ChooseAgentResponse* response) override;
  grpc::Status TrackVisit(grpc::ServerContext* context, const v1::TrackVisitRequest* request,
                          v1::TrackVisitResponse* response) override;
  // F3, F4, in voice_flow.cc.
  grpc::Status VerifyCaller(grpc::ServerContext* context,
                            grpc::ServerReader<v1::VerifyCallerRequest>* reader,
                            v1::VerifyCallerResponse* response) override;
  grpc::Status AnswerChallenge(grpc::ServerContext* context,
                               const v1::AnswerChallengeRequest* request,
                               v1::AnswerChallengeResponse* response) override;
  // F6, F16, F41, F42, in entry_rpcs.cc.
  grpc::Status GetEntryConfig(grpc::ServerContext* context,
                              const v1::GetEntryConfigRequest* request,
                              v1::GetEntryConfigResponse* response) override;
  grpc::Status RequestAgent(grpc::ServerContext* context, const v1::RequestAgentRequest* request,
                            v1::RequestAgentResponse* response) override;
  // F35, in file_rpcs.cc.
  grpc::Status UploadFile(grpc::ServerContext* context,
                          grpc::ServerReader<v1::CustomerGatewayServiceUploadFileRequest>* reader,
                          v1::CustomerGatewayServiceUploadFileResponse* response) override;
  grpc::Status DownloadFile(
      grpc::ServerContext* context, const v1::CustomerGatewayServiceDownloadFileRequest* request,
      grpc::ServerWriter<v1::CustomerGatewayServiceDownloadFileResponse>* writer) override;

 private:
  Gateway* gateway_;
  const auth::Authenticator* authn_;
};

// kefu.gateway.v1.AgentGatewayService: the agent desktop's session.
class AgentGatewayServiceImpl final : public AgentBase {
 public:
  AgentGatewayServiceImpl(Gateway* gateway, const auth::Authenticator* authn)
      : gateway_(gateway), authn_(authn) {}

  grpc::ServerWriteReactor<v1::AgentGatewayServiceUpdatesResponse>* Updates(
      grpc::CallbackServerContext* context,
      const v1::AgentGatewayServiceUpdatesRequest* request) override;
  grpc::ServerWriteReactor<v1::MonitorResponse>* Monitor(
      grpc::CallbackServerContext* context, const v1::MonitorRequest* request) override;
  grpc::Status Accept(grpc::ServerContext* context, const v1::AcceptRequest* request,
                      v1::AcceptResponse* response) override;
  grpc::Status Reject(grpc::ServerContext* context, const v1::RejectRequest* request,
                      v1::RejectResponse* response) override;
  grpc::Status Send(grpc::ServerContext* context, const v1::AgentGatewayServiceSendRequest* request,
                    v1::AgentGatewayServiceSendResponse* response) override;
  grpc::Status Typing(grpc::ServerContext* context,
                      const v1::AgentGatewayServiceTypingRequest* request,
                      v1::AgentGatewayServiceTypingResponse* response) override;
  grpc::Status Transfer(grpc::ServerContext* context, const v1::TransferRequest* request,
                        v1::TransferResponse* response) override;
  grpc::Status InviteRating(grpc::ServerContext* context, const v1::InviteRatingRequest* request,
                            v1::InviteRatingResponse* response) override;
  grpc::Status Close(grpc::ServerContext* context, const v1::CloseRequest* request,
                     v1::CloseResponse* response) override;
  grpc::Status PickUp(grpc::ServerContext* context, const v1::PickUpRequest* request,
                      v1::PickUpResponse* response) override;
  grpc::Status Broadcast(grpc::ServerContext* context, const v1::BroadcastRequest* request,
                         v1::BroadcastResponse* response) override;
  // F17 and F18, in directory_rpcs.cc.
  grpc::Status TransferTargets(grpc::ServerContext* context,
                               const v1::TransferTargetsRequest* request,
                               v1::TransferTargetsResponse* response) override;
  grpc::Status ListWaitingContacts(grpc::ServerContext* context,
                                   const v1::ListWaitingContactsRequest* request,
                                   v1::ListWaitingContactsResponse* response) override;
  // F5 and F34, in visitor_rpcs.cc.
  grpc::Status ListVisitors(grpc::ServerContext* context, const v1::ListVisitorsRequest* request,
                            v1::ListVisitorsResponse* response) override;
  grpc::Status InviteVisitor(grpc::ServerContext* context, const v1::InviteVisitorRequest* request,
                             v1::InviteVisitorResponse* response) override;
  // F35, in file_rpcs.cc.
  grpc::Status UploadFile(grpc::ServerContext* context,
                          grpc::ServerReader<v1::AgentGatewayServiceUploadFileRequest>* reader,
                          v1::AgentGatewayServiceUploadFileResponse* response) override;
  grpc::Status DownloadFile(
      grpc::ServerContext* context, const v1::AgentGatewayServiceDownloadFileRequest* request,
      grpc::ServerWriter<v1::AgentGatewayServiceDownloadFileResponse>* writer) override;

 private:
  // The contact of a dialog the calling agent serves (PERMISSION_DENIED otherwise).
  absl::StatusOr<Contact> ServedContact(const auth::Claims& caller, const std::string& dialog_id);

  Gateway* gateway_;
  const auth::Authenticator* authn_;
};

// The client's address from a gRPC peer string ("ipv4:10.0.0.7:51234" -> "10.0.0.7").
std::string PeerIp(const std::string& peer);

// A website visitor's stream of invitations (F34): Updates with an entry-point token.
grpc::ServerWriteReactor<v1::CustomerGatewayServiceUpdatesResponse>* VisitorUpdates(
    Gateway* gateway, const auth::Claims& caller, const std::string& visitor_id);

// A customer token names its contact; anything else may not call contact RPCs.
absl::StatusOr<auth::Claims> RequireCustomer(const auth::Authenticator& authn,
                                             const grpc::ServerContextBase& ctx);

// Builds the gateway service inside ServiceMain: stores, pub/sub hub, peers, services,
// the event reactor and the silence sweeper.
absl::Status Setup(server::ServiceContext& ctx);

server::ServiceDefinition Definition();
// With fixed settings (tests: a short silence timeout).
server::ServiceDefinition Definition(GatewaySettings settings);

}  // namespace kefu::gateway
