// What a pod author cannot get past hardening, as the kernel of the real node shows it:
// - a pod that asks for the root group (fsGroup 0, supplementalGroups [0]) runs without group 0
//   in the Groups line of /proc/1/status;
// - an image whose /etc/group makes the run UID a member of group 0 adds it through the kubelet
//   unless supplementalGroupsPolicy is Strict; the operator setting makes it Strict;
// - a pod with appArmorProfile Unconfined runs hardened with the field gone, on a node whose
//   kernel has no AppArmor, where RuntimeDefault would have been refused by the kubelet;
// - kubectl debug still works, and its ephemeral container runs hardened.
// Expected figures are worked out here from the stored pod, never from the engine.

import { LabelValues } from '../../src/names';
import { eventually } from '../support/eventually';
import {
  apply,
  getJson,
  kubectl,
  namespace,
  podManifest,
  probeContainer,
  statusInside,
  waitRunning,
} from './support/cluster';
import { applyNodeTierConfig } from './support/global-setup';
import { parseProcStatus, type ProcStatus } from './support/kernel';

jest.setTimeout(300_000);

const ENFORCE = 'node-trust-enforce';
const OFF = 'node-trust-off';
const cleanups: Array<() => Promise<void>> = [];
const figures: string[] = [];

const groupZeroImage = (name: string) => ({
  ...probeContainer(name),
  image: 'localhost/pod-hardener/legacy:groupzero',
});

async function groupsOf(ns: string, pod: string, container: string): Promise<ProcStatus> {
  const status = await statusInside(ns, pod, container);
  figures.push(
    `${ns}/${pod} ${container}: Uid ${status.uid} Gid ${status.gid} Groups [${status.groups.join(',')}]`,
  );
  return status;
}

beforeAll(async () => {
  cleanups.push(await namespace(ENFORCE, LabelValues.enforce));
  cleanups.push(await namespace(OFF));
});

afterAll(async () => {
  console.log(`groups the kernel shows:\n${figures.join('\n')}`);
  for (const c of cleanups) await c();
});

test('a pod that asks for the root group runs without group 0', async () => {
  const spec = {
    securityContext: { fsGroup: 0, supplementalGroups: [0, 4000] },
    containers: [probeContainer('app')],
    volumes: [{ name: 'data', emptyDir: {} }],
  };
  await apply(podManifest(OFF, 'asks-root-group', spec));
  await apply(podManifest(ENFORCE, 'asks-root-group', spec));
  // Unhardened: root, and group 0 as asked (read once it runs: an exec before that finds no container).
  await waitRunning(OFF, 'asks-root-group');
  const before = await groupsOf(OFF, 'asks-root-group', 'app');
  expect(before.groups).toContain(0);
  const stored = await waitRunning(ENFORCE, 'asks-root-group');
  expect(stored.spec.securityContext.fsGroup).toBe(3000);
  expect(stored.spec.securityContext.supplementalGroups).toEqual([4000]);
  const after = await groupsOf(ENFORCE, 'asks-root-group', 'app');
  expect(after.uid).toBe(1000);
  expect(after.groups).not.toContain(0);
  expect(after.groups).toEqual([3000, 4000]);
});

test("an image's /etc/group adds group 0 to UID 1000 unless supplementalGroupsPolicy is Strict", async () => {
  const spec = { containers: [groupZeroImage('app')] };
  await apply(podManifest(ENFORCE, 'image-group-merge', spec));
  await waitRunning(ENFORCE, 'image-group-merge');
  const merged = await groupsOf(ENFORCE, 'image-group-merge', 'app');
  expect(merged.uid).toBe(1000);
  // The kubelet's default (Merge) takes the image's word for it.
  expect(merged.groups).toContain(0);

  // The node says whether its runtime supports Strict; the operator turns it on.
  const node = (await getJson<any>(['get', 'nodes'])).items[0];
  expect(node.status.features?.supplementalGroupsPolicy).toBe(true);
  await applyNodeTierConfig({ supplementalGroupsPolicy: 'strict' });
  try {
    await apply(podManifest(ENFORCE, 'image-group-strict', spec));
    const stored = await waitRunning(ENFORCE, 'image-group-strict');
    expect(stored.spec.securityContext.supplementalGroupsPolicy).toBe('Strict');
    const strict = await groupsOf(ENFORCE, 'image-group-strict', 'app');
    expect(strict.groups).not.toContain(0);
    expect(strict.groups).toEqual([3000]);
  } finally {
    await applyNodeTierConfig();
  }
});

test('appArmorProfile Unconfined runs hardened with the field gone, where RuntimeDefault is refused', async () => {
  const unconfined = {
    securityContext: { appArmorProfile: { type: 'Unconfined' } },
    containers: [probeContainer('app')],
  };
  await apply(podManifest(ENFORCE, 'apparmor-unconfined', unconfined));
  const stored = await waitRunning(ENFORCE, 'apparmor-unconfined');
  expect(stored.spec.securityContext.appArmorProfile).toBeUndefined();
  expect((await groupsOf(ENFORCE, 'apparmor-unconfined', 'app')).uid).toBe(1000);

  // What setting RuntimeDefault instead would have done on this node, whose kernel has no AppArmor.
  await apply(
    podManifest(OFF, 'apparmor-runtime-default', {
      securityContext: { appArmorProfile: { type: 'RuntimeDefault' } },
      containers: [probeContainer('app')],
    }),
  );
  const refused = await eventually(
    async () => {
      const pod = await getJson<any>(['-n', OFF, 'get', 'pod', 'apparmor-runtime-default']);
      return pod.status?.phase === 'Failed' ? pod : undefined;
    },
    {
      what: 'the kubelet to refuse the RuntimeDefault AppArmor pod',
      timeoutMs: 60_000,
      everyMs: 500,
    },
  );
  expect(`${refused.status.reason} ${refused.status.message}`).toMatch(/AppArmor/);
});

test('kubectl debug works, and the ephemeral container runs hardened', async () => {
  await apply(podManifest(ENFORCE, 'debugged', { containers: [probeContainer('app')] }));
  await waitRunning(ENFORCE, 'debugged');
  await kubectl([
    '-n',
    ENFORCE,
    'debug',
    'pod/debugged',
    `--image=${String(probeContainer('x').image)}`,
    '--image-pull-policy=Never',
    '-c',
    'dbg',
    '--profile=general',
    '--',
    'sleep',
    '3600',
  ]);
  const status = await eventually(
    async () => {
      const pod = await getJson<any>(['-n', ENFORCE, 'get', 'pod', 'debugged']);
      const dbg = (pod.status.ephemeralContainerStatuses ?? []).find((c: any) => c.name === 'dbg');
      if (!dbg?.state?.running) return undefined;
      const r = await kubectl(
        ['-n', ENFORCE, 'exec', 'debugged', '-c', 'dbg', '--', 'cat', '/proc/1/status'],
        { allowFail: true },
      );
      return r.code === 0 ? parseProcStatus(r.stdout) : undefined;
    },
    { what: 'the debug container to run', timeoutMs: 90_000, everyMs: 500 },
  );
  figures.push(
    `kubectl debug dbg: Uid ${status.uid} CapEff ${status.capEff} NoNewPrivs ${status.noNewPrivs} Seccomp ${status.seccomp}`,
  );
  expect(status.uid).toBe(1000);
  expect(status.capEff).toBe(0n);
  expect(status.noNewPrivs).toBe(1);
  expect(status.seccomp).toBe(2);
});
