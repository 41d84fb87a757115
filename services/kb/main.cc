#include "services/kb/kb_service.h"

int main(int argc, char** argv) {
  return kefu::server::ServiceMain(
      argc, argv, {.name = "kb", .register_flags = nullptr, .setup = kefu::kb::Setup});
}
