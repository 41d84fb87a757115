#!/usr/bin/env bash
# Installs everything kefu needs to build, test and run on Debian bookworm.
# Idempotent: installs only what is missing. apt packages system-wide; npm tools (buf)
# under the project's .tools/ folder.
#   KEFU_DEPS_SKIP_TOOLS=1  only the Debian packages that build and test the C++ (the container
#                           image's build stage): no Node.js, npm tools, kubectl, docker-compose,
#                           yamllint
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
BUF_VERSION=1.75.0
# Deployment validation (tests/deploy): Kubernetes schemas and a YAML parser for Node.js.
KUBERNETES_MODELS_VERSION=4.5.1
YAML_VERSION=2.9.1

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
  libmaxminddb-dev mmdb-bin geoip-database
)
skip_tools="${KEFU_DEPS_SKIP_TOOLS:-0}"
# Deployment validation (tests/deploy): compose file check, YAML lint, and promtool (Debian's
# prometheus package) for the rules, alerts and dashboards.
if [ "$skip_tools" != 1 ]; then packages+=(docker-compose yamllint prometheus); fi
# Fuzzing (tests/fuzz/run.sh): clang with libFuzzer and the sanitizer runtimes.
if [ "$skip_tools" != 1 ]; then packages+=(clang-14 libclang-rt-14-dev); fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then sudo_cmd=(sudo); fi

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
# Node.js with npm runs buf; a Node.js that already brings npm (e.g. nodesource) is fine.
if [ "$skip_tools" != 1 ] && ! command -v npm >/dev/null 2>&1; then missing+=(nodejs npm); fi
# kubectl (for `kubectl kustomize`): Debian's kubernetes-client unless one is already there.
if [ "$skip_tools" != 1 ] && ! command -v kubectl >/dev/null 2>&1; then
  missing+=(kubernetes-client)
fi

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends \
    "${missing[@]}"
fi

if [ "$skip_tools" = 1 ]; then
  echo "install-deps: build packages present (tools skipped: KEFU_DEPS_SKIP_TOOLS=1)"
  exit 0
fi

# npm tools under .tools/, all in one `npm install` (a second one would prune the first's).
buf="$root/.tools/node_modules/.bin/buf"
npm_version() {
  node -e 'try { console.log(require(process.argv[1]).version) } catch (e) {}' \
    "$root/.tools/node_modules/$1/package.json" 2>/dev/null || true
}
if [ ! -x "$buf" ] || [ "$("$buf" --version 2>/dev/null)" != "$BUF_VERSION" ] ||
  [ "$(npm_version kubernetes-models)" != "$KUBERNETES_MODELS_VERSION" ] ||
  [ "$(npm_version yaml)" != "$YAML_VERSION" ]; then
  echo "install-deps: installing buf $BUF_VERSION, kubernetes-models $KUBERNETES_MODELS_VERSION," \
    "yaml $YAML_VERSION under .tools/"
  npm install --prefix "$root/.tools" --no-save --no-audit --no-fund --loglevel=error \
    "@bufbuild/buf@$BUF_VERSION" "kubernetes-models@$KUBERNETES_MODELS_VERSION" "yaml@$YAML_VERSION"
fi
echo "install-deps: all dependencies present"
