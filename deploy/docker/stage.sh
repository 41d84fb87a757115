#!/usr/bin/env bash
# Collects what the runtime image ships from a finished build tree (Dockerfile, build stage):
#   <out>/opt/kefu/bin/         every program in <build>/bin except tests and benchmarks, stripped
#   <out>/opt/kefu/share/kefu/  data: models/ (voice UBM) and geo/ (the router's default country
#                               database) when the build made one
#   <out>/runtime-packages.txt  the Debian packages that hold the shared libraries they load
#
#   deploy/docker/stage.sh <build dir> <out dir>
# Runs on the build stage (Debian bookworm with the -dev packages); checked by hand on this
# repository's build trees, see docs/DEPLOYMENT.md.
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:?usage: stage.sh <build dir> <out dir>}
out=${2:?usage: stage.sh <build dir> <out dir>}
bin="$out/opt/kefu/bin"
share="$out/opt/kefu/share"
mkdir -p "$bin" "$share"

# --- Programs -------------------------------------------------------------------------
shipped=()
for path in "$build"/bin/*; do
  name=$(basename "$path")
  [ -f "$path" ] && [ -x "$path" ] || continue
  case "$name" in
    *_tests | *-tests | *_test | kefu-test-env | *bench*) continue ;;
  esac
  install -m 0755 "$path" "$bin/$name"
  strip --strip-unneeded "$bin/$name"
  shipped+=("$name")
done
for required in kefu-gateway kefu-identity kefu-router kefu-presence kefu-kb kefu-crm \
  kefu-reporting kefuctl kefu-grpc-probe; do
  if [ ! -x "$bin/$required" ]; then
    echo "stage.sh: $build/bin/$required is missing; did the build finish?" >&2
    exit 1
  fi
done
# The one-shot bootstrap (compose service `bootstrap`, Kubernetes Job kefu-bootstrap).
install -m 0755 "$root/deploy/docker/kefu-bootstrap" "$bin/kefu-bootstrap"
echo "stage.sh: programs: ${shipped[*]} kefu-bootstrap"

# --- Data files -----------------------------------------------------------------------
# Programs find their data at <bin>/../share/kefu/ (the router's default geo database:
# share/kefu/geo/country.mmdb, built from Debian's geoip-database when it is installed).
mkdir -p "$share/kefu"
if [ -d "$build/share/kefu" ]; then
  cp -r "$build/share/kefu/." "$share/kefu/"
fi
cp -r "$root/models" "$share/kefu/models"
echo "stage.sh: data: $(cd "$share/kefu" && find . -type f | sort | tr '\n' ' ')"

# --- Runtime packages: whoever owns each shared library the programs load ---------------
libs=$( (ldd "$bin"/* 2>/dev/null || true) | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u)
packages=()
for lib in $libs; do
  owner=""
  # usrmerge: dpkg may know the file under /lib or /usr/lib.
  for candidate in "$lib" "$(realpath "$lib")" "/usr$lib" "${lib#/usr}"; do
    owner=$(dpkg -S "$candidate" 2>/dev/null | head -n 1 | cut -d: -f1) && [ -n "$owner" ] && break
  done
  if [ -z "$owner" ]; then
    echo "stage.sh: no Debian package owns $lib" >&2
    exit 1
  fi
  packages+=("$owner")
done
printf '%s\n' "${packages[@]}" | sort -u >"$out/runtime-packages.txt"
echo "stage.sh: runtime packages: $(tr '\n' ' ' <"$out/runtime-packages.txt")"
