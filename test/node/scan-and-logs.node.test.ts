// Before opting in, on the real node: an audit namespace with a Deployment (two replicas), a
// DaemonSet whose pod the DaemonSet controller places on the node, and a bare pod with port 80.
// `pod-hardener scan` lists each under its owner, and the troubleshooting commands of the docs, run
// as printed (placeholders filled in), find the review lines of each pod across the webhook's
// replicas.

import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { repoRoot } from '../e2e/support/controlplane';
import { LabelValues } from '../../src/names';
import { apply, clusterEnv, getJson, namespace, probeContainer } from './support/cluster';
import { eventually } from '../support/eventually';

jest.setTimeout(300_000);

const NS = 'node-scan';
let cleanup: () => Promise<void>;

const container = probeContainer;
const template = (app: string) => ({
  metadata: { labels: { app } },
  spec: {
    terminationGracePeriodSeconds: 0,
    automountServiceAccountToken: false,
    containers: [container(app)],
  },
});

/** The page whose "What changed on a pod" commands are run here as printed. */
const TROUBLESHOOTING_DOC = 'docs/troubleshooting.md';

/** The troubleshooting commands of "What changed on a pod", as printed. */
function readmeLogCommands(): string[] {
  const readme = fs.readFileSync(path.join(repoRoot, TROUBLESHOOTING_DOC), 'utf8');
  const section = readme.slice(readme.indexOf('**What changed on a pod.**'));
  const block = /```sh\n([\s\S]*?)```/.exec(section);
  if (!block)
    throw new Error(`no command block under "What changed on a pod" in ${TROUBLESHOOTING_DOC}`);
  return block[1].trim().split('\n');
}

function shell(command: string): { code: number; stdout: string } {
  const env = clusterEnv();
  const r = spawnSync('bash', ['-o', 'pipefail', '-c', command], {
    encoding: 'utf8',
    env: {
      ...process.env,
      KUBECONFIG: env.kubeconfig,
      KUBERC: 'off',
      PATH: `${path.dirname(env.kubectl)}:${process.env.PATH ?? ''}`,
    },
  });
  return { code: r.status ?? 1, stdout: r.stdout };
}

beforeAll(async () => {
  cleanup = await namespace(NS, LabelValues.audit);
  await apply(
    JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: NS },
      spec: { replicas: 2, selector: { matchLabels: { app: 'web' } }, template: template('web') },
    }),
  );
  await apply(
    JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: 'agent', namespace: NS },
      spec: { selector: { matchLabels: { app: 'agent' } }, template: template('agent') },
    }),
  );
  await apply(
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'bare', namespace: NS },
      spec: {
        terminationGracePeriodSeconds: 0,
        automountServiceAccountToken: false,
        containers: [container('bare', { ports: [{ containerPort: 80 }] })],
      },
    }),
  );
  await eventually(async () => (await getJson(['-n', NS, 'get', 'pods'])).items.length === 4, {
    what: 'the pods of every owner',
    timeoutMs: 90_000,
    everyMs: 250,
  });
});

afterAll(async () => {
  await cleanup();
});

test('scan lists each pod under its top owner, the DaemonSet pod placed on the node included', () => {
  const env = clusterEnv();
  const r = spawnSync(
    process.execPath,
    [
      path.join(repoRoot, 'dist/cli/main.js'),
      'scan',
      '-n',
      NS,
      '-o',
      'json',
      '--kubeconfig',
      env.kubeconfig,
    ],
    { encoding: 'utf8' },
  );
  expect(r.status).toBe(1);
  const report = JSON.parse(r.stdout);
  const ns = report.namespaces.find((n: any) => n.name === NS);
  const owners = Object.fromEntries(
    ns.workloads.map((w: any) => [`${w.kind}/${w.name}`, w.pods.length]),
  );
  expect(owners).toEqual({ 'DaemonSet/agent': 1, 'Deployment/web': 2, 'Pod/bare': 1 });
  expect(ns.mode).toBe('audit');
});

test("the troubleshooting page's commands find each pod's review lines, whichever replica answered", async () => {
  const pods = (await getJson(['-n', NS, 'get', 'pods'])).items;
  const webPod = pods.find((p: any) => p.metadata.labels?.app === 'web');
  const replicaSet = webPod.metadata.ownerReferences.find((o: any) => o.controller).name;
  const [byPod, byOwner, byDecision] = readmeLogCommands();
  const fill = (c: string) =>
    c.replace('<pod>', 'bare').replace('<replicaset>', replicaSet).replace('<ns>', NS);

  let lines: string[] = [];
  // The lines of the last reviews may take a moment to reach the pods' logs.
  await eventually(
    async () => {
      lines = shell(fill(byOwner)).stdout.trim().split('\n').filter(Boolean);
      return lines.length >= 2;
    },
    { what: 'the review lines in the logs', timeoutMs: 30_000, everyMs: 250 },
  );
  console.log(
    `${TROUBLESHOOTING_DOC} log commands: ${lines.length} lines for ReplicaSet/${replicaSet}, from ${new Set(lines.map((l) => l.split(' ')[0])).size} replica(s)`,
  );
  expect(lines).toHaveLength(2);
  expect(shell(fill(byPod)).stdout.trim().split('\n').filter(Boolean)).toHaveLength(1);
  // Audit namespace: every pod here would be changed.
  expect(shell(fill(byDecision)).stdout.trim().split('\n').filter(Boolean)).toHaveLength(4);
});
