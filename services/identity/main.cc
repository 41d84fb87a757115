#include "services/identity/identity_service.h"

int main(int argc, char** argv) {
  return kefu::server::ServiceMain(
      argc, argv, {.name = "identity", .register_flags = nullptr, .setup = kefu::identity::Setup});
}
