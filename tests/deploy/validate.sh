#!/usr/bin/env bash
# Validates the deployment offline (no Docker engine, no cluster):
#   1. yamllint (.yamllint) over docker-compose.yml and deploy/k8s;
#   2. `docker-compose config -q` (Debian's docker-compose 1.29), with and without the demo profile;
#   3. `kubectl kustomize` of every overlay under deploy/k8s/overlays;
#   4. tests/deploy/check.cjs: kubernetes-models schema of every rendered object, and
#      services/ports/variables against the binaries' --help, ARCHITECTURE.md, README.md
#      and docs/DEPLOYMENT.md.
#   tests/deploy/validate.sh <bin dir>      (ctest: "deploy: compose, kubernetes and flags agree")
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=${1:?usage: validate.sh <build>/bin}
node_modules="$root/.tools/node_modules"

missing=()
for tool in yamllint docker-compose kubectl node; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
for pkg in yaml kubernetes-models; do
  [ -d "$node_modules/$pkg" ] || missing+=("npm:$pkg (under .tools/)")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "deploy: missing ${missing[*]}: run scripts/install-deps.sh" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$root"

echo "deploy: yamllint"
yamllint --strict -c .yamllint docker-compose.yml deploy/k8s

# A clean environment: no developer's KEFU_* or .env changes what compose resolves.
: >"$work/empty.env"
compose() {
  env -i PATH="$PATH" HOME="$work" docker-compose --project-directory "$root" \
    -f "$root/docker-compose.yml" --env-file "$work/empty.env" "$@"
}
echo "deploy: docker-compose config"
compose config -q
compose --profile demo config >"$work/compose.yaml"

overlays=()
for dir in deploy/k8s/overlays/*/; do
  overlay=$(basename "$dir")
  echo "deploy: kubectl kustomize $dir"
  if ! kubectl kustomize "$dir" >"$work/k8s-$overlay.yaml" 2>"$work/kustomize.err"; then
    cat "$work/kustomize.err" >&2
    exit 1
  fi
  # kustomize v5 warns about fields kustomize v2 (Debian's kubectl 1.20) needs; other
  # output is shown.
  grep -v "is deprecated. Please use" "$work/kustomize.err" >&2 || true
  overlays+=(--k8s "$overlay=$work/k8s-$overlay.yaml")
done

node "$root/tests/deploy/check.cjs" --root "$root" --bin "$bin" --compose "$work/compose.yaml" \
  "${overlays[@]}"
