// The kernel is the last judge: for each scenario the API tier checks, a pod runs on the real node
// and its containers' /proc/1/status (through kubectl exec, and from the node through the host's
// /proc/<pid>/status of the container's process) must equal what the stored pod's security
// contexts imply (worked out by test/node/support/kernel.ts, not by the engine), and show the
// hardening the scenario is about (so the test fails with the webhook off or wrong).

import * as fs from 'fs';
import { Annotations, LabelValues } from '../../src/names';
import {
  apply,
  clusterEnv,
  getJson,
  kubectl,
  logs,
  namespace,
  podManifest,
  statusInside,
  statusOnNode,
  probeContainer,
  waitRunning,
} from './support/cluster';
import { NODE_TIER_EXEMPT_CONTAINER } from './support/global-setup';
import {
  capMask,
  describeStatus,
  expectedStatus,
  parseProcStatus,
  RUNTIME_DEFAULT_CAPS,
  type ProcStatus,
} from './support/kernel';
import { eventually } from '../support/eventually';

jest.setTimeout(180_000);

const ENFORCE = 'node-kernel-enforce';
const AUDIT = 'node-kernel-audit';
const OFF = 'node-kernel-off';
const hostBounding = parseProcStatus(fs.readFileSync('/proc/self/status', 'utf8')).capBnd;
const figures: string[] = [];
const cleanups: Array<() => Promise<void>> = [];

interface Literal {
  uid: number;
  capEff: bigint;
  capBnd: bigint;
  noNewPrivs: number;
  seccomp: number;
}
const HARDENED: Literal = { uid: 1000, capEff: 0n, capBnd: 0n, noNewPrivs: 1, seccomp: 2 };
const ROOT_DEFAULT = capMask(RUNTIME_DEFAULT_CAPS);
const UNHARDENED: Literal = {
  uid: 0,
  capEff: ROOT_DEFAULT,
  capBnd: ROOT_DEFAULT,
  noNewPrivs: 0,
  seccomp: 0,
};

const container = probeContainer;

/** Checks one running container from inside and from the node; records its figures. */
async function checkContainer(
  scenario: string,
  pod: any,
  name: string,
  literal: Literal,
): Promise<ProcStatus> {
  const ns = pod.metadata.namespace;
  const want = expectedStatus(pod, name, { hostBounding });
  const inside = await statusInside(ns, pod.metadata.name, name);
  const onNode = statusOnNode(pod, name);
  figures.push(`${scenario.padEnd(28)} ${name.padEnd(10)} ${describeStatus(onNode)}`);
  expect(inside).toEqual(want);
  expect(onNode).toEqual(want);
  expect({
    uid: onNode.uid,
    capEff: onNode.capEff,
    capBnd: onNode.capBnd,
    noNewPrivs: onNode.noNewPrivs,
    seccomp: onNode.seccomp,
  }).toEqual(literal);
  return onNode;
}

beforeAll(async () => {
  cleanups.push(await namespace(ENFORCE, LabelValues.enforce));
  cleanups.push(await namespace(AUDIT, LabelValues.audit));
  cleanups.push(await namespace(OFF));
});

afterAll(async () => {
  // The figures of the run, in the suite's output.
  console.log(
    `kernel's view of each container (from the node's /proc/<pid>/status):\n${figures.join('\n')}`,
  );
  for (const c of cleanups) await c();
});

test('a legacy pod with a volume runs as 1000:3000 with fsGroup, no capabilities, NoNewPrivs and seccomp', async () => {
  await apply(
    podManifest(ENFORCE, 'legacy', {
      containers: [container('app', { volumeMounts: [{ name: 'data', mountPath: '/data' }] })],
      volumes: [{ name: 'data', emptyDir: {} }],
    }),
  );
  const pod = await waitRunning(ENFORCE, 'legacy');
  const s = await checkContainer('pod-level defaults', pod, 'app', HARDENED);
  expect(s.gid).toBe(3000);
  expect(s.groups).toEqual([3000]);
  // The volume is writable by the non-root process thanks to fsGroup.
  await kubectl([
    '-n',
    ENFORCE,
    'exec',
    'legacy',
    '-c',
    'app',
    '--',
    'sh',
    '-c',
    'echo ok > /data/f && cat /data/f',
  ]);
});

test('a container that overrides with root runs as 1000; a non-root pod UID is kept for the others', async () => {
  await apply(
    podManifest(ENFORCE, 'override', {
      securityContext: { runAsUser: 2000 },
      containers: [container('root', { securityContext: { runAsUser: 0 } }), container('inherit')],
    }),
  );
  const pod = await waitRunning(ENFORCE, 'override');
  await checkContainer('container overrides root', pod, 'root', HARDENED);
  await checkContainer('container overrides root', pod, 'inherit', { ...HARDENED, uid: 2000 });
});

test('init containers and native sidecars are hardened', async () => {
  await apply(
    podManifest(ENFORCE, 'init', {
      initContainers: [
        container('init', { command: ['cat', '/proc/self/status'] }),
        container('sidecar', { restartPolicy: 'Always' }),
      ],
      containers: [container('app')],
    }),
  );
  const pod = await waitRunning(ENFORCE, 'init');
  // The init container has exited: its own report of /proc/self/status is in its log.
  const initStatus = parseProcStatus(await logs(ENFORCE, 'init', 'init'));
  figures.push(
    `${'init container (its log)'.padEnd(28)} ${'init'.padEnd(10)} ${describeStatus(initStatus)}`,
  );
  expect(initStatus).toEqual(expectedStatus(pod, 'init', { hostBounding }));
  expect(initStatus.uid).toBe(1000);
  expect(initStatus.capBnd).toBe(0n);
  await checkContainer('native sidecar', pod, 'sidecar', HARDENED);
  await checkContainer('init + sidecar pod', pod, 'app', HARDENED);
});

