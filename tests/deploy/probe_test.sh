#!/usr/bin/env bash
# What the Kubernetes probes and compose health checks rely on, with the real binaries:
# kefu-presence started with an unreachable Redis answers kefu-grpc-probe
#   - NOT_SERVING for the whole server (readiness: out of the endpoints), exit 1;
#   - SERVING for the health name "liveness" (liveness: no restart for an outage), exit 0;
# and exits 0 on SIGTERM.
#   tests/deploy/probe_test.sh <build>/bin
set -euo pipefail
bin=${1:?usage: probe_test.sh <build>/bin}
probe="$bin/kefu-grpc-probe"

port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
log=$(mktemp)
# Redis on port 1: nothing listens there.
KEFU_JWT_KEY=probe-test-signing-key-0123456789abcdef KEFU_REDIS_URL=redis://127.0.0.1:1 \
  "$bin/kefu-presence" --grpc-addr="127.0.0.1:$port" --metrics-addr= --dependency-timeout=200ms \
  2>"$log" &
pid=$!
cleanup() {
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$log"
}
trap cleanup EXIT

# Wait (bounded) until the server listens: the probe answers either way once it does.
for _ in $(seq 1 100); do
  if "$probe" --addr="127.0.0.1:$port" --service=liveness --timeout=1s >/dev/null 2>&1; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "kefu-presence exited before serving:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.1
done

status=0
"$probe" --addr="127.0.0.1:$port" --service=liveness || status=$?
if [ "$status" -ne 0 ]; then
  echo "FAIL: liveness should be SERVING while Redis is down (probe exit $status)" >&2
  exit 1
fi
status=0
"$probe" --addr="127.0.0.1:$port" || status=$?
if [ "$status" -ne 1 ]; then
  echo "FAIL: the whole server should be NOT_SERVING without Redis (probe exit $status, want 1)" >&2
  exit 1
fi
status=0
"$probe" --addr=not-an-address >/dev/null 2>&1 || status=$?
if [ "$status" -ne 2 ]; then
  echo "FAIL: a bad --addr should exit 2 (got $status)" >&2
  exit 1
fi

kill -TERM "$pid"
status=0
wait "$pid" || status=$?
if [ "$status" -ne 0 ]; then
  echo "FAIL: kefu-presence exited $status after SIGTERM, want 0" >&2
  cat "$log" >&2
  exit 1
fi
echo "probe: liveness SERVING and readiness NOT_SERVING without Redis; clean exit on SIGTERM"
