#include "services/reporting/reporting_service.h"

int main(int argc, char** argv) {
  return kefu::server::ServiceMain(
      argc, argv,
      {.name = "reporting", .register_flags = nullptr, .setup = kefu::reporting::Setup});
}
