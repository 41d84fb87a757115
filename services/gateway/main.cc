#include "services/gateway/gateway_service.h"

int main(int argc, char** argv) {
  return kefu::server::ServiceMain(argc, argv, kefu::gateway::Definition());
}
