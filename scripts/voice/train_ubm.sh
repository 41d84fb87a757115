#!/usr/bin/env bash
# Rebuilds the default voice model models/voice/ubm.kvm from scratch and evaluates it:
# synthesises the corpus (make_corpus.sh), trains the UBM and Z-norm cohort on the
# training speakers (kefu-voice-train), then scores the held-out speakers and texts
# (kefu-voice-eval). About 8 minutes on 2 cores; the result is byte-for-byte the same
# on the same Debian packages.
#
#   scripts/voice/train_ubm.sh [BUILD_DIR] [OUT_MODEL]
#
# BUILD_DIR defaults to build/ (with kefu-voice-train and kefu-voice-eval built);
# OUT_MODEL to models/voice/ubm.kvm. KEFU_VOICE_CORPUS keeps the corpus in a folder of
# your choice (default: a temporary one, removed afterwards).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
out=${2:-$root/models/voice/ubm.kvm}
for tool in kefu-voice-train kefu-voice-eval; do
  [ -x "$build/bin/$tool" ] || {
    echo "train_ubm: $build/bin/$tool missing: ninja -C $build $tool" >&2
    exit 1
  }
done
corpus=${KEFU_VOICE_CORPUS:-}
if [ -z "$corpus" ]; then
  corpus=$(mktemp -d)
  trap 'rm -rf "$corpus"' EXIT
fi

nice -n 10 "$root/scripts/voice/make_corpus.sh" "$corpus" 2> >(grep -v 'WARN' >&2)
mkdir -p "$(dirname "$out")"
nice -n 10 "$build/bin/kefu-voice-train" --out "$out" --components 128 --max-hz 3800 \
  "$corpus/train" | grep -v ' iteration '
"$build/bin/kefu-voice-eval" --model "$out" --enroll "$corpus/eval/enroll.tsv" \
  --trials "$corpus/eval/trials.tsv" --cold "$corpus/eval/trials_cold.tsv" \
  --accept 4.0 --reject 2.0
