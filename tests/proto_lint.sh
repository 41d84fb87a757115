#!/usr/bin/env bash
# buf lint (STANDARD rules, buf.yaml) and buf build over protos/; runs offline.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
buf="$root/.tools/node_modules/.bin/buf"
if [ ! -x "$buf" ]; then
  echo "buf is not installed at $buf: run scripts/install-deps.sh" >&2
  exit 1
fi
cd "$root"
"$buf" lint
"$buf" build
echo "buf lint: clean ($(find protos -name '*.proto' | wc -l) files)"
