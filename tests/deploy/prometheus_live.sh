#!/usr/bin/env bash
# The monitoring deployment against a live stack (issue 8): Debian's Prometheus scrapes the
# seven services while `kefuctl demo` plays traffic, and every PromQL expression that
# deploy/grafana and deploy/prometheus hold must return data.
#   1. Redis and PostgreSQL: under ctest ($KEFU_TEST_ENV_FILE, the kefu_servers fixture) the
#      shared servers, with a fresh database and a Redis database number of our own (the
#      reporting, crm and router consumer groups have fixed names: stacks sharing a Redis
#      database would take each other's events); by hand, a throwaway redis-server and
#      PostgreSQL (initdb as the `postgres` user when run as root) in temporary folders.
#   2. The seven services on free ports, until `kefuctl health` says all are SERVING.
#   3. A prometheus.yml derived from deploy/prometheus/prometheus.yml: the same jobs (named
#      after the services, as the rules and dashboards expect) scraping the local metrics
#      ports, 1 s scrape and evaluation intervals, the repo's rule files; `promtool check
#      config` and `promtool check rules` pass; /usr/bin/prometheus on a free port.
#   4. Traffic: a tenant, `kefuctl demo` (~20 s of customers, queues, offers, dialogs,
#      ratings), and beside it what the demo does not do but panels show: knowledge base
#      questions to a bot (`kefuctl kb eval`: answers and escalations), report queries
#      (ReportService through `buf curl`, the project's buf), and a few calls that fail on
#      purpose (NOT_FOUND, UNAUTHENTICATED) for the "errors by code" panels.
#   5. Prometheus' /api/v1/query (curl) for:
#        - every target expr of every dashboard panel, Grafana variables substituted
#          ($tenant, $service, ... -> ".*"; $__rate_interval -> 15s, four scrape intervals);
#        - every dashboard variable query label_values(M, L): M must have series with L;
#        - the expr of every recording rule;
#        - every alert rule, without its thresholds: an alert is meant to be quiet on a
#          healthy stack, so "returns data" cannot mean "fires". Its expression is split at
#          its top-level set operators (and / or / unless, with their on(...)/ignoring(...))
#          and each operand loses its trailing comparison with a number (`> 120`, `== 0`);
#          every operand must return at least one series. `A > 0 unless on(t) B > 0` checks
#          A and B: had B no series, the alert would fire whenever A > 0, whatever B says.
#      Each prints "ok" (with its series count) or "NO DATA"; any NO DATA fails the test, by
#      name. ALLOW_NO_DATA below lists expressions that cannot have data in a short demo,
#      each with its reason (kept empty unless truly impossible).
#   6. Every process it started is stopped on exit (trap), also on failure; on failure the
#      service and Prometheus logs are kept and their folder printed.
#   tests/deploy/prometheus_live.sh <build>/bin
#   (ctest: "e2e: prometheus scrapes the running stack and every dashboard panel and alert
#    expression has data")
set -euo pipefail
bin=$(cd "${1:?usage: prometheus_live.sh <build>/bin}" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
start_time=$(date +%s)

# Expressions allowed to have no data, as "expression<TAB>reason". Keep it minimal and honest.
ALLOW_NO_DATA=()

say() { echo "prometheus_live: $*"; }
die() {
  echo "prometheus_live: FAILED: $*" >&2
  exit 1
}

missing=()
for tool in prometheus promtool redis-server redis-cli psql curl python3; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
python3 -c 'import yaml' 2>/dev/null || missing+=("python3-yaml")
buf="$root/.tools/node_modules/.bin/buf"
[ -x "$buf" ] || missing+=("buf (under .tools/)")
for b in kefuctl kefu-gateway kefu-identity kefu-router kefu-presence kefu-kb kefu-crm kefu-reporting; do
  [ -x "$bin/$b" ] || missing+=("$bin/$b")
done
if [ "${#missing[@]}" -gt 0 ]; then
  die "missing ${missing[*]}: run scripts/install-deps.sh (prometheus: Debian's package) and build"
fi

services=(gateway identity router presence kb crm reporting)
jwt_key="prometheus-live-signing-key-0123456789abcdef"
run_id="promlive$$$RANDOM"
work=$(mktemp -d "${TMPDIR:-/tmp}/kefu-prom-live-XXXXXX")
chmod 755 "$work"
logs="$work/logs"
mkdir -p "$logs"

# --- cleanup: everything this script started, in reverse order -------------------------------
pids=()           # services, Prometheus, background kefuctl: SIGTERM, then SIGKILL
redis_pid=""      # our own redis-server, when not under ctest
pg_data=""        # our own PostgreSQL's data folder, when not under ctest
pg_bin=""
shared_pg_admin=""  # under ctest: the shared server's admin DSN, to drop our database
fresh_db=""
shared_redis=""   # under ctest: the URL of our Redis database, flushed at the end
claimed_db=""
failed=1
stop_pids() {
  local sig=$1
  shift
  local p
  for p in "$@"; do kill "-$sig" "$p" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    local alive=0
    for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ "$alive" -eq 0 ] && return 0
    sleep 0.1
  done
  for p in "$@"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in "$@"; do wait "$p" 2>/dev/null || true; done
}
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  [ "${#pids[@]}" -gt 0 ] && stop_pids TERM "${pids[@]}"
  if [ -n "$shared_redis" ]; then
    redis-cli -u "$shared_redis" FLUSHDB >/dev/null 2>&1
    redis-cli -u "$redis_base/0" DEL "kefu-test:db:$claimed_db" >/dev/null 2>&1
  fi
  if [ -n "$fresh_db" ]; then
    psql "$shared_pg_admin" -qAt -c "DROP DATABASE IF EXISTS \"$fresh_db\" WITH (FORCE)" \
      >/dev/null 2>&1
  fi
  [ -n "$redis_pid" ] && stop_pids TERM "$redis_pid"
  if [ -n "$pg_data" ]; then
    "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_data" -m immediate -w stop >/dev/null 2>&1
    rm -rf "$(dirname "$pg_data")"
  fi
  if [ "$rc" -eq 0 ] && [ "$failed" -eq 0 ]; then
    rm -rf "$work"
  else
    find "$work" -mindepth 1 -maxdepth 1 ! -name logs -exec rm -rf {} + 2>/dev/null
    echo "prometheus_live: logs of the services, Prometheus and kefuctl kept in $logs" >&2
  fi
  say "ran $(($(date +%s) - start_time)) s"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Free TCP ports on 127.0.0.1, all distinct (bound together, then released).
