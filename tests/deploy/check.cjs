// Offline checks of docker-compose.yml and deploy/k8s against the real binaries:
//   - every Kubernetes object passes the kubernetes-models schema (no unknown fields);
//   - services, ports and variables agree across docs/ARCHITECTURE.md, README.md, the
//     binaries' --help, docker-compose.yml, every overlay and docs/DEPLOYMENT.md;
//   - health checks, probes, security settings and network policies are in place.
// The binaries are asked for their flags at test time, so a flag added to a service shows up
// here with what to add where.
//
//   node check.cjs --root DIR --bin DIR --compose FILE --k8s NAME=FILE [--k8s NAME=FILE...]
'use strict';

const cp = require('child_process');
const fs = require('fs');
const path = require('path');

// --- Arguments ---------------------------------------------------------------------------
const opts = {k8s: []};
for (let i = 2; i < process.argv.length; i += 2) {
  const key = process.argv[i].replace(/^--/, '');
  const value = process.argv[i + 1];
  if (key === 'k8s') opts.k8s.push(value);
  else opts[key] = value;
}
for (const required of ['root', 'bin', 'compose']) {
  if (!opts[required]) {
    console.error(`check.cjs: --${required} is required`);
    process.exit(2);
  }
}
const root = opts.root;
const nodeModules = path.join(root, '.tools/node_modules');
const YAML = require(path.join(nodeModules, 'yaml'));
const {K8sSchema} = require('./k8s_schema.cjs');

const errors = [];
const notes = [];
const fail = (msg) => errors.push(msg);
const rel = (file) => path.relative(root, file);
const read = (file) => fs.readFileSync(path.join(root, file), 'utf8');

// --- What the documentation says -------------------------------------------------------
// "| gateway | `kefu-gateway` | 7001 | 9101 | ..." rows of a services table.
function servicesTable(file) {
  const rows = [];
  for (const m of read(file).matchAll(/^\| (\w+) \| `(kefu-\w+)` \| (\d+) \| (\d+) \|/gm)) {
    rows.push({name: m[1], binary: m[2], grpc: Number(m[3]), metrics: Number(m[4])});
  }
  return rows;
}
const services = servicesTable('docs/ARCHITECTURE.md');
if (services.length !== 7) {
  fail(`docs/ARCHITECTURE.md: expected the 7-row services table, found ${services.length} rows`);
}
const byName = new Map(services.map((s) => [s.name, s]));
for (const row of servicesTable('README.md')) {
  const arch = byName.get(row.name);
  if (!arch) {
    fail(`README.md lists service ${row.name}, which docs/ARCHITECTURE.md does not`);
  } else if (arch.binary !== row.binary || arch.grpc !== row.grpc || arch.metrics !== row.metrics) {
    fail(`README.md says ${row.name} is ${row.binary} on ${row.grpc}/${row.metrics}; ` +
         `docs/ARCHITECTURE.md says ${arch.binary} on ${arch.grpc}/${arch.metrics}`);
  }
}

// --- What the binaries say -------------------------------------------------------------
// `<binary> --help`: "  --name   help\n   env NAME, default "value"".
function readFlags(binary) {
  const file = path.join(opts.bin, binary);
  if (!fs.existsSync(file)) {
    fail(`${file} is missing: build it first (cmake --build <dir> --target ${binary})`);
    return null;
  }
  const out = cp.execFileSync(file, ['--help'], {encoding: 'utf8'});
  const flags = new Map();  // env -> {flag, help, def}
  const byFlag = new Map();
  const lines = out.split('\n');
  for (let i = 0; i + 1 < lines.length; ++i) {
    const flag = /^ {2}--([\w-]+)\s+(.*)$/.exec(lines[i]);
    const env = /^\s+env (\S+), default "(.*)"$/.exec(lines[i + 1]);
    if (!flag || !env) continue;
    const info = {flag: flag[1], help: flag[2], env: env[1], def: env[2]};
    byFlag.set(info.flag, info);
    if (info.env !== '-') flags.set(info.env, info);
  }
  return {env: flags, byFlag, text: out};
}
const portOf = (addr) => Number(String(addr).split(':').pop());
const hostOf = (addr) => String(addr).slice(0, String(addr).lastIndexOf(':'));

