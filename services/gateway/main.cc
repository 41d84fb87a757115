#include "services/gateway/gateway_service.h"

int main(int argc, char** argv) {
  return kefu::server::ServiceMain(
      argc, argv, {.name = "gateway", .register_flags = nullptr, .setup = kefu::gateway::Setup});
}
