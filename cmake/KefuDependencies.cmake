# Finds every third-party library kefu links and exposes each as one imported target.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(Protobuf REQUIRED)
find_package(gRPC CONFIG REQUIRED)
find_package(absl CONFIG REQUIRED)
find_package(prometheus-cpp CONFIG REQUIRED)

pkg_check_modules(PQXX REQUIRED IMPORTED_TARGET libpqxx)
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)

find_program(KEFU_PROTOC protoc REQUIRED)
find_program(KEFU_GRPC_CPP_PLUGIN grpc_cpp_plugin REQUIRED)

# Standard gRPC protos (health, reflection) come from Debian's grpc-proto package.
find_path(KEFU_GRPC_PROTO_DIR grpc/health/v1/health.proto
  PATHS /usr/share/grpc-proto REQUIRED
  DOC "Directory holding grpc/health/v1/health.proto (Debian package grpc-proto)")
