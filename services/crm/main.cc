#include "services/crm/crm_service.h"

int main(int argc, char** argv) {
  return kefu::server::ServiceMain(argc, argv, kefu::crm::Definition());
}