for (const svc of services) {
  svc.flags = readFlags(svc.binary);
  if (!svc.flags) continue;
  const grpc = svc.flags.byFlag.get('grpc-addr');
  const metrics = svc.flags.byFlag.get('metrics-addr');
  if (!grpc || portOf(grpc.def) !== svc.grpc) {
    fail(`${svc.binary} listens on ${grpc && grpc.def} by default, docs/ARCHITECTURE.md says ` +
         `gRPC ${svc.grpc}: fix the port in libs/common/config.cc AllServices() or the table`);
  }
  if (!metrics || portOf(metrics.def) !== svc.metrics) {
    fail(`${svc.binary} serves metrics on ${metrics && metrics.def} by default, ` +
         `docs/ARCHITECTURE.md says ${svc.metrics}`);
  }
}
const kefuctl = readFlags('kefuctl');
const kefuctlCommands = kefuctl ?
  [...kefuctl.text.matchAll(/^ {2}([a-z][a-z ]*?)(?= <| \[| [A-Z]|\s{2,}|$)/gm)].map((m) => m[1].trim()) :
  [];
if (!fs.existsSync(path.join(opts.bin, 'kefu-grpc-probe'))) {
  fail(`${opts.bin}/kefu-grpc-probe is missing: the compose health checks run it`);
}

// Variables a deployment always sets: the service cannot run without them, or their
// defaults (127.0.0.1:...) only make sense on a developer's machine.
function mustSet(svc) {
  const out = [];
  for (const [env, info] of svc.flags.env) {
    if (['KEFU_GRPC_ADDR', 'KEFU_METRICS_ADDR', 'KEFU_PG_DSN', 'KEFU_JWT_KEY',
         'KEFU_REDIS_URL'].includes(env) || /127\.0\.0\.1|localhost/.test(info.def) ||
        /\brequired\b/.test(info.help)) {
      out.push(env);
    }
  }
  return out;
}
const describe = (svc, env) => {
  const info = svc.flags.env.get(env);
  return `--${info.flag} of ${svc.binary}, default "${info.def}"`;
};

// --- Which service calls which, from the code ------------------------------------------
// A service that includes another's generated gRPC stubs (kefu/<peer>/v1/*.grpc.pb.h) or
// reads its peer address (peers.at("<peer>")) calls it.
function calledPeers(svc) {
  const found = new Map();  // peer -> file
  const dir = path.join(root, 'services', svc.name);
  const walk = (d) => {
    for (const entry of fs.readdirSync(d, {withFileTypes: true})) {
      const file = path.join(d, entry.name);
      if (entry.isDirectory()) {
        walk(file);
        continue;
      }
      if (!/\.(cc|h)$/.test(entry.name)) continue;
      const text = fs.readFileSync(file, 'utf8');
      const patterns = [/#include "kefu\/(\w+)\/v1\/\w+\.grpc\.pb\.h"/g,
                        /peers(?:\(\))?\s*(?:\.at\(|\.find\(|\[)\s*"(\w+)"/g];
      for (const re of patterns) {
        for (const m of text.matchAll(re)) {
          if (m[1] !== svc.name && byName.has(m[1]) && !found.has(m[1])) found.set(m[1], rel(file));
        }
      }
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return found;
}
for (const svc of services) svc.calls = calledPeers(svc);

// --- docs/DEPLOYMENT.md names every variable ---------------------------------------------
const deploymentDoc = read('docs/DEPLOYMENT.md');
for (const svc of services) {
  if (!svc.flags) continue;
  for (const [env, info] of svc.flags.env) {
    if (!deploymentDoc.includes('`' + env + '`')) {
      fail(`${svc.binary} has --${info.flag} (env ${env}, default "${info.def}") but ` +
           `docs/DEPLOYMENT.md does not mention \`${env}\`: add it to the table in ` +
           `"Settings", and if a deployment must set it, to docker-compose.yml and deploy/k8s`);
    }
  }
}

// --- docker-compose.yml (resolved by `docker-compose config`) ----------------------------
const compose = YAML.parse(fs.readFileSync(opts.compose, 'utf8'));
const cs = compose.services || {};
const composeAliases = new Map();  // host name -> compose service
for (const [name, def] of Object.entries(cs)) {
  composeAliases.set(name, name);
  const nets = (def.networks && def.networks.default) || {};
  for (const alias of nets.aliases || []) composeAliases.set(alias, name);
}
const asList = (cmd) => (Array.isArray(cmd) ? cmd : String(cmd || '').split(/\s+/));
const dependsOn = (def) => (Array.isArray(def.depends_on) ?
  Object.fromEntries(def.depends_on.map((d) => [d, {condition: 'service_started'}])) :
  def.depends_on || {});

function checkPeerValue(where, svc, env, value, hostFor) {
  const peerName = /^KEFU_(\w+)_ADDR$/.exec(env);
  if (!peerName || env === 'KEFU_GRPC_ADDR' || env === 'KEFU_METRICS_ADDR') return;
  const peer = byName.get(peerName[1].toLowerCase());
  if (!peer) return;
  const expected = hostFor(peer);
  if (!expected.hosts.includes(hostOf(value)) || portOf(value) !== peer.grpc) {
    fail(`${where} sets ${env}=${value}; ${peer.name} answers at ${expected.hosts[0]}:${peer.grpc}`);
  }
}

for (const svc of services) {
  if (!svc.flags) continue;
  const where = `docker-compose.yml services.${svc.name}`;
  const def = cs[svc.name];
  if (!def) {
    fail(`docker-compose.yml has no service "${svc.name}" (${svc.binary}): add it`);
    continue;
  }
  const cmd = asList(def.command);
  if (cmd[0] !== svc.binary) fail(`${where}.command runs ${cmd[0]}, not ${svc.binary}`);
  const env = def.environment || {};
  for (const name of Object.keys(env)) {
    if (!svc.flags.env.has(name)) {
      fail(`${where}.environment sets ${name}, which ${svc.binary} does not read ` +
           `(${svc.binary} --help): remove it there, or add the flag to the service`);
    }
  }
  for (const name of mustSet(svc)) {
    if (!(name in env)) {
      fail(`${where}.environment lacks ${name} (${describe(svc, name)}): add it there ` +
           `(peer addresses and shared settings: the x-kefu-common block)`);
    }
  }
  if (env.KEFU_GRPC_ADDR && portOf(env.KEFU_GRPC_ADDR) !== svc.grpc) {
    fail(`${where} KEFU_GRPC_ADDR=${env.KEFU_GRPC_ADDR}: ${svc.name}'s gRPC port is ${svc.grpc}`);
  }
  if (env.KEFU_METRICS_ADDR && portOf(env.KEFU_METRICS_ADDR) !== svc.metrics) {
    fail(`${where} KEFU_METRICS_ADDR=${env.KEFU_METRICS_ADDR}: metrics port is ${svc.metrics}`);
  }
  for (const [name, value] of Object.entries(env)) {
    checkPeerValue(where, svc, name, value, (peer) => ({
      hosts: [...composeAliases].filter(([, s]) => s === peer.name).map(([h]) => h),
    }));
  }
  const test = asList((def.healthcheck || {}).test).join(' ');
  if (!test.includes('kefu-grpc-probe') || !test.includes(`:${svc.grpc}`)) {
    fail(`${where}.healthcheck must run kefu-grpc-probe --addr=127.0.0.1:${svc.grpc} ` +
         `(found: ${test || 'none'})`);
  }
  const deps = dependsOn(def);
  const needs = [];
  if (svc.flags.env.has('KEFU_PG_DSN')) needs.push('postgres');
  if (svc.flags.env.has('KEFU_REDIS_URL')) needs.push('redis');
  for (const [peer, file] of svc.calls) needs.push(peer);
  for (const need of needs) {
    if (!deps[need] || deps[need].condition !== 'service_healthy') {
      const why = svc.calls.has(need) ? ` (${svc.calls.get(need)} calls it)` : '';
      fail(`${where}.depends_on lacks "${need}: {condition: service_healthy}"${why}`);
    }
  }
  if (def.read_only !== true) fail(`${where}: read_only: true is missing`);
}
for (const store of ['postgres', 'redis']) {
  const def = cs[store];
  if (!def || !def.healthcheck || !(def.volumes || []).length) {
    fail(`docker-compose.yml services.${store} needs a healthcheck and a volume`);
  }
}
if (cs.redis && !asList(cs.redis.command).join(' ').includes('--appendonly yes')) {
  fail('docker-compose.yml services.redis must run with --appendonly yes (AOF)');
}

// The bootstrap and demo run kefuctl: their variables must be kefuctl's.
const bootstrapScript = read('deploy/docker/kefu-bootstrap');
function checkKefuctlEnv(where, env) {
  if (!kefuctl) return;
  for (const name of Object.keys(env || {})) {
    if (!kefuctl.env.has(name) && !name.startsWith('KEFU_BOOTSTRAP_')) {
      fail(`${where} sets ${name}, which kefuctl does not read (kefuctl --help)`);
    }
  }
  for (const name of ['KEFU_JWT_KEY', 'KEFU_IDENTITY_ADDR']) {
    if (!(name in (env || {}))) fail(`${where} lacks ${name}`);
  }
}
if (!cs.bootstrap || asList(cs.bootstrap.command)[0] !== 'kefu-bootstrap') {
  fail('docker-compose.yml needs the one-shot service "bootstrap" running kefu-bootstrap');
} else {
  checkKefuctlEnv('docker-compose.yml services.bootstrap.environment', cs.bootstrap.environment);
}
for (const m of bootstrapScript.matchAll(/^\s*(?:[A-Z_]+=\S+ )*(?:if )?(?:[A-Z_]+=\$\()?kefuctl ([a-z]+(?: [a-z]+)?)/gm)) {
  const words = m[1].split(' ');
  const known = kefuctlCommands.some((c) => c === m[1] || c === words[0]);
  if (!known) fail(`deploy/docker/kefu-bootstrap runs "kefuctl ${m[1]}", which kefuctl does not list`);
}
if (cs.demo) {
  const cmd = asList(cs.demo.command);
  if (!(cs.demo.profiles || []).includes('demo')) fail('docker-compose.yml services.demo needs profiles: [demo]');
  checkKefuctlEnv('docker-compose.yml services.demo.environment', cs.demo.environment);
  if (cmd[0] === 'kefuctl' && !kefuctlCommands.includes(cmd[1])) {
    notes.push(`docker-compose.yml services.demo runs "kefuctl ${cmd[1]}", which this kefuctl ` +
               'does not list yet (the demo command lands with the gateway)');
  }
} else {
  fail('docker-compose.yml needs the service "demo" (profile demo) running kefuctl demo');
}

// Prometheus scrape targets, when deploy/prometheus/prometheus.yml exists: every static
// target that names a kefu service must use its compose name (or alias) and metrics port.
const promFile = path.join(root, 'deploy/prometheus/prometheus.yml');
if (fs.existsSync(promFile)) {
  const prom = YAML.parse(fs.readFileSync(promFile, 'utf8')) || {};
  for (const job of prom.scrape_configs || []) {
    for (const sc of job.static_configs || []) {
      for (const target of sc.targets || []) {
        const host = hostOf(target);
        const svc = byName.get(composeAliases.get(host)) ||
                    services.find((s) => host === s.binary || host === s.name);
        if (svc && portOf(target) !== svc.metrics) {
          fail(`deploy/prometheus/prometheus.yml job ${job.job_name} scrapes ${target}; ` +
               `${svc.name} serves metrics on ${svc.metrics}`);
        }
      }
    }
  }
} else {
  notes.push('deploy/prometheus/prometheus.yml does not exist yet: compose mounts deploy/prometheus');
}

// --- Kubernetes overlays -----------------------------------------------------------------
const schema = new K8sSchema(nodeModules);
const livenessName = (/kLivenessService = "(\w+)"/.exec(read('libs/server/grpc_server.h')) || [])[1];
if (!livenessName) fail('libs/server/grpc_server.h no longer defines kLivenessService');

for (const spec of opts.k8s) {
  const [overlay, file] = spec.split('=');
  const docs = YAML.parseAllDocuments(fs.readFileSync(file, 'utf8'))
                   .map((d) => d.toJSON()).filter(Boolean);
  const find = (kind, name) => docs.find((d) => d.kind === kind && d.metadata.name === name);
  const at = `deploy/k8s/overlays/${overlay}`;
  let objects = 0;
  for (const doc of docs) {
    ++objects;
    for (const problem of schema.validate(doc)) fail(`${at}: schema: ${problem}`);
  }
  const secrets = docs.filter((d) => d.kind === 'Secret');

  for (const svc of services) {
    if (!svc.flags) continue;
    const name = `kefu-${svc.name}`;
    const where = `${at} Deployment ${name}`;
    const dep = find('Deployment', name);
    if (!dep) {
      fail(`${at} renders no Deployment ${name}: add deploy/k8s/base/${svc.name}.yaml`);
      continue;
    }
    const pod = dep.spec.template.spec;
    const c = pod.containers[0];
    const cmd = [...(c.command || []), ...(c.args || [])];
    if (cmd[0] !== svc.binary) fail(`${where} runs ${cmd[0]}, not ${svc.binary}`);

    // Variables: env (values and secret references) and envFrom ConfigMaps.
    const env = new Map();
    for (const e of c.env || []) env.set(e.name, e.value !== undefined ? e.value : e.valueFrom);
    for (const from of c.envFrom || []) {
      if (from.secretRef) {
        fail(`${where}: envFrom secretRef hides which variables it sets; use env valueFrom`);
      }
      if (!from.configMapRef) continue;
      const cm = find('ConfigMap', from.configMapRef.name);
      if (!cm) {
        fail(`${where}: envFrom ConfigMap ${from.configMapRef.name} is not rendered`);
        continue;
      }
      for (const [k, v] of Object.entries(cm.data || {})) if (!env.has(k)) env.set(k, v);
    }
    for (const k of env.keys()) {
      if (!svc.flags.env.has(k)) {
        fail(`${where} sets ${k}, which ${svc.binary} does not read (${svc.binary} --help): ` +
             'remove it (ConfigMap kefu-config in deploy/k8s/base/kustomization.yaml goes to ' +
             `every service) or add the flag to the service`);
      }
    }
    const k8sMust = [...mustSet(svc)];
    if (svc.flags.env.has('KEFU_VOICEPRINT_KEY')) k8sMust.push('KEFU_VOICEPRINT_KEY');
    for (const k of k8sMust) {
      if (!env.has(k)) {
        fail(`${where} lacks ${k} (${describe(svc, k)}): add it to the container's env in ` +
             `deploy/k8s/base/${svc.name}.yaml (secrets: valueFrom.secretKeyRef kefu-secrets; ` +
             'peer addresses: the kefu-config ConfigMap)');
      }
    }
    for (const [k, v] of env) {
      if (typeof v !== 'string') continue;
      if (k === 'KEFU_GRPC_ADDR' && portOf(v) !== svc.grpc) fail(`${where} ${k}=${v}: port ${svc.grpc}`);
      if (k === 'KEFU_METRICS_ADDR' && portOf(v) !== svc.metrics) fail(`${where} ${k}=${v}: port ${svc.metrics}`);
      checkPeerValue(where, svc, k, v, (peer) => ({hosts: [`kefu-${peer.name}`]}));
    }
    for (const [k, v] of env) {
      const ref = v && typeof v === 'object' && v.secretKeyRef;
      if (!ref) continue;
      const secret = secrets.find((s) => s.metadata.name === ref.name);
      if (secrets.length && !secret) fail(`${where} ${k} refers to Secret ${ref.name}, not rendered`);
      if (secret && !(ref.key in (secret.data || {})) && !(ref.key in (secret.stringData || {}))) {
        fail(`${where} ${k} refers to key ${ref.key}, which Secret ${ref.name} lacks`);
      }
    }

    // Ports, probes, security.
    const ports = Object.fromEntries((c.ports || []).map((p) => [p.name, p.containerPort]));
    if (ports.grpc !== svc.grpc || ports.metrics !== svc.metrics) {
      fail(`${where} container ports grpc=${ports.grpc} metrics=${ports.metrics}; ` +
           `expected ${svc.grpc} and ${svc.metrics}`);
    }
    const probe = (p) => (p && p.grpc ? p.grpc : {});
    if (probe(c.readinessProbe).port !== svc.grpc || probe(c.readinessProbe).service) {
      fail(`${where} readinessProbe must be grpc: {port: ${svc.grpc}} (the whole server's health)`);
    }
    for (const kind of ['livenessProbe', 'startupProbe']) {
      if (probe(c[kind]).port !== svc.grpc || probe(c[kind]).service !== livenessName) {
        fail(`${where} ${kind} must be grpc: {port: ${svc.grpc}, service: ${livenessName}}`);
      }
    }
    const psc = pod.securityContext || {};
    const sc = c.securityContext || {};
    if (!psc.runAsNonRoot || !sc.readOnlyRootFilesystem || sc.allowPrivilegeEscalation !== false ||
        !((sc.capabilities || {}).drop || []).includes('ALL')) {
      fail(`${where}: needs runAsNonRoot, readOnlyRootFilesystem, allowPrivilegeEscalation: ` +
           'false and capabilities.drop [ALL]');
    }
    const res = c.resources || {};
    if (!res.requests || !res.requests.cpu || !res.requests.memory || !(res.limits || {}).memory) {
      fail(`${where}: needs resources.requests (cpu, memory) and limits.memory`);
    }
    const ann = dep.spec.template.metadata.annotations || {};
    if (ann['prometheus.io/scrape'] !== 'true' || Number(ann['prometheus.io/port']) !== svc.metrics) {
      fail(`${where}: pod annotations prometheus.io/scrape "true" and prometheus.io/port ` +
           `"${svc.metrics}" are needed`);
    }

    // Service, disruption budget, network policy.
    const service = find('Service', name);
    const sp = service ? Object.fromEntries(service.spec.ports.map((p) => [p.name, p.port])) : {};
    if (sp.grpc !== svc.grpc || sp.metrics !== svc.metrics) {
      fail(`${at} Service ${name} must expose grpc ${svc.grpc} and metrics ${svc.metrics}`);
    }
    if (!find('PodDisruptionBudget', name)) fail(`${at} has no PodDisruptionBudget ${name}`);
    const np = find('NetworkPolicy', name);
    if (!np) {
      fail(`${at} has no NetworkPolicy ${name} (deploy/k8s/base/networkpolicies.yaml)`);
    } else {
      const rules = np.spec.ingress || [];
      const grpcRule = rules.find((r) => (r.ports || []).some((p) => p.port === svc.grpc));
      if (!grpcRule) {
        fail(`${at} NetworkPolicy ${name} has no rule for gRPC port ${svc.grpc}`);
      } else if (svc.name === 'gateway') {
        if (grpcRule.from) fail(`${at} NetworkPolicy ${name}: the gateway must be open to all`);
      } else {
        const allowed = new Set();
        for (const from of grpcRule.from || []) {
          for (const ex of ((from.podSelector || {}).matchExpressions || [])) {
            if (ex.key === 'app.kubernetes.io/name' && ex.operator === 'In') {
              ex.values.forEach((v) => allowed.add(v));
            }
          }
          const ml = (from.podSelector || {}).matchLabels || {};
          if (ml['app.kubernetes.io/name']) allowed.add(ml['app.kubernetes.io/name']);
        }
        for (const caller of services) {
          if (caller.calls && caller.calls.has(svc.name) && !allowed.has(`kefu-${caller.name}`)) {
            fail(`${caller.calls.get(svc.name)} calls ${svc.name}, but NetworkPolicy ${name} ` +
                 `does not let kefu-${caller.name} in: add kefu-${caller.name} to its values ` +
                 'in deploy/k8s/base/networkpolicies.yaml');
          }
        }
      }
      if (!rules.some((r) => (r.ports || []).some((p) => p.port === svc.metrics))) {
        fail(`${at} NetworkPolicy ${name} does not let Prometheus reach port ${svc.metrics}`);
      }
    }
  }
  for (const hpa of ['kefu-gateway', 'kefu-router']) {
    const h = find('HorizontalPodAutoscaler', hpa);
    if (!h || h.spec.scaleTargetRef.name !== hpa) fail(`${at} needs HorizontalPodAutoscaler ${hpa}`);
    const dep = find('Deployment', hpa);
    if (dep && dep.spec.replicas !== undefined) {
      fail(`${at} Deployment ${hpa} sets replicas; the autoscaler owns the count: remove it`);
    }
  }
  if (!find('NetworkPolicy', 'kefu-default-deny-ingress')) {
    fail(`${at} lacks NetworkPolicy kefu-default-deny-ingress`);
  }
  console.log(`deploy: ${at}: ${objects} objects valid`);
}

// --- Report ------------------------------------------------------------------------------
for (const note of notes) console.log(`deploy: note: ${note}`);
const callLines = services.filter((s) => s.calls && s.calls.size)
                      .map((s) => `${s.name} -> ${[...s.calls.keys()].join(', ')}`);
console.log(`deploy: calls found in services/: ${callLines.length ? callLines.join('; ') : 'none yet'}`);
if (errors.length) {
  console.error(`deploy: ${errors.length} problem(s):`);
  for (const e of errors) console.error(`  - ${e}`);
  process.exit(1);
}
console.log(`deploy: compose, ${opts.k8s.length} overlays, ${services.length} services ` +
            'and their flags agree');
