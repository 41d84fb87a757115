#include "services/identity/identity_service.h"

int main(int argc, char** argv) {
  return kefu::server::ServiceMain(argc, argv, kefu::identity::Definition());
}
