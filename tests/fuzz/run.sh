#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) in build-fuzz/ and runs each for N
# seconds (default 20), seeded with its committed corpus; new inputs go to a temporary
# directory, so tests/fuzz/corpus does not churn. Fails on any crash, leak, timeout or
# invariant failure; the reproducer is kept under build-fuzz/crashes/<target>/.
#   tests/fuzz/run.sh [seconds-per-target] [target...]
#   KEFU_FUZZ_BUILD_DIR (default build-fuzz), KEFU_FUZZ_CXX (default clang++-14),
#   KEFU_FUZZ_JOBS (build jobs, default 2), KEFU_BUILD_LOCK (default /tmp/kefu-build.lock)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
seconds="${1:-20}"
shift || true
build="${KEFU_FUZZ_BUILD_DIR:-$root/build-fuzz}"
cxx="${KEFU_FUZZ_CXX:-clang++-14}"
jobs="${KEFU_FUZZ_JOBS:-2}"
lock="${KEFU_BUILD_LOCK:-/tmp/kefu-build.lock}"

targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
  for src in "$root"/tests/fuzz/*_fuzz.cc; do
    name=$(basename "$src" _fuzz.cc)
    targets+=("$name")
  done
fi

if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "fuzz: $cxx not found (scripts/install-deps.sh installs clang-14 and libclang-rt-14-dev)" >&2
  exit 1
fi

# -O1 -g without NDEBUG: asserts stay on, stacks stay readable. Only the fuzz targets and the
# libraries they link are built (one lock with the other builds of this checkout).
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_CXX_COMPILER="$cxx" \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g" \
    -DKEFU_FUZZ=ON >/dev/null
fi
build_targets=()
for name in "${targets[@]}"; do build_targets+=("kefu_fuzz_$name"); done
flock "$lock" cmake --build "$build" --parallel "$jobs" --target "${build_targets[@]}"

for name in "${targets[@]}"; do
  if [ ! -d "$root/tests/fuzz/corpus/$name" ]; then
    echo "fuzz: $name has no seed corpus: add tests/fuzz/corpus/$name/ (see make_seeds.cc)" >&2
    exit 1
  fi
done
# fftw's one-time planner state is the only leak tolerated (lsan.supp says why).
export LSAN_OPTIONS="suppressions=$root/tests/fuzz/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
crashes=0
failed=()
for name in "${targets[@]}"; do
  corpus="$root/tests/fuzz/corpus/$name"
  artifacts="$build/crashes/$name"
  mkdir -p "$work/$name" "$artifacts"
  log="$work/$name.log"
  # New inputs land in $work/$name (first corpus dir); the committed seeds are read only.
  status=0
  "$build/bin/kefu_fuzz_$name" "$work/$name" "$corpus" -max_total_time="$seconds" \
    -timeout=10 -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" >"$log" 2>&1 || status=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$( (grep -o 'cov: [0-9]*' "$log" || true) | tail -1 | cut -d' ' -f2)
  found=$(find "$work/$name" -type f | wc -l)
  if [ "$status" -ne 0 ]; then
    crashes=$((crashes + 1))
    failed+=("$name")
    echo "fuzz: $name FAILED (exit $status) after ${runs:-?} runs; reproducer in $artifacts/" >&2
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*invariant failed|.*runtime error)' "$log" | head -5 >&2 || true
    echo "fuzz:   replay: $build/bin/kefu_fuzz_$name $artifacts/<crash-file>" >&2
  fi
  echo "fuzz: $name runs=${runs:-0} exec/s=${rate:-0} cov=${cov:-0}" \
    "seeds=$(find "$corpus" -type f | wc -l) new_inputs=$found status=$status"
done
echo "fuzz targets=${#targets[@]} seconds=$seconds crashes=$crashes"
[ "$crashes" -eq 0 ]
