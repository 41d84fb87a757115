#pragma once

#include "kefu/crm/v1/customer.grpc.pb.h"
#include "libs/auth/authorize.h"
#include "services/crm/customer_store.h"
#include "services/crm/event_consumer.h"

namespace kefu::crm {

// kefu.crm.v1.CustomerService (F2, F6, F14, F50): checks the caller and the input, maps
// proto to store calls and statuses to gRPC. Rules and SQL live elsewhere.
class CustomerServiceImpl final : public v1::CustomerService::Service {
 public:
  CustomerServiceImpl(CustomerStore* store, const auth::Authenticator* authenticator,
                      PublishFn publish)
      : store_(store), auth_(authenticator), publish_(std::move(publish)) {}

  // CustomerService::Service
  grpc::Status IdentifyCustomer(grpc::ServerContext* context,
                                const v1::IdentifyCustomerRequest* request,
                                v1::IdentifyCustomerResponse* response) override;
  grpc::Status GetCustomer(grpc::ServerContext* context, const v1::GetCustomerRequest* request,
                           v1::GetCustomerResponse* response) override;
  grpc::Status CreateCustomer(grpc::ServerContext* context,
                              const v1::CreateCustomerRequest* request,
                              v1::CreateCustomerResponse* response) override;
  grpc::Status UpdateCustomer(grpc::ServerContext* context,
                              const v1::UpdateCustomerRequest* request,
                              v1::UpdateCustomerResponse* response) override;
  grpc::Status ListCustomers(grpc::ServerContext* context, const v1::ListCustomersRequest* request,
                             v1::ListCustomersResponse* response) override;
  grpc::Status SearchCustomers(grpc::ServerContext* context,
                               const v1::SearchCustomersRequest* request,
                               v1::SearchCustomersResponse* response) override;
  grpc::Status SetTier(grpc::ServerContext* context, const v1::SetTierRequest* request,
                       v1::SetTierResponse* response) override;
  grpc::Status GetTierRules(grpc::ServerContext* context, const v1::GetTierRulesRequest* request,
                            v1::GetTierRulesResponse* response) override;
  grpc::Status SetTierRules(grpc::ServerContext* context, const v1::SetTierRulesRequest* request,
                            v1::SetTierRulesResponse* response) override;
  grpc::Status GetRegistrationForm(grpc::ServerContext* context,
                                   const v1::GetRegistrationFormRequest* request,
                                   v1::GetRegistrationFormResponse* response) override;
  grpc::Status SetRegistrationForm(grpc::ServerContext* context,
                                   const v1::SetRegistrationFormRequest* request,
                                   v1::SetRegistrationFormResponse* response) override;
  grpc::Status SubmitRegistration(grpc::ServerContext* context,
                                  const v1::SubmitRegistrationRequest* request,
                                  v1::SubmitRegistrationResponse* response) override;
  grpc::Status BindExclusiveAgent(grpc::ServerContext* context,
                                  const v1::BindExclusiveAgentRequest* request,
                                  v1::BindExclusiveAgentResponse* response) override;

 private:
  CustomerStore* store_;
  const auth::Authenticator* auth_;
  PublishFn publish_;
};

}  // namespace kefu::crm
