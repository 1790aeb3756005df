// User namespaces on the real node (containerd 2.3, runc 1.5, Linux 6.x), with
// `hardening.userNamespaces: on`: the hardened pod gets hostUsers: false; inside, the UID map is
// not the identity and the process is 1000; from the node, the same process has a host UID outside
// 0-65535; and a container left running as root inside (skip-containers) is not root on the node.

import { Annotations, LabelValues } from '../../src/names';
import {
  apply,
  probeContainer,
  kubectl,
  namespace,
  statusOnNode,
  waitRunning,
} from './support/cluster';
import { applyNodeTierConfig } from './support/global-setup';
import { parseProcStatus } from './support/kernel';

jest.setTimeout(300_000);

const NS = 'node-userns';
let cleanup: () => Promise<void>;

beforeAll(async () => {
  cleanup = await namespace(NS, LabelValues.enforce);
  await applyNodeTierConfig({ userNamespaces: 'on' });
});

afterAll(async () => {
  await applyNodeTierConfig();
  await cleanup();
});

test('a hardened pod runs in a user namespace: 1000 inside, an unprivileged UID on the node; root inside is nobody outside', async () => {
  await apply(
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: 'userns',
        namespace: NS,
        annotations: { [Annotations.skipContainers]: 'legacy' },
      },
      spec: {
        terminationGracePeriodSeconds: 0,
        automountServiceAccountToken: false,
        containers: [
          probeContainer('app'),
          probeContainer('legacy', { securityContext: { runAsUser: 0 } }),
        ],
      },
    }),
  );
  const pod = await waitRunning(NS, 'userns');
  expect(pod.spec.hostUsers).toBe(false);

  const inside = (
    await kubectl([
      '-n',
      NS,
      'exec',
      'userns',
      '-c',
      'app',
      '--',
      'sh',
      '-c',
      'id -u; cat /proc/self/uid_map',
    ])
  ).stdout
    .trim()
    .split('\n');
  const uidMap = inside[1].trim().split(/\s+/).map(Number);
  const app = statusOnNode(pod, 'app');
  const legacy = statusOnNode(pod, 'legacy');
  const legacyInside = parseProcStatus(
    (await kubectl(['-n', NS, 'exec', 'userns', '-c', 'legacy', '--', 'cat', '/proc/1/status']))
      .stdout,
  );
  console.log(
    `user namespaces: uid_map "${inside[1].trim()}"; app: ${inside[0]} inside, ${app.uid} on the node; legacy: ${legacyInside.uid} inside, ${legacy.uid} on the node`,
  );

  expect(inside[0]).toBe('1000');
  // "0 <host base> 65536": container IDs from 0 map to a range far from the node's own IDs.
  expect(uidMap[0]).toBe(0);
  expect(uidMap[1]).toBeGreaterThan(65535);
  expect(uidMap[2]).toBe(65536);
  expect(app.uid).toBe(uidMap[1] + 1000);
  expect(legacyInside.uid).toBe(0);
  expect(legacy.uid).toBe(uidMap[1]);
  expect(legacy.uid).toBeGreaterThan(65535);
});
