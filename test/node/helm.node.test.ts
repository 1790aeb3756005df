// The Helm chart on the real node, as an operator uses it: the kustomize install is removed,
// `helm install` with default values (self-managed certificates) runs the webhook and pods are
// hardened on the node; `helm upgrade` with changed values rolls the webhook while pods keep being
// created, none failing and none unhardened; `helm uninstall` leaves no object. The kustomize
// install of the node tier is put back at the end.

import { execFile } from 'child_process';
import * as path from 'path';
import { promisify } from 'util';
import { CHART, goTool } from '../support/tools';
import { LabelValues, Annotations } from '../../src/names';
import { releaseObjects } from '../support/helm-release';
import {
  clusterEnv,
  probeContainer,
  getJson,
  kubectl,
  namespace,
  statusOnNode,
  waitRunning,
} from './support/cluster';
import { eventually } from '../support/eventually';

jest.setTimeout(600_000);

const NS = 'pod-hardener';
const APP_NS = 'node-helm-apps';
let helm: (args: string[]) => Promise<string>;
let cleanup: () => Promise<void>;

async function removeNamespace(name: string): Promise<void> {
  await kubectl(
    ['delete', 'namespace', name, '--ignore-not-found', '--wait=true', '--timeout=120s'],
    { timeoutMs: 130_000 },
  );
}

function probePod(name: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: APP_NS },
    spec: {
      terminationGracePeriodSeconds: 0,
      automountServiceAccountToken: false,
      containers: [probeContainer('app')],
    },
  });
}

// kube-apiserver 1.36 stops resolving ConfigMap parameters of admission policies for good (until
// it restarts) once no binding names that parameter kind, even for a moment: every pod in an
// opted-in namespace is then denied "no params found for policy binding". Switching from the
// kustomize install to Helm removes the guard's binding in between, so a second policy and binding
// with the same parameter kind, which match nothing, keep it alive meanwhile (docs/troubleshooting.md
// gives the same advice to operators who reinstall).
const KEEPER = `apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: node-tier-param-keeper}
spec:
  paramKind: {apiVersion: v1, kind: ConfigMap}
  matchConstraints:
    resourceRules: [{apiGroups: [""], apiVersions: [v1], operations: [DELETE], resources: [configmaps]}]
  validations: [{expression: "true"}]
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: node-tier-param-keeper}
spec:
  policyName: node-tier-param-keeper
  validationActions: [Deny]
  paramRef: {name: kube-root-ca.crt, namespace: default, parameterNotFoundAction: Allow}
  matchResources: {namespaceSelector: {matchLabels: {pod-hardener.test/never: "true"}}}
`;

beforeAll(async () => {
  await kubectl(['apply', '-f', '-'], { input: KEEPER });
  const bin = goTool('helm');
  const env = clusterEnv();
  // Asynchronous, so that pods keep being created while Helm waits for a rollout.
  helm = async (args) =>
    (
      await promisify(execFile)(bin, [...args, '--kubeconfig', env.kubeconfig], {
        timeout: 240_000,
      })
    ).stdout;
  // Out with the kustomize install (the webhook configuration and the guard are cluster-wide).
  await kubectl(
    [
      'delete',
      '-k',
      path.join(env.stateDir, 'install-node-tier'),
      '--ignore-not-found',
      '--wait=true',
    ],
    { timeoutMs: 180_000 },
  );
  await removeNamespace(NS);
  cleanup = await namespace(APP_NS, LabelValues.enforce);
});

afterAll(async () => {
  await cleanup?.();
  await kubectl(['apply', '-k', path.join(clusterEnv().stateDir, 'install-node-tier')]);
  await kubectl(['-n', NS, 'rollout', 'status', 'deployment/pod-hardener', '--timeout=180s'], {
    timeoutMs: 200_000,
  });
  await kubectl(['delete', '-f', '-', '--ignore-not-found'], { input: KEEPER });
});

test('helm install with default values: the webhook runs on the node and hardens pods there', async () => {
  const [repository, tag] = clusterEnv().webhookImage.split(/:(?=[^:]+$)/);
  await kubectl(['create', 'namespace', NS]);
  await kubectl(['label', 'namespace', NS, 'pod-security.kubernetes.io/enforce=restricted']);
  await helm([
    'install',
    'pod-hardener',
    CHART,
    '--namespace',
    NS,
    '--set',
    `image.repository=${repository}`,
    '--set',
    `image.tag=${tag}`,
    '--set',
    'image.pullPolicy=Never',
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
        input: probePod('probe'),
        allowFail: true,
      });
      return r.code === 0;
    },
    { what: 'the guard to load its parameters', timeoutMs: 60_000, everyMs: 250 },
  );
  console.log(
    `helm install: the guard admitted pods ${((Date.now() - start) / 1000).toFixed(1)} s after the install returned`,
  );

  await kubectl(['apply', '-f', '-'], { input: probePod('after-install') });
  const pod = await waitRunning(APP_NS, 'after-install');
  expect(pod.metadata.annotations[Annotations.hardened]).toBeDefined();
  expect(statusOnNode(pod, 'app').uid).toBe(1000);
});

test('helm upgrade with changed values rolls the webhook without a failed or unhardened admission', async () => {
  const before = (await getJson(['-n', NS, 'get', 'deployment', 'pod-hardener'])).metadata
    .generation;
  let stop = false;
  let created = 0;
  const failures: string[] = [];
  const loop = (async () => {
    while (!stop) {
      const name = `during-upgrade-${created++}`;
      const r = await kubectl(['create', '-f', '-', '--dry-run=server', '-o', 'json'], {
        input: probePod(name),
        allowFail: true,
      });
      if (r.code !== 0) failures.push(`${name}: ${r.stderr.trim()}`);
      else if (JSON.parse(r.stdout).spec.securityContext?.runAsUser !== 1000)
        failures.push(`${name}: not hardened`);
    }
  })();
  await helm([
    'upgrade',
    'pod-hardener',
    CHART,
    '--namespace',
    NS,
    '--reuse-values',
    '--set',
    'config.log.level=debug',
    '--wait',
    '--timeout',
    '3m',
  ]);
  // Keep creating until the new replicas serve alone.
  await kubectl(['-n', NS, 'rollout', 'status', 'deployment/pod-hardener', '--timeout=180s'], {
    timeoutMs: 200_000,
  });
  stop = true;
  await loop;
  const after = await getJson(['-n', NS, 'get', 'deployment', 'pod-hardener']);
  console.log(
    `helm upgrade: ${created} pod creations (server-side dry run) during the rollout, ${failures.length} failed`,
  );
  expect(after.metadata.generation).toBeGreaterThan(before);
  expect(created).toBeGreaterThan(20);
  expect(failures).toEqual([]);
});

test('helm uninstall leaves no object behind', async () => {
  await helm(['uninstall', 'pod-hardener', '--namespace', NS, '--wait']);
  // The namespace was made outside Helm; in it only what Kubernetes makes in every namespace may remain.
  expect(await releaseObjects(kubectl, NS)).toEqual([]);
  const secrets = (await kubectl(['-n', NS, 'get', 'secrets', '-o', 'name'])).stdout.trim();
  expect(secrets).toBe('');
  await removeNamespace(NS);
});
