#include "services/presence/presence_service.h"

int main(int argc, char** argv) {
  return kefu::server::ServiceMain(argc, argv, kefu::presence::Definition());
}
