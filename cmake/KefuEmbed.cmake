# kefu_embed_files(<target> FUNCTION <name> FILES <file>...)
# Compiles files (SQL migrations, Lua scripts) into <target> as
#   const std::vector<kefu::EmbeddedFile>& kefu::embedded::<name>();
# in the order given, so a binary carries its schema and scripts and reads no files
# at run time. The generated source lives in the build tree, never in git.
function(kefu_embed_files target)
  cmake_parse_arguments(ARG "" "FUNCTION" "FILES" ${ARGN})
  set(out "${CMAKE_CURRENT_BINARY_DIR}/${ARG_FUNCTION}_embedded.cc")
  add_custom_command(
    OUTPUT "${out}"
    COMMAND "${CMAKE_COMMAND}" "-DOUT=${out}" "-DFUNCTION=${ARG_FUNCTION}"
            "-DFILES=${ARG_FILES}" -P "${PROJECT_SOURCE_DIR}/cmake/EmbedFiles.cmake"
    DEPENDS ${ARG_FILES} "${PROJECT_SOURCE_DIR}/cmake/EmbedFiles.cmake"
    COMMENT "embed ${ARG_FUNCTION}"
    VERBATIM)
  target_sources(${target} PRIVATE "${out}")
endfunction()

# kefu_embed_migrations(<target> FUNCTION <name> DIR <dir>): every <dir>/NNN_*.sql, sorted.
function(kefu_embed_migrations target)
  cmake_parse_arguments(ARG "" "FUNCTION;DIR" "" ${ARGN})
  file(GLOB sql_files CONFIGURE_DEPENDS "${ARG_DIR}/*.sql")
  list(SORT sql_files)
  kefu_embed_files(${target} FUNCTION ${ARG_FUNCTION} FILES ${sql_files})
endfunction()
