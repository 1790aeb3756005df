// The guard has no parameter object to lose. It is deleted and installed again (from kustomize,
// then as the Helm chart renders it) while pods are being created in an enforce namespace: no
// pod is ever denied for missing parameters, a hardened pod is never denied at all, the API
// server judges with the reinstalled guard at once (an unhardened pod is denied by it), and it
// stays up without a restart.
import { join } from 'node:path';
import { startControlPlane, type ControlPlane } from './support/controlplane';
import { apiClient, dryRunCreate, type ApiClient } from './support/dry-run';
import { goTool, helmTemplateArgs, REPO, runOk } from '../support/tools';

const BUILD_AND_START_TIMEOUT_MS = 60 * 60 * 1000;
const NS = 'guarded';

let cp: ControlPlane;
let client: ApiClient;

const hardened = {
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'hardened' },
  spec: {
    securityContext: { runAsUser: 1000, runAsGroup: 3000 },
    containers: [
      {
        name: 'app',
        image: 'registry.example/app:1',
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
      },
    ],
  },
};
const unhardened = {
  ...hardened,
  metadata: { name: 'unhardened' },
  spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] },
};

const GUARD = join(REPO, 'manifests', 'components', 'guard');

beforeAll(async () => {
  cp = await startControlPlane();
  client = apiClient(cp, 4);
  await cp.kubectl(['create', 'namespace', NS]);
  await cp.kubectl(['label', 'namespace', NS, 'pod-hardener.io/enabled=true']);
}, BUILD_AND_START_TIMEOUT_MS);

afterAll(async () => {
  client?.close();
  await cp?.stop();
});

async function guardDenies(): Promise<boolean> {
  const r = await dryRunCreate(client, NS, unhardened);
  return r.status >= 400 && /pod-hardener guard/.test(r.body?.message ?? '');
}

async function eventually(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within 30 s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('deleting and reinstalling the guard (kustomize, then Helm) while pods are created denies none for missing params', async () => {
  const kustomized = ['policy.yaml', 'binding.yaml'].flatMap((f) => ['-f', join(GUARD, f)]);
  const helmGuard = runOk(
    goTool('helm'),
    helmTemplateArgs({}, { extraArgs: ['--show-only', 'templates/guard.yaml'] }),
  );
  await cp.kubectl(['apply', ...kustomized]);
  await eventually('the guard takes effect', guardDenies);

  let stop = false;
  const refusals: string[] = [];
  let created = 0;
  const creators = Array.from({ length: 4 }, async () => {
    while (!stop) {
      const r = await dryRunCreate(client, NS, hardened);
      created++;
      if (r.status !== 201) refusals.push(`${r.status} ${r.body?.message ?? ''}`);
    }
  });

  try {
    for (let round = 0; round < 3; round++) {
      await cp.kubectl(['delete', '--wait', ...kustomized]);
      await cp.kubectl(['apply', '-f', '-'], { input: helmGuard });
      await eventually(`round ${round}: the Helm guard judges`, guardDenies);
      await cp.kubectl(['delete', '--wait', '-f', '-'], { input: helmGuard });
      await cp.kubectl(['apply', ...kustomized]);
      await eventually(`round ${round}: the kustomize guard judges again`, guardDenies);
    }
  } finally {
    stop = true;
    await Promise.all(creators);
  }

  expect(refusals.filter((r) => /no params found/.test(r))).toEqual([]);
  expect(refusals).toEqual([]);
  expect(created).toBeGreaterThan(20);
  expect((await client.send('GET', '/livez')).status).toBe(200);
  // One API server process from start to end: it logged its start once.
  expect(cp.logTail(1_000_000).match(/Serving securely on/g) ?? []).toHaveLength(1);
});
