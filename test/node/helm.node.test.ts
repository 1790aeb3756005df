// The Helm chart on the real node, as an operator uses it: the kustomize install is removed,
// `helm install` with default values (self-managed certificates) runs the webhook and pods are
// hardened on the node; `helm uninstall` leaves no object. The kustomize install of the node tier
// is put back at the end. Upgrades, reinstalls and mode switches under load are the fault suite's
// (faults.node.test.ts).

import { CHART } from '../support/tools';
import { LabelValues, Annotations } from '../../src/names';
import { releaseObjects } from '../support/helm-release';
import {
  helm,
  nodeImageValues,
  RELEASE_NS,
  removeKustomizeInstall,
  removeNamespace,
  restoreKustomizeInstall,
} from './support/helm';
import {
  getJson,
  kubectl,
  namespace,
  probePod,
  statusOnNode,
  waitRunning,
} from './support/cluster';
import { eventually } from '../support/eventually';

jest.setTimeout(600_000);

const NS = RELEASE_NS;
const APP_NS = 'node-helm-apps';
let cleanup: () => Promise<void>;

beforeAll(async () => {
  await removeKustomizeInstall();
  cleanup = await namespace(APP_NS, LabelValues.enforce);
});

afterAll(async () => {
  await cleanup?.();
  await restoreKustomizeInstall();
});

test('helm install with default values: the webhook runs on the node and hardens pods there', async () => {
  await kubectl(['create', 'namespace', NS]);
  await kubectl(['label', 'namespace', NS, 'pod-security.kubernetes.io/enforce=restricted']);
  await helm([
    'install',
    'pod-hardener',
    CHART,
    '--namespace',
    NS,
    ...nodeImageValues(),
    '--wait',
    '--timeout',
    '3m',
  ]);
  const webhook = await getJson(['get', 'mutatingwebhookconfiguration', 'pod-hardener']);
  expect(webhook.webhooks[0].clientConfig.caBundle).toBeTruthy();
  // Right after an install the API server's guard may not have loaded its parameters yet
  // ("no params found for policy binding"): it then rejects, as it must without them.
  const start = Date.now();
  await eventually(
    async () => {
      const r = await kubectl(['create', '-f', '-', '--dry-run=server'], {
        input: probePod(APP_NS, 'probe'),
        allowFail: true,
      });
      return r.code === 0;
    },
    { what: 'the guard to load its parameters', timeoutMs: 60_000, everyMs: 250 },
  );
  console.log(
    `helm install: the guard admitted pods ${((Date.now() - start) / 1000).toFixed(1)} s after the install returned`,
  );

  await kubectl(['apply', '-f', '-'], { input: probePod(APP_NS, 'after-install') });
  const pod = await waitRunning(APP_NS, 'after-install');
  expect(pod.metadata.annotations[Annotations.hardened]).toBeDefined();
  expect(statusOnNode(pod, 'app').uid).toBe(1000);
});

test('helm uninstall leaves no object behind', async () => {
  await helm(['uninstall', 'pod-hardener', '--namespace', NS, '--wait']);
  // The namespace was made outside Helm; in it only what Kubernetes makes in every namespace may remain.
  expect(await releaseObjects(kubectl, NS)).toEqual([]);
  const secrets = (await kubectl(['-n', NS, 'get', 'secrets', '-o', 'name'])).stdout.trim();
  expect(secrets).toBe('');
  await removeNamespace(NS);
});
