// Image identity on the real node: with `imageIdentity` on, pod-hardener reads the USER of images
// from the node tier's registry (scripts/cluster/registry.sh: go-containerregistry's registry,
// which containerd also pulls from, over plain HTTP). A pod whose image says USER 999 and whose
// container sets no user runs as 999, hardened otherwise; with the registry stopped, a pod gets
// the defaults and a warning, and is still admitted.

import { Annotations, LabelValues } from '../../src/names';
import {
  apply,
  clusterCommand as cluster,
  clusterEnv,
  kubectl,
  namespace,
  statusOnNode,
  waitRunning,
} from './support/cluster';
import { applyNodeTierConfig, imageIdentityOn } from './support/global-setup';
import { eventually } from '../support/eventually';

jest.setTimeout(300_000);

const NS = 'node-identity';
let cleanup: () => Promise<void>;
let registry: string;

/** A server-side dry run of a pod of `image`: the pod the API server would store, and the warnings. */
async function dryRun(name: string, image: string): Promise<{ pod: any; warnings: string }> {
  const r = await kubectl([
    '-n',
    NS,
    'run',
    name,
    `--image=${image}`,
    '--restart=Never',
    '--dry-run=server',
    '-o',
    'json',
  ]);
  return { pod: JSON.parse(r.stdout), warnings: r.stderr };
}

beforeAll(async () => {
  registry = clusterEnv().registry;
  cluster('registry-start');
  cleanup = await namespace(NS, LabelValues.enforce);
  await applyNodeTierConfig({}, imageIdentityOn(registry));
});

afterAll(async () => {
  cluster('registry-start');
  await applyNodeTierConfig();
  await cleanup();
});

test('a pod whose image says USER 999 runs as 999, its user unchanged, the rest hardened', async () => {
  const image = `${registry}/pod-hardener/legacy:uid999`;
  // Each replica has its own cache: dry runs until one has read the image (at most the first
  // review of each replica gets the defaults, were the registry slower than the budget).
  await eventually(
    async () => {
      const { pod } = await dryRun('warm', image);
      return pod.spec.containers[0].securityContext?.runAsUser === 999;
    },
    { what: 'pod-hardener to read the image USER', timeoutMs: 60_000, everyMs: 500 },
  );
  const warnings = await apply(
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'argocd-like', namespace: NS },
      spec: {
        terminationGracePeriodSeconds: 0,
        automountServiceAccountToken: false,
        containers: [
          {
            name: 'app',
            image,
            imagePullPolicy: 'IfNotPresent',
            command: ['sh', '-c', 'sleep 3600'],
          },
        ],
      },
    }),
  );
  const pod = await waitRunning(NS, 'argocd-like');
  const sc = pod.spec.containers[0].securityContext;
  expect(sc).toMatchObject({
    runAsUser: 999,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
  });
  // No pod-level user: the only container runs as its image's.
  expect(pod.spec.securityContext.runAsUser).toBeUndefined();
  expect(pod.spec.securityContext.runAsNonRoot).toBe(true);
  expect(pod.metadata.annotations[Annotations.hardened]).toContain(
    'runAsUser=999 (image USER) [app]',
  );
  expect(warnings).toContain('container "app": runAsUser unset -> 999 (image USER)');
  // The kernel's view: the process runs as the image's user, with no capability and no new privileges.
  const status = statusOnNode(pod, 'app');
  expect(status.uid).toBe(999);
  expect(status.capEff).toBe(0n);
  expect(status.noNewPrivs).toBe(1);
});

test('the registry stopped mid-run: the defaults, with a warning, and the pod is admitted', async () => {
  cluster('registry-stop');
  // A tag no replica has read yet: only the registry could answer.
  const started = Date.now();
  const { pod, warnings } = await dryRun('cold', `${registry}/pod-hardener/legacy:uid999-cold`);
  const elapsed = Date.now() - started;
  expect(pod.spec.securityContext.runAsUser).toBe(1000);
  expect(pod.spec.containers[0].securityContext?.runAsUser).toBeUndefined();
  expect(warnings).toMatch(
    /image USER not used \(image lookup failed: cannot reach [^)]*\); runAsUser 1000 applies/,
  );
  // Within the webhook's timeout with room to spare: a stopped registry refuses at once.
  expect(elapsed).toBeLessThan(10_000);
});
