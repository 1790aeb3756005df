'use strict';
/*
 * The offline tool in-process: documents per second over a multi-document YAML stream of
 * workloads (Deployment, StatefulSet, DaemonSet, Job, CronJob, Pod), as `kubectl harden -f`
 * would read it. Measures the tool's in-process function (parse YAML, harden every pod
 * template, write YAML), not process start-up.
 */
const { existsSync } = require('node:fs');
const { join } = require('node:path');
const { performance } = require('node:perf_hooks');

/** A pod spec as people write it in a manifest (no status, no managedFields, no defaults). */
function podSpec(i) {
  return {
    volumes: [{ name: 'cache', emptyDir: {} }],
    containers: [
      {
        name: 'app',
        image: `registry.example.com/team-${i % 17}/app:1.${i % 50}`,
        ports: [{ name: 'http', containerPort: 8080 }],
        env: [{ name: 'INSTANCE', value: String(i) }],
        resources: { limits: { memory: '256Mi' }, requests: { cpu: '100m', memory: '128Mi' } },
        volumeMounts: [{ name: 'cache', mountPath: '/var/cache/app' }],
        readinessProbe: { httpGet: { path: '/healthz', port: 8080 } },
        ...(i % 4 === 0
          ? { securityContext: { capabilities: { add: ['NET_BIND_SERVICE', 'SYS_TIME'] } } }
          : {}),
      },
      ...(i % 3 === 0
        ? [
            {
              name: 'exporter',
              image: 'nginx/nginx-prometheus-exporter:1.3',
              args: ['--nginx.scrape-uri=http://localhost/stub_status'],
            },
          ]
        : []),
    ],
  };
}

function workload(i) {
  const name = `app-${i}`;
  const metadata = {
    name,
    namespace: `team-${i % 17}`,
    labels: { 'app.kubernetes.io/name': name },
  };
  const template = { metadata: { labels: { 'app.kubernetes.io/name': name } }, spec: podSpec(i) };
  const selector = { matchLabels: { 'app.kubernetes.io/name': name } };
  switch (i % 6) {
    case 0:
      return {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata,
        spec: { replicas: 2, selector, template },
      };
    case 1:
      return {
        apiVersion: 'apps/v1',
        kind: 'StatefulSet',
        metadata,
        spec: { serviceName: name, selector, template },
      };
    case 2:
      return { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata, spec: { selector, template } };
    case 3:
      return {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata,
        spec: { template: { ...template, spec: { ...template.spec, restartPolicy: 'Never' } } },
      };
    case 4:
      return {
        apiVersion: 'batch/v1',
        kind: 'CronJob',
        metadata,
        spec: {
          schedule: '*/5 * * * *',
          jobTemplate: {
            spec: {
              template: { ...template, spec: { ...template.spec, restartPolicy: 'OnFailure' } },
            },
          },
        },
      };
    default:
      return { apiVersion: 'v1', kind: 'Pod', metadata, spec: podSpec(i) };
  }
}

function manifests(count, stringify) {
  const docs = [];
  for (let i = 0; i < count; i++) docs.push(stringify(workload(i)));
  return docs.join('---\n');
}

/** Finds the tool's in-process function in the build: `hardenManifests(text, { policy, ... })`. */
function findTool(dist) {
  for (const file of [
    'cli/main.js',
    'cli/harden.js',
    'cli/manifests.js',
    'cli/index.js',
    'cli/offline.js',
    'cli/run.js',
  ]) {
    const path = join(dist, file);
    if (!existsSync(path)) continue;
    const mod = require(path);
    if (typeof mod.hardenManifests === 'function')
      return { fn: mod.hardenManifests, via: `dist/${file} hardenManifests` };
  }
  return undefined;
}

async function benchCli(dist, { documents = 10_000 } = {}) {
  const tool = findTool(dist);
  if (!tool) return { available: false, reason: 'no hardenManifests in dist/cli/ yet' };
  const { stringify } = require('yaml');
  const { compilePolicy } = require(join(dist, 'engine', 'policy.js'));
  const { DEFAULT_POLICY } = require(join(dist, 'config', 'schema.js'));
  const policy = compilePolicy(DEFAULT_POLICY);
  const text = manifests(documents, stringify);
  // Warm up on 1,000 documents, then one timed pass over the whole stream.
  await tool.fn(manifests(1000, stringify), { policy });
  if (typeof global.gc === 'function') global.gc();
  const t0 = performance.now();
  const out = await tool.fn(text, { policy });
  const seconds = (performance.now() - t0) / 1000;
  if (out === undefined || out === null) throw new Error('hardenManifests returned nothing');
  return {
    available: true,
    documents,
    bytes: Buffer.byteLength(text),
    seconds,
    docsPerSecond: documents / seconds,
    via: tool.via,
  };
}

module.exports = { benchCli, workload, manifests };
