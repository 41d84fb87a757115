#include "services/router/router_service.h"

int main(int argc, char** argv) {
  return kefu::server::ServiceMain(
      argc, argv, {.name = "router", .register_flags = nullptr, .setup = kefu::router::Setup});
}
