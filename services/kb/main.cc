#include "services/kb/kb_service.h"

int main(int argc, char** argv) {
  return kefu::server::ServiceMain(argc, argv, kefu::kb::Definition());
}