free_ports() {
  python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
EOF
}

# --- 1. Redis and PostgreSQL ----------------------------------------------------------------
as_pg=()
if [ -n "${KEFU_TEST_ENV_FILE:-}" ] && [ -s "${KEFU_TEST_ENV_FILE}" ]; then
  redis_base=$(sed -n 's/^redis_url=//p' "$KEFU_TEST_ENV_FILE" | head -n 1)
  shared_pg_admin=$(sed -n 's/^pg_dsn=//p' "$KEFU_TEST_ENV_FILE" | head -n 1)
  if [ -z "$redis_base" ] || [ -z "$shared_pg_admin" ]; then
    die "$KEFU_TEST_ENV_FILE has no redis_url or pg_dsn (the test_env_start fixture writes them)"
  fi
  # A Redis database of our own (1..15), claimed in database 0 with the key kefu-test:db:<n>
  # the way the e2e stacks (tests/e2e/stack.h) claim theirs: crm, reporting and the router
  # read every tenant's stream under fixed consumer groups, so two stacks must not share one.
  redis_base=${redis_base%/}
  for _ in $(seq 300); do
    for db in $(shuf -i 1-15); do
      if [ "$(redis-cli -u "$redis_base/0" SET "kefu-test:db:$db" "$$" NX EX 900 2>/dev/null)" = OK ]; then
        shared_redis="$redis_base/$db"
        claimed_db=$db
        redis-cli -u "$shared_redis" FLUSHDB >/dev/null
        break 2
      fi
    done
    sleep 0.2
  done
  [ -n "$shared_redis" ] || die "no free Redis database (1..15) on $redis_base"
  redis_url=$shared_redis
  fresh_db="prom_live_$(date +%s)_$$"
  psql "$shared_pg_admin" -qAt -c "CREATE DATABASE \"$fresh_db\"" ||
    die "CREATE DATABASE $fresh_db on $shared_pg_admin"
  pg_dsn=$(sed -E "s/dbname=[^ ]*/dbname=$fresh_db/" <<<"$shared_pg_admin")
  [[ "$pg_dsn" == *"dbname=$fresh_db"* ]] || pg_dsn="$pg_dsn dbname=$fresh_db"
  say "shared servers from $KEFU_TEST_ENV_FILE: Redis $redis_url, database $fresh_db"
