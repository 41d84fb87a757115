#include "services/reporting/reporting_service.h"

int main(int argc, char** argv) {
  return kefu::server::ServiceMain(argc, argv, kefu::reporting::Definition());
}
