#include "services/presence/presence_service.h"

int main(int argc, char** argv) {
  return kefu::server::ServiceMain(
      argc, argv, {.name = "presence", .register_flags = nullptr, .setup = kefu::presence::Setup});
}