else
  read -r redis_port pg_port < <(free_ports 2)
  mkdir -p "$work/redis"
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work/redis" --save "" \
    --appendonly no --daemonize no --protected-mode no >"$logs/redis.log" 2>&1 &
  redis_pid=$!
  redis_url="redis://127.0.0.1:$redis_port"

  if [ -n "${KEFU_PG_BINDIR:-}" ]; then
    pg_bin=$KEFU_PG_BINDIR
  else
    pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  fi
  [ -x "$pg_bin/initdb" ] || die "no PostgreSQL server binaries (install postgresql)"
  pg_dir=$(mktemp -d "${TMPDIR:-/tmp}/kefu-prom-live-pg-XXXXXX")
  if [ "$(id -u)" -eq 0 ]; then
    # PostgreSQL refuses to run as root.
    chown postgres:postgres "$pg_dir"
    as_pg=(runuser -u postgres --)
  fi
  pg_data="$pg_dir/data"
  "${as_pg[@]}" "$pg_bin/initdb" -D "$pg_data" -U postgres -A trust -E UTF8 --locale=C \
    --no-sync >"$pg_dir/initdb.log" 2>&1 || {
    cat "$pg_dir/initdb.log" >&2
    pg_data=""
    rm -rf "$pg_dir"
    die "initdb failed"
  }
  "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_data" -w -t 30 -l "$pg_dir/postgres.log" \
    -o "-p $pg_port -k $pg_dir -c listen_addresses=127.0.0.1 -c fsync=off \
        -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null || {
    cp "$pg_dir/postgres.log" "$logs/" 2>/dev/null
    die "PostgreSQL did not start"
  }
  for _ in $(seq 1 100); do
    redis-cli -p "$redis_port" PING >/dev/null 2>&1 && break
    sleep 0.1
  done
  redis-cli -p "$redis_port" PING >/dev/null 2>&1 || die "redis-server did not answer PING"
  psql "host=127.0.0.1 port=$pg_port user=postgres dbname=postgres" -qAt -c "CREATE DATABASE kefu"
  pg_dsn="host=127.0.0.1 port=$pg_port user=postgres dbname=kefu"
  say "own servers: Redis $redis_url, PostgreSQL $pg_dsn"
fi

