#!/usr/bin/env bash
# Sets up a fresh Debian bookworm machine and runs every test (unit, integration, e2e,
# proto lint) through ctest. Extra arguments go to ctest, e.g. `scripts/test.sh -L unit`.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build="${KEFU_BUILD_DIR:-$root/build}"
jobs=$(nproc)

"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE="${KEFU_BUILD_TYPE:-Release}"
cmake --build "$build" --parallel "$jobs"
cd "$build"
ctest --parallel "$jobs" --output-on-failure --timeout 300 "$@"
# Then a short libFuzzer run of every tests/fuzz target (clang, ASan + UBSan, in build-fuzz/):
# about 2 minutes of fuzzing plus the first clang build. KEFU_FUZZ_SECONDS=0 skips it.
fuzz_seconds="${KEFU_FUZZ_SECONDS:-15}"
if [ "$fuzz_seconds" != 0 ]; then "$root/tests/fuzz/run.sh" "$fuzz_seconds"; fi
