#!/usr/bin/env bash
# Validates the monitoring deployment offline (no Prometheus or Grafana server):
#   1. yamllint (.yamllint) over deploy/prometheus and deploy/grafana;
#   2. `promtool check config` of prometheus.yml and kubernetes.yml (and the rule files it loads),
#      `promtool check rules` on every rule file, `promtool test rules` on every test file;
#   3. a scrape job per kefu service of docker-compose.yml, named after it, on its metrics port;
#      for Kubernetes (deploy/prometheus/kubernetes.yml), `job` from the pod label
#      app.kubernetes.io/component, which every Deployment sets to its compose service name;
#   4. every alert has a unit test that shows it firing and one that shows it quiet; every
#      recording rule is evaluated by a unit test;
#   5. Grafana provisioning (data source uid and http://prometheus:9090, file provider path)
#      and every dashboard under deploy/grafana/dashboards: valid JSON, schemaVersion 39,
#      unique uids and panel ids, gridPos inside 24 columns without overlaps, targets with
#      refId and expr, the provisioned data source uid, template variables defined;
#   6. every panel expression is valid PromQL (each becomes a recording rule in a temporary
#      file checked with `promtool check rules`; Grafana variables replaced first);
#   7. every kefu_* metric in a rule, panel or variable is registered in the C++ sources (a
#      quoted "kefu_..." name under libs/ or services/; _bucket/_sum/_count of a histogram),
#      and every recorded series (level:metric:operation) a dashboard uses is recorded by a rule.
#   tests/deploy/monitoring.sh      (ctest: "deploy: prometheus rules, alerts and dashboards are valid")
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
node_modules="$root/.tools/node_modules"

missing=()
for tool in promtool yamllint node; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
[ -d "$node_modules/yaml" ] || missing+=("npm:yaml (under .tools/)")
if [ "${#missing[@]}" -gt 0 ]; then
  echo "monitoring: missing ${missing[*]}: run scripts/install-deps.sh (promtool: Debian's prometheus)" >&2
  exit 1
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$root"
failed=0
fail() {
  echo "monitoring: FAILED: $*" >&2
  failed=1
}

