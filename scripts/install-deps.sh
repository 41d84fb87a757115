#!/usr/bin/env bash
# Installs everything kefu needs to build, test and run on Debian bookworm.
# Idempotent: installs only what is missing. apt packages system-wide; npm tools (buf)
# under the project's .tools/ folder.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
BUF_VERSION=1.75.0

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libgrpc++-dev protobuf-compiler-grpc protobuf-compiler libprotobuf-dev grpc-proto
  libabsl-dev libpqxx-dev libpq-dev libhiredis-dev prometheus-cpp-dev catch2
  redis-server postgresql postgresql-client
  libsodium-dev
  libsndfile1-dev libfftw3-dev libeigen3-dev
  espeak-ng sox festival festvox-kallpc16k festvox-kdlpc16k festvox-us-slt-hts
  festvox-italp16k festvox-suopuhe-lj festvox-czech-dita
  clang-format curl
)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
# Node.js with npm runs buf; a Node.js that already brings npm (e.g. nodesource) is fine.
if ! command -v npm >/dev/null 2>&1; then missing+=(nodejs npm); fi

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
fi

buf="$root/.tools/node_modules/.bin/buf"
if [ ! -x "$buf" ] || [ "$("$buf" --version 2>/dev/null)" != "$BUF_VERSION" ]; then
  echo "install-deps: installing buf $BUF_VERSION under .tools/"
  npm install --prefix "$root/.tools" --no-save --no-audit --no-fund --loglevel=error \
    "@bufbuild/buf@$BUF_VERSION"
fi
echo "install-deps: all dependencies present"