# --- 2. the seven services --------------------------------------------------------------------
read -r -a ports < <(free_ports $((2 * ${#services[@]} + 1)))
declare -A grpc_port metrics_port
i=0
for svc in "${services[@]}"; do
  grpc_port[$svc]=${ports[$i]}
  metrics_port[$svc]=${ports[$((i + 1))]}
  i=$((i + 2))
  export "KEFU_${svc^^}_ADDR=127.0.0.1:${grpc_port[$svc]}"
done
prom_port=${ports[$i]}
for svc in "${services[@]}"; do
  KEFU_GRPC_ADDR="127.0.0.1:${grpc_port[$svc]}" KEFU_METRICS_ADDR="127.0.0.1:${metrics_port[$svc]}" \
    KEFU_PG_DSN="$pg_dsn" KEFU_REDIS_URL="$redis_url" KEFU_JWT_KEY="$jwt_key" \
    KEFU_HEALTH_INTERVAL=250ms KEFU_DEPENDENCY_TIMEOUT=1s KEFU_DRAIN_TIMEOUT=2s \
    KEFU_GATEWAY_EVENT_GROUP="gateway-$run_id" KEFU_CAPABILITY_SYNC_INTERVAL=5s \
    "$bin/kefu-$svc" >"$logs/$svc.log" 2>&1 &
  pids+=($!)
done
healthy=0
for _ in $(seq 1 120); do
  if "$bin/kefuctl" health >"$logs/health.txt" 2>&1; then
    healthy=1
    break
  fi
  for p in "${pids[@]}"; do
    kill -0 "$p" 2>/dev/null || die "a service exited at start; see $logs/"
  done
  sleep 0.25
done
[ "$healthy" -eq 1 ] || {
  cat "$logs/health.txt" >&2
  die "the services were not all SERVING within 30 s"
}
say "seven services SERVING (gRPC ports $(for s in "${services[@]}"; do printf '%s ' "${grpc_port[$s]}"; done | sed 's/ $//'))"

# --- 3. Prometheus ----------------------------------------------------------------------------
mkdir -p "$work/prometheus/data"
prom_cfg="$work/prometheus/prometheus.yml"
targets=""
for svc in "${services[@]}"; do targets+="$svc=127.0.0.1:${metrics_port[$svc]},"; done
targets+="prometheus=127.0.0.1:$prom_port"
python3 - "$root/deploy/prometheus/prometheus.yml" "$prom_cfg" "$targets" <<'EOF' ||
import glob, os, sys, yaml
src, out, targets = sys.argv[1:]
targets = dict(t.split("=", 1) for t in targets.split(","))
cfg = yaml.safe_load(open(src))
base = os.path.dirname(os.path.abspath(src))
cfg["global"] = dict(cfg.get("global") or {}, scrape_interval="1s", scrape_timeout="1s",
                     evaluation_interval="1s")
rule_files = []
for pattern in cfg.get("rule_files") or []:
    matched = sorted(glob.glob(os.path.join(base, pattern)))
    if not matched:
        sys.exit(f"{src}: rule_files entry {pattern} matches no file")
    rule_files += matched
cfg["rule_files"] = rule_files
jobs = set()
for job in cfg.get("scrape_configs") or []:
    name = job["job_name"]
    if name not in targets:
        sys.exit(f"{src}: job {name} is not a kefu service this test runs (nor prometheus)")
    jobs.add(name)
    job["static_configs"] = [{"targets": [targets[name]]}]
for name in targets:
    if name not in jobs:
        sys.exit(f"{src}: no scrape job {name}")
yaml.safe_dump(cfg, open(out, "w"), sort_keys=False)
EOF
  die "cannot derive a prometheus.yml from deploy/prometheus/prometheus.yml"
promtool check config "$prom_cfg" >"$logs/promtool.txt" 2>&1 || {
  cat "$logs/promtool.txt" >&2
  die "promtool check config (the derived config; see above)"
}
promtool check rules "$root"/deploy/prometheus/rules/*.yml >>"$logs/promtool.txt" 2>&1 || {
  cat "$logs/promtool.txt" >&2
  die "promtool check rules (see above)"
}
say "promtool check config and rules: SUCCESS"
prometheus --config.file="$prom_cfg" --storage.tsdb.path="$work/prometheus/data" \
  --web.listen-address="127.0.0.1:$prom_port" --log.level=info >"$logs/prometheus.log" 2>&1 &
prom_pid=$!
pids+=("$prom_pid")
prom="http://127.0.0.1:$prom_port"
for _ in $(seq 1 100); do
  curl -fsS "$prom/-/ready" >/dev/null 2>&1 && break
  kill -0 "$prom_pid" 2>/dev/null || die "prometheus exited at start; see $logs/prometheus.log"
  sleep 0.2
done
curl -fsS "$prom/-/ready" >/dev/null 2>&1 || die "prometheus was not ready within 20 s"
say "prometheus $(prometheus --version 2>&1 | head -n 1 | awk '{print $3}') on $prom, scraping every 1 s"

# --- 4. traffic -------------------------------------------------------------------------------
tenant="t-promlive-$(printf '%08x' $((RANDOM * 32768 + RANDOM)))"
password="prom-live-admin-password"
KEFU_JWT_KEY="$jwt_key" "$bin/kefuctl" tenant create "$tenant" "Prometheus live" admin "$password" \
  >"$logs/tenant.txt" 2>&1 || {
  cat "$logs/tenant.txt" >&2
  die "kefuctl tenant create"
}
# As the tenant's admin from here on (kefuctl mints the token from the deployment key).
export KEFU_JWT_KEY="$jwt_key" KEFUCTL_TENANT="$tenant"
demo_duration=20
"$bin/kefuctl" demo --duration "$demo_duration" --rate 2 --agents 4 --drain 60 \
  --admin-password "$password" >"$logs/demo.txt" 2>&1 &
demo_pid=$!
pids+=("$demo_pid")
say "tenant $tenant; kefuctl demo --duration $demo_duration --rate 2 --agents 4 running"

# The bot answers and escalates (decision="escalate" for the escalation panel).
"$bin/kefuctl" kb import "$root/testdata/kb/kb.jsonl" >"$logs/kb.txt" 2>&1 ||
  die "kefuctl kb import; see $logs/kb.txt"
"$bin/kefuctl" kb eval "$root/testdata/kb/queries_dev.jsonl" >>"$logs/kb.txt" 2>&1 ||
  die "kefuctl kb eval; see $logs/kb.txt"
bot=$(sed -n 's/^created bot \([^ ]*\) .*/\1/p' "$logs/kb.txt" | head -n 1)
if [ -n "$bot" ]; then
  "$bin/kefuctl" kb ask "$bot" "what is the capital of the planet Jupiter" >>"$logs/kb.txt" 2>&1 || true
fi
say "knowledge base: imported testdata/kb/kb.jsonl, bot asked every query of queries_dev.jsonl"

# Calls that fail on purpose: the "errors by code" and "failing methods" panels show them.
"$bin/kefuctl" customer show no-such-customer >"$logs/errors.txt" 2>&1 &&
  die "kefuctl customer show no-such-customer succeeded (expected NOT_FOUND)"
"$bin/kefuctl" --token not-a-token user list >>"$logs/errors.txt" 2>&1 &&
  die "kefuctl --token not-a-token user list succeeded (expected UNAUTHENTICATED)"

# Report queries (ReportService; kefuctl has no report command): buf curl over gRPC.
token=$("$bin/kefuctl" login "$tenant" admin "$password" 2>"$logs/login.txt") ||
  die "kefuctl login; see $logs/login.txt"
query_reports() {
  local from to m
  from=$(date -u -d '-1 day' +%Y-%m-%dT%H:%M:%SZ)
  to=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
  for m in GetSatisfactionReport GetGroupDailyReport GetGroupHourlyReport GetAgentDailyReport \
           GetOnlineTimeReport GetOfflineMessageReport GetAgentScorecard; do
    echo "== $m" >>"$logs/reports.txt"
    "$buf" curl --schema "$root" --protocol grpc --http2-prior-knowledge \
      -H "authorization: Bearer $token" \
      -d "{\"filter\":{\"timeRange\":{\"startTime\":\"$from\",\"endTime\":\"$to\"}}}" \
      "http://127.0.0.1:${grpc_port[reporting]}/kefu.reporting.v1.ReportService/$m" \
      >"$work/report.out" 2>&1 || report_failures+=("$m: $(tr -s ' \n' ' ' <"$work/report.out")")
    cat "$work/report.out" >>"$logs/reports.txt"
  done
}
# A report that fails is not what this test checks (tests/integration check the reports); it is
# named here, and its metrics (kefu_rpc_requests_total with the error code) are still data.
report_failures=()
sleep 5
query_reports
say "reports: asked the seven ReportService queries (${#report_failures[@]} failed)"

demo_rc=0
wait "$demo_pid" || demo_rc=$?
summary=$(grep '^demo contacts=' "$logs/demo.txt" | tail -n 1 || true)
[ -n "$summary" ] || {
  tail -n 30 "$logs/demo.txt" >&2
  die "kefuctl demo printed no summary (exit $demo_rc)"
}
say "kefuctl demo exit $demo_rc: $summary"
query_reports  # again, now that the demo's dialogs are in the rollups
if [ "${#report_failures[@]}" -gt 0 ]; then
  printf '%s\n' "${report_failures[@]}" | sort -u | sed 's/^/prometheus_live: WARNING: ReportService\//' >&2
fi

# --- 5. every expression ----------------------------------------------------------------------
allow_file="$work/allow.tsv"
: >"$allow_file"
for a in "${ALLOW_NO_DATA[@]}"; do printf '%s\n' "$a" >>"$allow_file"; done
check_rc=0
python3 - "$root" "$prom" "$allow_file" <<'EOF' || check_rc=$?
import glob, json, os, re, subprocess, sys, time
import yaml

root, prom, allow_file = sys.argv[1:]
rate_interval = "15s"  # Grafana's $__rate_interval: four 1 s scrape intervals, at least 15 s
builtins = {"__rate_interval": rate_interval, "__interval": "1s", "__range": "1h",
            "__range_s": "3600", "__range_ms": "3600000", "__interval_ms": "1000"}
allow = {}
for line in open(allow_file, encoding="utf-8"):
    if line.strip():
        expr, reason = line.rstrip("\n").split("\t", 1)
        allow[expr] = reason

def split_top(expr, pattern):
    """Splits expr at matches of pattern outside (), {}, [] and string literals."""
    parts, depth, start, i, quote = [], 0, 0, 0, None
    while i < len(expr):
        c = expr[i]
        if quote:
            if c == "\\":
                i += 2
                continue
            if c == quote:
                quote = None
        elif c in "\"'`":
            quote = c
        elif c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif depth == 0:
            m = pattern.match(expr, i)
            if m and (i == 0 or not (expr[i - 1].isalnum() or expr[i - 1] in "_:")):
                parts.append((expr[start:i], m.group(0)))
                start = i = m.end()
                continue
        i += 1
    parts.append((expr[start:], None))
    return parts

set_op = re.compile(r"(and|or|unless)\b\s*((on|ignoring)\s*\([^)]*\))?", re.S)
comparison = re.compile(r"(==|!=|>=|<=|>|<)\s*(bool\s+)?")
number = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")

def alert_operands(expr):
    """The operands of an alert's top-level set operators, each without `op number`."""
    out = []
    for operand, _ in split_top(expr, set_op):
        pieces = split_top(operand, comparison)
        if len(pieces) == 2 and number.match(pieces[1][0]):
            operand = pieces[0][0]
        out.append(" ".join(operand.split()))
    return out

checks = []  # (where, expr, label that must be set or None)
for rule_file in sorted(glob.glob(os.path.join(root, "deploy/prometheus/rules/*.yml"))):
    rel = os.path.relpath(rule_file, root)
    for group in (yaml.safe_load(open(rule_file)) or {}).get("groups") or []:
        for rule in group.get("rules") or []:
            expr = str(rule["expr"])
            if "record" in rule:
                checks.append((f"{rel} record {rule['record']}", " ".join(expr.split()), None))
            else:
                ops = alert_operands(expr)
                for n, op in enumerate(ops):
                    what = "" if len(ops) == 1 else f" operand {n + 1}/{len(ops)}"
                    checks.append((f"{rel} alert {rule['alert']}{what} (threshold removed)", op, None))

for path in sorted(glob.glob(os.path.join(root, "deploy/grafana/dashboards/*.json"))):
    rel = os.path.relpath(path, root)
    d = json.load(open(path, encoding="utf-8"))
    variables = {v["name"]: v for v in (d.get("templating") or {}).get("list") or []}
    def substitute(expr, where):
        def repl(m):
            name = m.group(1) or m.group(2)
            if name in builtins:
                return builtins[name]
            if name in variables:
                return ".*"  # "All" of a variable: a regex matching every value
            sys.exit(f"{rel} {where}: uses ${name}, which the dashboard does not define")
        return re.sub(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)", repl, expr)
    for name, v in variables.items():
        if v.get("type") != "query":
            continue
        q = v["query"] if isinstance(v["query"], str) else v["query"].get("query", "")
        m = re.fullmatch(r"\s*label_values\((.*),\s*(\w+)\s*\)\s*", q, re.S)
        if m:
            checks.append((f"{rel} variable {name}", f"group by ({m.group(2)}) ({m.group(1)})",
                           m.group(2)))
        else:
            checks.append((f"{rel} variable {name}", substitute(q, f"variable {name}"), None))
    panels = []
    for p in d.get("panels") or []:
        panels.append(p)
        panels.extend(p.get("panels") or [])
    for p in panels:
        for t in p.get("targets") or []:
            if t.get("expr"):
                where = f"{rel} panel {p['id']} \"{p.get('title', '')}\" {t.get('refId', '')}"
                checks.append((where, " ".join(substitute(t["expr"], where).split()), None))

def query(expr):
    out = subprocess.run(["curl", "-sS", "--max-time", "10", "-G", f"{prom}/api/v1/query",
                          "--data-urlencode", f"query={expr}"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        return None, f"curl: {out.stderr.strip()}"
    try:
        body = json.loads(out.stdout)
    except ValueError:
        return None, f"not JSON: {out.stdout[:200]}"
    if body.get("status") != "success":
        return None, f"{body.get('errorType')}: {body.get('error')}"
    data = body["data"]
    if data["resultType"] == "scalar":
        return [{"metric": {}, "value": data["result"]}], None
    return data["result"], None

def evaluate():
    results = []
    for where, expr, label in checks:
        series, error = query(expr)
        if series is not None and label:
            series = [s for s in series if s["metric"].get(label)]
        results.append((where, expr, series, error))
    return results

# Recorded series and rate windows need a few evaluations after the traffic: retry a while.
deadline = time.time() + 45
while True:
    results = evaluate()
    missing = [r for r in results if not r[2] and r[1] not in allow]
    if not missing or time.time() > deadline:
        break
    time.sleep(3)

bad = []
for where, expr, series, error in results:
    if series:
        sample = ", ".join(f"{s['value'][1]}" for s in series[:3])
        print(f"ok       {where}: {len(series)} series (e.g. {sample})")
        print(f"           {expr}")
    elif expr in allow:
        print(f"allowed  {where}: no data, allowed: {allow[expr]}")
        print(f"           {expr}")
    else:
        print(f"NO DATA  {where}{': ' + error if error else ''}")
        print(f"           {expr}")
        bad.append(where)
unused = [e for e in allow if e not in {r[1] for r in results}]
for e in unused:
    print(f"NOTE: allow-listed expression no longer used: {e}")
have = sum(1 for r in results if r[2])
allowed = len(results) - have - len(bad)
print(f"prometheus_live: {have}/{len(results)} expressions have data"
      f"{f', {allowed} allowed without' if allowed else ''} (dashboard panels and variables, "
      f"recording rules, alert operands)")
if bad:
    print("prometheus_live: NO DATA for:", file=sys.stderr)
    for where in bad:
        print(f"  {where}", file=sys.stderr)
    sys.exit(1)
EOF
[ "$check_rc" -eq 0 ] || die "expressions without data (listed above)"
failed=0
say "all checks passed"