shopt -s nullglob
rule_files=(deploy/prometheus/rules/*.yml)
test_files=(deploy/prometheus/tests/*.yml)
dashboards=(deploy/grafana/dashboards/*.json)
shopt -u nullglob
[ "${#rule_files[@]}" -gt 0 ] || fail "no rule files in deploy/prometheus/rules/"
[ "${#test_files[@]}" -gt 0 ] || fail "no rule unit tests in deploy/prometheus/tests/"
[ "${#dashboards[@]}" -gt 0 ] || fail "no dashboards in deploy/grafana/dashboards/"

echo "monitoring: yamllint deploy/prometheus deploy/grafana"
yamllint --strict -c .yamllint deploy/prometheus deploy/grafana || fail "yamllint (see above)"

echo "monitoring: promtool check config deploy/prometheus/prometheus.yml"
promtool check config --lint-fatal deploy/prometheus/prometheus.yml || fail "promtool check config (see above)"
# Debian builds Prometheus without Kubernetes service discovery, so its promtool rejects
# kubernetes_sd_configs: check a copy with file_sd_configs in its place (everything else,
# relabel regexes and rule files included, as written).
echo "monitoring: promtool check config deploy/prometheus/kubernetes.yml (pod discovery as file_sd)"
mkdir -p "$work/k8s"
cp -r deploy/prometheus/rules "$work/k8s/"
sed -e 's/^\( *\)kubernetes_sd_configs:/\1file_sd_configs:/' \
    -e 's/^\( *\)- role: pod$/\1- files: [pods.json]/' \
    deploy/prometheus/kubernetes.yml >"$work/k8s/prometheus.yml"
grep -q 'files: \[pods.json\]' "$work/k8s/prometheus.yml" || fail "kubernetes.yml: no '- role: pod' discovery"
promtool check config --lint-fatal "$work/k8s/prometheus.yml" || fail "promtool check config kubernetes.yml (see above)"

if [ "${#rule_files[@]}" -gt 0 ]; then
  echo "monitoring: promtool check rules ${rule_files[*]}"
  promtool check rules --lint-fatal "${rule_files[@]}" || fail "promtool check rules (see above)"
fi

if [ "${#test_files[@]}" -gt 0 ]; then
  echo "monitoring: promtool test rules ${test_files[*]}"
  promtool test rules "${test_files[@]}" || fail "promtool test rules (see above)"
fi

# Steps 3-5 and 7, and the temporary rule file of step 6.
cat >"$work/check.cjs" <<'EOF'
'use strict';
const fs = require('fs');
const path = require('path');
const [root, nodeModules, out] = process.argv.slice(2);
const YAML = require(path.join(nodeModules, 'yaml'));

const failures = [];
const fail = (msg) => failures.push(msg);
const say = (msg) => console.log(`monitoring: ${msg}`);
const rel = (p) => path.relative(root, p);
const readYaml = (p) => YAML.parse(fs.readFileSync(p, 'utf8'), { merge: true }) || {};
const list = (dir, ext) => (fs.existsSync(dir) ? fs.readdirSync(dir) : [])
  .filter((f) => f.endsWith(ext)).sort().map((f) => path.join(dir, f));

// PromQL text without its string literals (label values, regexes).
const stripStrings = (expr) => expr.replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""');
const kefuNames = (expr) => stripStrings(expr).match(/(?<![\w:])kefu_\w+(?![\w:])/g) || [];
const recordedNames = (expr) =>
  (stripStrings(expr).match(/(?<![\w:.])[A-Za-z_][\w]*:[\w:]*|(?<![\w:.]):[\w:]+/g) || [])
    .filter((n) => !/^\d/.test(n));

// --- 7. metric names the services register --------------------------------------------------
// name -> counter, gauge, histogram, summary (from prometheus::BuildX().Name("...")), or
// "other" for a quoted name registered some other way.
const defined = new Map();
const walk = (dir) => {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(p);
    else if (/\.(cc|h|cpp|hpp)$/.test(entry.name)) {
      const src = fs.readFileSync(p, 'utf8');
      for (const m of src.matchAll(/"(kefu_\w+)"/g)) if (!defined.has(m[1])) defined.set(m[1], 'other');
      for (const m of src.matchAll(/Build(Counter|Gauge|Histogram|Summary)\(\)\s*\.Name\(\s*"(kefu_\w+)"/g)) {
        defined.set(m[2], m[1].toLowerCase());
      }
    }
  }
};
for (const dir of ['libs', 'services']) walk(path.join(root, dir));
// Why a used name has no series, or null when it is registered.
const missingReason = (name) => {
  const kind = defined.get(name);
  if (kind === 'histogram' || kind === 'summary') {
    return `${name} is a ${kind}: use ${name}_bucket, _sum or _count`;
  }
  if (kind) return null;
  for (const [suffix, kinds] of [['_bucket', ['histogram']], ['_sum', ['histogram', 'summary']],
                                 ['_count', ['histogram', 'summary']]]) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    if (kinds.includes(defined.get(base))) return null;
    if (defined.has(base)) return `${name}: ${base} is a ${defined.get(base)}, it has no ${suffix} series`;
  }
  return `metric ${name} is not registered by any service (no "${name}" under libs/ or services/)`;
};
const isDefined = (name) => missingReason(name) === null;
const used = new Map();  // metric name -> places
const use = (expr, where) => {
  for (const name of kefuNames(expr)) {
    if (!used.has(name)) used.set(name, new Set());
    used.get(name).add(where);
  }
};

// --- 3. scrape jobs against docker-compose.yml ----------------------------------------------
const promCfg = readYaml(path.join(root, 'deploy/prometheus/prometheus.yml'));
const compose = readYaml(path.join(root, 'docker-compose.yml'));
const jobs = new Map();
for (const job of promCfg.scrape_configs || []) {
  const targets = (job.static_configs || []).flatMap((sc) => sc.targets || []);
  jobs.set(job.job_name, targets);
}
let kefuServices = 0;
for (const [name, svc] of Object.entries(compose.services || {})) {
  const addr = (svc.environment || {}).KEFU_METRICS_ADDR;
  if (!addr) continue;
  kefuServices++;
  const port = String(addr).split(':').pop();
  const want = `${name}:${port}`;
  if (!jobs.has(name)) {
    fail(`deploy/prometheus/prometheus.yml: no scrape job "${name}" (docker-compose service ${name}, ` +
         `metrics ${want}); the job name is the service label the rules and dashboards use`);
  } else if (!jobs.get(name).includes(want)) {
    fail(`deploy/prometheus/prometheus.yml: job "${name}" scrapes ${jobs.get(name).join(', ') || 'nothing'}; ` +
         `want ${want}`);
  }
}
if (kefuServices === 0) fail('docker-compose.yml: no service sets KEFU_METRICS_ADDR');
say(`scrape jobs: checked the ${kefuServices} kefu services of docker-compose.yml (a job named after ` +
    'each, scraping its metrics port)');

// Kubernetes (deploy/prometheus/kubernetes.yml): `job` is each pod's app.kubernetes.io/component
// label, so every kefu Deployment's pod template must carry the compose service name there, the
// labels the scrape config keeps, and a prometheus.io/port annotation naming its `metrics` port.
const k8sCfg = readYaml(path.join(root, 'deploy/prometheus/kubernetes.yml'));
const podJob = (k8sCfg.scrape_configs || []).find((j) => (j.kubernetes_sd_configs || []).length);
const relabels = (podJob && podJob.relabel_configs) || [];
const jobRule = relabels.find((r) => r.target_label === 'job');
if (!podJob) fail('deploy/prometheus/kubernetes.yml: no job with kubernetes_sd_configs');
else if (!jobRule || String(jobRule.source_labels) !== '__meta_kubernetes_pod_label_app_kubernetes_io_component') {
  fail('deploy/prometheus/kubernetes.yml: `job` must be set from the pod label app.kubernetes.io/component');
}
const composeMetrics = new Map();
for (const [name, svc] of Object.entries(compose.services || {})) {
  const addr = (svc.environment || {}).KEFU_METRICS_ADDR;
  if (addr) composeMetrics.set(name, String(addr).split(':').pop());
}
const k8sJobs = new Set();
for (const file of list(path.join(root, 'deploy/k8s/base'), '.yaml')) {
  for (const doc of YAML.parseAllDocuments(fs.readFileSync(file, 'utf8')).map((d) => d.toJSON())) {
    if (!doc || doc.kind !== 'Deployment') continue;
    const tpl = doc.spec.template.metadata || {};
    const labels = tpl.labels || {};
    const notes = tpl.annotations || {};
    const where = `${rel(file)} ${doc.metadata.name}`;
    const job = labels['app.kubernetes.io/component'];
    if (!composeMetrics.has(job)) {
      fail(`${where}: pod label app.kubernetes.io/component "${job}" is not a kefu service of ` +
           'docker-compose.yml (it becomes the `job` label the rules and dashboards group by)');
      continue;
    }
    k8sJobs.add(job);
    if (labels['app.kubernetes.io/part-of'] !== 'kefu') fail(`${where}: pod label app.kubernetes.io/part-of is not kefu`);
    if (notes['prometheus.io/scrape'] !== 'true') fail(`${where}: pod annotation prometheus.io/scrape is not "true"`);
    const ports = (doc.spec.template.spec.containers || []).flatMap((c) => c.ports || []);
    const metrics = ports.find((p) => p.name === 'metrics');
    if (!metrics) fail(`${where}: no container port named metrics`);
    else if (String(metrics.containerPort) !== String(notes['prometheus.io/port'])) {
      fail(`${where}: prometheus.io/port ${notes['prometheus.io/port']} is not the metrics port ${metrics.containerPort}`);
    } else if (String(metrics.containerPort) !== composeMetrics.get(job)) {
      fail(`${where}: metrics port ${metrics.containerPort}, docker-compose.yml has ${composeMetrics.get(job)}`);
    }
  }
}
for (const name of composeMetrics.keys()) {
  if (!k8sJobs.has(name)) fail(`deploy/k8s/base: no Deployment scraped as job "${name}"`);
}
say(`kubernetes scrape: ${k8sJobs.size} Deployments, each scraped as job = its compose service name`);

// --- rules -----------------------------------------------------------------------------------
const recorded = new Set();
const alerts = [];
let ruleCount = 0;
for (const file of list(path.join(root, 'deploy/prometheus/rules'), '.yml')) {
  for (const group of readYaml(file).groups || []) {
    for (const rule of group.rules || []) {
      ruleCount++;
      const where = `${rel(file)} ${rule.record || rule.alert}`;
      if (rule.record) recorded.add(rule.record);
      if (rule.alert) alerts.push(rule.alert);
      use(String(rule.expr || ''), where);
    }
  }
}
for (const file of list(path.join(root, 'deploy/prometheus/rules'), '.yml')) {
  for (const group of readYaml(file).groups || []) {
    for (const rule of group.rules || []) {
      for (const name of recordedNames(String(rule.expr || ''))) {
        if (!recorded.has(name)) fail(`${rel(file)} ${rule.record || rule.alert}: uses ${name}, which no rule records`);
      }
    }
  }
}

// --- 4. unit test coverage -------------------------------------------------------------------
const alertCases = new Map(alerts.map((a) => [a, { quiet: 0, firing: 0 }]));
const testedExprs = [];
for (const file of list(path.join(root, 'deploy/prometheus/tests'), '.yml')) {
  for (const t of readYaml(file).tests || []) {
    for (const c of t.alert_rule_test || []) {
      const entry = alertCases.get(c.alertname);
      if (!entry) {
        fail(`${rel(file)}: tests alert ${c.alertname}, which no rule defines`);
        continue;
      }
      if ((c.exp_alerts || []).length === 0) entry.quiet++;
      else entry.firing++;
    }
    for (const c of t.promql_expr_test || []) testedExprs.push(String(c.expr || ''));
  }
}
for (const [alert, c] of alertCases) {
  if (c.firing === 0) fail(`deploy/prometheus/tests: no test shows alert ${alert} firing`);
  if (c.quiet === 0) fail(`deploy/prometheus/tests: no test shows alert ${alert} quiet (exp_alerts: [])`);
}
const testedRecorded = new Set(testedExprs.flatMap(recordedNames));
const untested = [...recorded].filter((r) => !testedRecorded.has(r));
for (const r of untested) fail(`deploy/prometheus/tests: no promql_expr_test evaluates the recording rule ${r}`);
say(`rules: ${ruleCount} (${recorded.size} recording, ${alerts.length} alerts); unit tests: ` +
    [...alertCases].map(([a, c]) => `${a} ${c.firing} firing/${c.quiet} quiet`).join(', ') +
    `; ${recorded.size - untested.length}/${recorded.size} recording rules evaluated`);

// --- 5. Grafana provisioning ------------------------------------------------------------------
const grafana = path.join(root, 'deploy/grafana');
let dsUid = null;
for (const file of list(path.join(grafana, 'provisioning/datasources'), '.yml')) {
  for (const ds of readYaml(file).datasources || []) {
    if (ds.type !== 'prometheus') continue;
    if (dsUid) fail(`${rel(file)}: more than one Prometheus data source`);
    dsUid = ds.uid;
    if (!ds.uid) fail(`${rel(file)}: the Prometheus data source needs a fixed uid (dashboards refer to it)`);
    if (ds.url !== 'http://prometheus:9090') fail(`${rel(file)}: url ${ds.url}; want http://prometheus:9090`);
  }
}
if (!dsUid) fail('deploy/grafana/provisioning/datasources: no Prometheus data source with a uid');
let providerOk = false;
for (const file of list(path.join(grafana, 'provisioning/dashboards'), '.yml')) {
  for (const p of readYaml(file).providers || []) {
    if (p.type === 'file' && (p.options || {}).path === '/etc/grafana/kefu/dashboards') providerOk = true;
  }
}
if (!providerOk) {
  fail('deploy/grafana/provisioning/dashboards: no file provider with options.path /etc/grafana/kefu/dashboards');
}
say(`grafana provisioning: data source uid ${dsUid}, file provider ${providerOk ? 'ok' : 'missing'}`);

// --- 5. dashboards, and 6. their expressions as recording rules --------------------------------
const builtins = { __rate_interval: '5m', __interval: '1m', __range: '1h', __range_s: '3600' };
const groups = [];
const uids = new Set();
let panelCount = 0;
let exprCount = 0;
for (const file of list(path.join(grafana, 'dashboards'), '.json')) {
  const name = rel(file);
  let d;
  try {
    d = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    fail(`${name}: not valid JSON: ${e.message}`);
    continue;
  }
  if (d.schemaVersion !== 39) fail(`${name}: schemaVersion ${d.schemaVersion}; want 39 (Grafana 10)`);
  if (!d.uid || !d.title) fail(`${name}: needs uid and title`);
  if (uids.has(d.uid)) fail(`${name}: uid ${d.uid} is used by another dashboard`);
  uids.add(d.uid);
  const checkDs = (ds, where) => {
    if (!ds || ds.uid !== dsUid) {
      fail(`${name} ${where}: datasource ${JSON.stringify(ds)}; want uid ${dsUid} (the provisioned one)`);
    }
  };
  const vars = new Map();
  for (const v of (d.templating || {}).list || []) {
    vars.set(v.name, v);
    if (v.type !== 'query') continue;
    checkDs(v.datasource, `variable ${v.name}`);
    const q = typeof v.query === 'string' ? v.query : (v.query || {}).query;
    if (!q) fail(`${name} variable ${v.name}: no query`);
    else use(q, `${name} variable ${v.name}`);
  }
  const substitute = (expr, where) => expr.replace(/\$\{(\w+)(?::\w+)?\}|\$(\w+)/g, (m, a, b) => {
    const v = a || b;
    if (v in builtins) return builtins[v];
    if (vars.has(v)) return '.*';
    fail(`${name} ${where}: uses $${v}, which the dashboard does not define`);
    return m;
  });
  const ids = new Set();
  const boxes = [];
  const panels = [];
  for (const p of d.panels || []) {
    panels.push(p);
    for (const inner of p.panels || []) panels.push(inner);
  }
  for (const p of panels) {
    const where = `panel ${p.id} "${p.title}"`;
    if (!Number.isInteger(p.id) || ids.has(p.id)) fail(`${name} ${where}: panel ids must be unique integers`);
    ids.add(p.id);
    if (!p.type || !p.title) fail(`${name} ${where}: needs type and title`);
    const g = p.gridPos || {};
    if (!['h', 'w', 'x', 'y'].every((k) => Number.isInteger(g[k]) && g[k] >= 0) || g.w < 1 || g.h < 1 ||
        g.x + g.w > 24) {
      fail(`${name} ${where}: gridPos ${JSON.stringify(p.gridPos)} must have integer h, w, x, y within 24 columns`);
    } else {
      for (const [other, o] of boxes) {
        if (g.x < o.x + o.w && o.x < g.x + g.w && g.y < o.y + o.h && o.y < g.y + g.h) {
          fail(`${name} ${where}: overlaps ${other}`);
        }
      }
      boxes.push([where, g]);
    }
    if (p.type === 'row') continue;
    panelCount++;
    checkDs(p.datasource, where);
    const targets = p.targets || [];
    if (targets.length === 0) fail(`${name} ${where}: no targets`);
    const refIds = new Set();
    for (const t of targets) {
      if (!t.refId || refIds.has(t.refId)) fail(`${name} ${where}: targets need unique refIds`);
      refIds.add(t.refId);
      if (t.datasource) checkDs(t.datasource, `${where} ${t.refId}`);
      if (!t.expr || !String(t.expr).trim()) {
        fail(`${name} ${where} ${t.refId}: no expr`);
        continue;
      }
      exprCount++;
      const at = `${where} ${t.refId}`;
      use(t.expr, `${name} ${at}`);
      for (const r of recordedNames(t.expr)) {
        if (!recorded.has(r)) fail(`${name} ${at}: uses ${r}, which no rule in deploy/prometheus/rules records`);
      }
      groups.push({ name: `${name} ${at}`,
                    rules: [{ record: `dashboard_check:expr_${groups.length + 1}`, expr: substitute(t.expr, at) }] });
    }
  }
}
fs.writeFileSync(out, JSON.stringify({ groups }, null, 1));
say(`dashboards: ${uids.size} (${[...uids].join(', ')}), ${panelCount} panels, ${exprCount} expressions`);

// --- 7. report names ---------------------------------------------------------------------------
const names = [...used.keys()].sort();
const undefinedNames = names.filter((n) => !isDefined(n));
for (const n of undefinedNames) fail(`${missingReason(n)}; used by: ${[...used.get(n)].sort().join('; ')}`);
say(`metric names: ${names.length} kefu_* names used, ${names.length - undefinedNames.length} registered in the ` +
    `sources: ${names.filter(isDefined).join(' ')}`);

if (failures.length > 0) {
  for (const f of failures) console.error(`monitoring: FAILED: ${f}`);
  process.exit(1);
}
EOF

echo "monitoring: scrape jobs, rule test coverage, grafana provisioning and dashboards, metric names"
node "$work/check.cjs" "$root" "$node_modules" "$work/dashboard-exprs.rules.yml" ||
  fail "dashboards, rules and metric names (see above)"

if [ -s "$work/dashboard-exprs.rules.yml" ]; then
  echo "monitoring: promtool check rules on every dashboard expression (one recording rule each)"
  if ! promtool check rules --lint-fatal "$work/dashboard-exprs.rules.yml" >"$work/exprs.out" 2>&1; then
    cat "$work/exprs.out" >&2
    fail "a dashboard expression is not valid PromQL (the group names the dashboard, panel and refId)"
  else
    grep -m1 SUCCESS "$work/exprs.out" || true
  fi
fi

if [ "$failed" -ne 0 ]; then
  echo "monitoring: FAILED (see the messages above)" >&2
  exit 1
fi
echo "monitoring: all checks passed"
