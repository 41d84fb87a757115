// Schema validation of rendered Kubernetes objects with the npm package kubernetes-models:
// its validators (types, enums, required fields) plus a walk over the type declarations
// (.d.ts) that reports fields the API does not have, which the validators let through
// (a misspelt `readinesProbe` would otherwise pass and be dropped by the API server).
'use strict';

const fs = require('fs');
const path = require('path');

// kustomize v5 folds long Secret values over several lines; the API server's base64 decoder
// skips line breaks, the validator's "byte" format does not.
function withoutBase64Breaks(object) {
  if (object.kind !== 'Secret' || !object.data) return object;
  const data = {};
  for (const [k, v] of Object.entries(object.data)) data[k] = String(v).replace(/\s+/g, '');
  return {...object, data};
}

// TypeMeta fields every top-level object has.
const kTypeMeta = {apiVersion: 'string', kind: 'string'};

class K8sSchema {
  constructor(nodeModules) {
    this.nodeModules = nodeModules;
    this.models = path.join(nodeModules, 'kubernetes-models');
    this.interfaces = new Map();  // exported alias (IIoK8s...) -> {prop: type text}
    for (const dir of [this.models, path.join(nodeModules, '@kubernetes-models/apimachinery')]) {
      this.readDeclarations(dir);
    }
  }

  readDeclarations(dir) {
    for (const entry of fs.readdirSync(dir, {withFileTypes: true})) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && entry.name !== '_schemas') this.readDeclarations(file);
        continue;
      }
      if (!entry.name.endsWith('.d.ts')) continue;
      const text = fs.readFileSync(file, 'utf8');
      const aliases = new Map();
      for (const m of text.matchAll(/export \{ (I\w+) as (IIoK8s\w+)/g)) aliases.set(m[1], m[2]);
      for (const m of text.matchAll(/export interface (I\w+)(?: extends [\w, ]+)? \{\n([\s\S]*?)\n\}/g)) {
        const props = {};
        for (const p of m[2].matchAll(/^ {4}"([\w$-]+)"\??: (.*?);?$/gm)) props[p[1]] = p[2];
        this.interfaces.set(m[1], props);  // local name, for top-level kinds
        if (aliases.has(m[1])) this.interfaces.set(aliases.get(m[1]), props);
        this.interfaces.set(`${path.relative(this.models, file)}#${m[1]}`, props);
      }
    }
  }

  // "apps/v1" + "Deployment" -> kubernetes-models/apps/v1/Deployment
  modelPath(apiVersion, kind) {
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
    return path.join(this.models, group, version, kind);
  }

  // Returns a list of problems ("" path = the object).
  validate(object) {
    const where = `${object.kind}/${(object.metadata || {}).name}`;
    const modelFile = this.modelPath(object.apiVersion || '', object.kind || '');
    if (!fs.existsSync(`${modelFile}.js`)) {
      return [`${where}: unknown apiVersion/kind ${object.apiVersion} ${object.kind}`];
    }
    const problems = [];
    const Model = require(modelFile)[object.kind];
    try {
      new Model(withoutBase64Breaks(object)).validate();
    } catch (e) {
      problems.push(`${where}: ${e.message}`);
    }
    const rel = `${path.relative(this.models, modelFile)}.d.ts#I${object.kind}`;
    const props = this.interfaces.get(rel);
    if (!props) return problems.concat(`${where}: no type declaration ${rel}`);
    this.walk(object, {...kTypeMeta, ...props}, where, problems);
    return problems;
  }

  walk(value, props, where, problems) {
    if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
    for (const [key, child] of Object.entries(value)) {
      if (!(key in props)) {
        problems.push(`${where}.${key}: no such field (known: ${Object.keys(props).join(', ')})`);
        continue;
      }
      this.walkType(child, props[key].trim(), `${where}.${key}`, problems);
    }
  }

  walkType(value, type, where, problems) {
    const array = /^Array<(IIoK8s\w+)>$/.exec(type);
    if (array && Array.isArray(value)) {
      const props = this.interfaces.get(array[1]);
      if (props) value.forEach((item, i) => this.walk(item, props, `${where}[${i}]`, problems));
      return;
    }
    const single = /^(IIoK8s\w+)$/.exec(type);
    if (single) {
      const props = this.interfaces.get(single[1]);
      // Types without properties (IntOrString, Quantity, Time) are scalars.
      if (props && Object.keys(props).length > 0) this.walk(value, props, where, problems);
    }
  }
}

module.exports = {K8sSchema};
