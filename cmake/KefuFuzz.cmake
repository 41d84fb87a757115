# Sanitizer and fuzzing builds (docs/TESTING.md "Fuzzing"). Included by the top level before
# any target, so the flags reach every library the fuzz targets link.
#   KEFU_SANITIZE  AddressSanitizer + UndefinedBehaviorSanitizer for the whole build (g++ or
#                  clang); any UB report aborts the test that hit it.
#   KEFU_FUZZ      clang only: everything instrumented for libFuzzer as well, and the
#                  tests/fuzz targets linked with libFuzzer's main (tests/fuzz/run.sh builds
#                  them in build-fuzz/). Without it, tests/fuzz builds each target with
#                  replay_main.cc and replays the committed corpus as a ctest (label fuzz).
option(KEFU_SANITIZE "Build everything with ASan and UBSan" OFF)
option(KEFU_FUZZ "Build the libFuzzer targets of tests/fuzz (clang; implies ASan and UBSan)" OFF)

set(KEFU_SANITIZER_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined
  -fno-omit-frame-pointer)
if(KEFU_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
    message(FATAL_ERROR "KEFU_FUZZ needs clang for libFuzzer (Debian: clang-14 libclang-rt-14-dev); "
      "configure with -DCMAKE_CXX_COMPILER=clang++-14, as tests/fuzz/run.sh does")
  endif()
  # Coverage feedback and sanitizers in every library; libFuzzer's main only in the fuzz
  # executables. A target with the property KEFU_FUZZ_UNINSTRUMENTED is compiled plainly:
  # tests/fuzz sets it on the generated protobuf code, which instrumented takes three times
  # as long to compile (most of the clang build) for coverage of code protoc wrote.
  set(kefu_fuzz_flags -fsanitize=fuzzer-no-link ${KEFU_SANITIZER_FLAGS})
  add_compile_options(
    "$<$<NOT:$<BOOL:$<TARGET_PROPERTY:KEFU_FUZZ_UNINSTRUMENTED>>>:${kefu_fuzz_flags}>")
  add_link_options(-fsanitize=address,undefined)
elseif(KEFU_SANITIZE)
  add_compile_options(${KEFU_SANITIZER_FLAGS})
  add_link_options(-fsanitize=address,undefined)
endif()
