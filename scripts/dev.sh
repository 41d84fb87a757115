#!/usr/bin/env bash
# Runs the whole kefu stack on this machine: installs dependencies, builds, starts a
# local PostgreSQL and Redis (data kept under .kefu/), the seven services, and prints
# the endpoints. Ctrl-C stops everything cleanly.
#
#   KEFU_DEV_DATA      where data and logs live            (default: <repo>/.kefu)
#   KEFU_DEV_PG_PORT   port of the local PostgreSQL         (default: 15432)
#   KEFU_DEV_REDIS_PORT port of the local Redis             (default: 16379)
#   KEFU_DEV_BIND      interface the services listen on     (default: 127.0.0.1)
#   KEFU_DEV_TENANT    demo tenant created at start         (default: demo)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build="${KEFU_BUILD_DIR:-$root/build}"
data="${KEFU_DEV_DATA:-$root/.kefu}"
pg_port="${KEFU_DEV_PG_PORT:-15432}"
redis_port="${KEFU_DEV_REDIS_PORT:-16379}"
bind="${KEFU_DEV_BIND:-127.0.0.1}"
services=(gateway identity router presence kb crm reporting)

"$root/scripts/install-deps.sh"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE="${KEFU_BUILD_TYPE:-Release}" >/dev/null
cmake --build "$build" --parallel "$(nproc)"
bin="$build/bin"

mkdir -p "$data/logs" "$data/redis" "$data/pg"
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)

# PostgreSQL refuses to run as root: run it as the postgres user.
as_pg=()
if [ "$(id -u)" -eq 0 ]; then
  chown postgres:postgres "$data/pg"
  as_pg=(runuser -u postgres --)
  if ! runuser -u postgres -- test -w "$data/pg"; then
    echo "dev.sh: the postgres user cannot write $data/pg (a parent folder is private);" >&2
    echo "        set KEFU_DEV_DATA to a folder it can reach, e.g. /var/tmp/kefu" >&2
    exit 1
  fi
fi

pids=()
stop_all() {
  trap - INT TERM EXIT
  echo
  echo "dev.sh: stopping services"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  echo "dev.sh: stopping Redis and PostgreSQL"
  redis-cli -p "$redis_port" shutdown >/dev/null 2>&1 || true
  "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$data/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  echo "dev.sh: stopped; data kept in $data"
}
trap stop_all INT TERM EXIT

# --- Redis: AOF on, as production runs it -------------------------------------------
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$data/redis" --appendonly yes \
  --appendfsync everysec --daemonize no --logfile "$data/logs/redis.log" &
pids+=($!)

# --- PostgreSQL ---------------------------------------------------------------------
if [ ! -f "$data/pg/data/PG_VERSION" ]; then
  "${as_pg[@]}" "$pg_bin/initdb" -D "$data/pg/data" -U postgres -A trust -E UTF8 --locale=C \
    >"$data/logs/initdb.log"
fi
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$data/pg/data" -w -l "$data/pg/postgres.log" \
  -o "-p $pg_port -k $data/pg -c listen_addresses=127.0.0.1" start >/dev/null
for _ in $(seq 1 50); do
  redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break
  sleep 0.1
done
psql_cmd=(psql -h 127.0.0.1 -p "$pg_port" -U postgres -qAt)
if [ "$("${psql_cmd[@]}" -c "SELECT 1 FROM pg_database WHERE datname = 'kefu'")" != "1" ]; then
  "${psql_cmd[@]}" -c "CREATE DATABASE kefu"
fi

# --- The seven services -------------------------------------------------------------
export KEFU_PG_DSN="host=127.0.0.1 port=$pg_port user=postgres dbname=kefu"
export KEFU_REDIS_URL="redis://127.0.0.1:$redis_port"
export KEFU_JWT_KEY="${KEFU_JWT_KEY:-dev-only-signing-key-change-me-0123456789}"
port=7001
for svc in "${services[@]}"; do
  export "KEFU_${svc^^}_ADDR=127.0.0.1:$port"
  port=$((port + 1))
done
i=0
for svc in "${services[@]}"; do
  KEFU_GRPC_ADDR="$bind:$((7001 + i))" KEFU_METRICS_ADDR="$bind:$((9101 + i))" \
    "$bin/kefu-$svc" >>"$data/logs/$svc.log" 2>&1 &
  pids+=($!)
  i=$((i + 1))
done

echo "dev.sh: waiting for the services to report SERVING"
for _ in $(seq 1 60); do
  "$bin/kefuctl" health >/dev/null 2>&1 && break
  sleep 0.5
done
"$bin/kefuctl" health || echo "dev.sh: not every service is SERVING yet; see $data/logs/"

# A demo tenant and its admin (idempotent: a second run finds them).
demo_tenant="${KEFU_DEV_TENANT:-demo}"
demo_password="${KEFU_DEV_ADMIN_PASSWORD:-demo-admin-password}"
"$bin/kefuctl" tenant create "$demo_tenant" "Demo shop" admin "$demo_password" ||
  echo "dev.sh: could not create the demo tenant; see $data/logs/identity.log"

cat <<INFO

kefu is running.
  service    gRPC               metrics
  gateway    $bind:7001     http://$bind:9101/metrics
  identity   $bind:7002     http://$bind:9102/metrics
  router     $bind:7003     http://$bind:9103/metrics
  presence   $bind:7004     http://$bind:9104/metrics
  kb         $bind:7005     http://$bind:9105/metrics
  crm        $bind:7006     http://$bind:9106/metrics
  reporting  $bind:7007     http://$bind:9107/metrics
  PostgreSQL $KEFU_PG_DSN
  Redis      $KEFU_REDIS_URL
  logs       $data/logs/
  tenant     $demo_tenant, admin "admin" / "$demo_password"
  try        $bin/kefuctl health   |   $bin/kefuctl services
             export KEFUCTL_TOKEN=\$($bin/kefuctl login $demo_tenant admin $demo_password)
             $bin/kefuctl user create alice agent alice-password "Alice"
             $bin/kefuctl --tenant $demo_tenant demo --duration 60 --admin-password $demo_password

Press Ctrl-C to stop.
INFO
wait "${pids[@]}"