test('an ephemeral container added by kubectl debug is hardened', async () => {
  await apply(podManifest(ENFORCE, 'debugged', { containers: [container('app')] }));
  await waitRunning(ENFORCE, 'debugged');
  const r = await kubectl([
    '-n',
    ENFORCE,
    'debug',
    'debugged',
    `--image=${clusterEnv().probeImage}`,
    '--image-pull-policy=Never',
    '-c',
    'debugger',
    '--',
    'sleep',
    '3600',
  ]);
  expect(r.stderr).toContain('pod-hardener');
  let pod: any;
  await eventually(
    async () => {
      pod = await getJson(['-n', ENFORCE, 'get', 'pod', 'debugged']);
      return (pod.status.ephemeralContainerStatuses ?? []).some(
        (s: any) => s.name === 'debugger' && s.state?.running,
      );
    },
    { what: 'the ephemeral container to run', timeoutMs: 60_000, everyMs: 250 },
  );
  await checkContainer('ephemeral (kubectl debug)', pod, 'debugger', HARDENED);
});

test('an allowlisted capability stays in the bounding set only; others are removed', async () => {
  await apply(
    podManifest(
      ENFORCE,
      'allowlist',
      {
        containers: [
          container('app', {
            securityContext: { capabilities: { add: ['NET_BIND_SERVICE', 'NET_RAW'] } },
          }),
        ],
      },
      { [Annotations.allowedCapabilities]: 'NET_BIND_SERVICE' },
    ),
  );
  const pod = await waitRunning(ENFORCE, 'allowlist');
  await checkContainer('allowlisted NET_BIND_SERVICE', pod, 'app', {
    ...HARDENED,
    capBnd: capMask(['NET_BIND_SERVICE']),
  });
});

test('an allowlisted SYS_ADMIN is kept, without forcing allowPrivilegeEscalation', async () => {
  await apply(
    podManifest(
      ENFORCE,
      'sysadmin',
      {
        containers: [
          container('app', { securityContext: { capabilities: { add: ['SYS_ADMIN'] } } }),
        ],
      },
      { [Annotations.allowedCapabilities]: 'SYS_ADMIN' },
    ),
  );
  const pod = await waitRunning(ENFORCE, 'sysadmin');
  await checkContainer('allowlisted SYS_ADMIN', pod, 'app', {
    ...HARDENED,
    capBnd: capMask(['SYS_ADMIN']),
    noNewPrivs: 0,
  });
});

test('a skipped pod runs as the image made it: root with the runtime default capabilities', async () => {
  await apply(
    podManifest(
      ENFORCE,
      'skipped',
      { containers: [container('app')] },
      { [Annotations.skip]: 'true' },
    ),
  );
  const pod = await waitRunning(ENFORCE, 'skipped');
  await checkContainer('skip annotation', pod, 'app', UNHARDENED);
});

test('skip-containers leaves the named container as it was and hardens the rest', async () => {
  await apply(
    podManifest(
      ENFORCE,
      'skip-some',
      { containers: [container('legacy'), container('app')] },
      { [Annotations.skipContainers]: 'legacy' },
    ),
  );
  const pod = await waitRunning(ENFORCE, 'skip-some');
  await checkContainer('skip-containers', pod, 'legacy', UNHARDENED);
  await checkContainer('skip-containers', pod, 'app', HARDENED);
});

test('an operator-exempt container is left as it was', async () => {
  await apply(
    podManifest(ENFORCE, 'exempt', {
      containers: [container(NODE_TIER_EXEMPT_CONTAINER), container('app')],
    }),
  );
  const pod = await waitRunning(ENFORCE, 'exempt');
  await checkContainer('operator-exempt container', pod, NODE_TIER_EXEMPT_CONTAINER, UNHARDENED);
  await checkContainer('operator-exempt container', pod, 'app', HARDENED);
});

test('audit mode changes nothing the kernel sees, and says what it would change', async () => {
  const warnings = await apply(podManifest(AUDIT, 'audited', { containers: [container('app')] }));
  expect(warnings).toContain('runAsUser');
  const pod = await waitRunning(AUDIT, 'audited');
  await checkContainer('audit namespace', pod, 'app', UNHARDENED);
});

test('a namespace without the label is not touched', async () => {
  const warnings = await apply(podManifest(OFF, 'plain', { containers: [container('app')] }));
  expect(warnings).not.toContain('pod-hardener');
  const pod = await waitRunning(OFF, 'plain');
  await checkContainer('namespace without label', pod, 'app', UNHARDENED);
});

test("a Deployment's pods, created by the controllers and placed by the scheduler, are hardened", async () => {
  await apply(
    JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: ENFORCE },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: 'web' } },
        template: {
          metadata: { labels: { app: 'web' } },
          spec: {
            terminationGracePeriodSeconds: 1,
            automountServiceAccountToken: false,
            containers: [container('app')],
          },
        },
      },
    }),
  );
  await kubectl(['-n', ENFORCE, 'rollout', 'status', 'deployment/web', '--timeout=90s'], {
    timeoutMs: 100_000,
  });
  const list = await getJson(['-n', ENFORCE, 'get', 'pods', '-l', 'app=web']);
  expect(list.items).toHaveLength(1);
  const pod = list.items[0];
  expect(pod.metadata.ownerReferences[0].kind).toBe('ReplicaSet');
  expect(pod.spec.nodeName).toBe(clusterEnv().nodeName);
  await checkContainer('Deployment pod', pod, 'app', HARDENED);
});
