#include "services/crm/crm_service.h"

int main(int argc, char** argv) {
  return kefu::server::ServiceMain(
      argc, argv, {.name = "crm", .register_flags = nullptr, .setup = kefu::crm::Setup});
}
