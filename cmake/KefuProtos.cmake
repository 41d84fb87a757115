# kefu_generate_protos(<out_srcs_var> IMPORT_DIRS <dir>... PROTOS <rel/path.proto>...)
# Generates C++ message and gRPC code into the build tree at build time.
# PROTOS are paths relative to the first import dir; generated code is never committed.
function(kefu_generate_protos out_var)
  cmake_parse_arguments(ARG "" "" "IMPORT_DIRS;PROTOS" ${ARGN})
  list(GET ARG_IMPORT_DIRS 0 root)
  set(gen_dir "${CMAKE_BINARY_DIR}/gen")
  set(include_flags)
  foreach(dir IN LISTS ARG_IMPORT_DIRS)
    list(APPEND include_flags "-I${dir}")
  endforeach()
  set(srcs)
  foreach(proto IN LISTS ARG_PROTOS)
    string(REGEX REPLACE "\\.proto$" "" stem "${proto}")
    set(outs
      "${gen_dir}/${stem}.pb.cc" "${gen_dir}/${stem}.pb.h"
      "${gen_dir}/${stem}.grpc.pb.cc" "${gen_dir}/${stem}.grpc.pb.h")
    add_custom_command(
      OUTPUT ${outs}
      COMMAND "${CMAKE_COMMAND}" -E make_directory "${gen_dir}"
      COMMAND "${KEFU_PROTOC}" ${include_flags} -I/usr/include
              "--cpp_out=${gen_dir}" "--grpc_out=${gen_dir}"
              "--plugin=protoc-gen-grpc=${KEFU_GRPC_CPP_PLUGIN}"
              "${root}/${proto}"
      DEPENDS "${root}/${proto}" "${KEFU_PROTOC}" "${KEFU_GRPC_CPP_PLUGIN}"
      COMMENT "protoc ${proto}"
      VERBATIM)
    list(APPEND srcs ${outs})
  endforeach()
  set(${out_var} ${srcs} PARENT_SCOPE)
endfunction()
