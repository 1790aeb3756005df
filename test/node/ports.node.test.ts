// Low ports on the real node. A hardened (non-root) busybox `httpd -p 80` answers on port 80 with
// the default configuration, because pod-hardener adds the pod sysctl
// net.ipv4.ip_unprivileged_port_start=0; with `unprivilegedPorts: never` it cannot bind. With
// containerd's own default (enable_unprivileged_ports = true, which sets that sysctl on every
// pod), both work. The node's containerd runs with the option off unless this test turns it on.

import { spawnSync } from 'child_process';
import { LabelValues } from '../../src/names';
import { apply, clusterScript, kubectl, namespace } from './support/cluster';
import { applyNodeTierConfig } from './support/global-setup';

jest.setTimeout(600_000);

const NS = 'node-ports';
let cleanup: () => Promise<void>;
let seq = 0;

function restartContainerd(unprivilegedPorts: boolean): void {
  const r = spawnSync('bash', [clusterScript, 'restart-containerd'], {
    env: { ...process.env, POD_HARDENER_CLUSTER_UNPRIVILEGED_PORTS: String(unprivilegedPorts) },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`cluster restart-containerd failed: ${r.stderr}`);
}

/** Creates a legacy httpd on port 80 and says whether it answers (Ready by its HTTP probe on :80). */
async function answersOnPort80(): Promise<{ answers: boolean; sysctl: boolean; log: string }> {
  const name = `httpd-${seq++}`;
  await apply(
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, namespace: NS },
      spec: {
        terminationGracePeriodSeconds: 0,
        automountServiceAccountToken: false,
        restartPolicy: 'Never',
        containers: [
          {
            name: 'app',
            image: 'localhost/pod-hardener/legacy:root',
            imagePullPolicy: 'Never',
            command: ['httpd', '-f', '-p', '80', '-h', '/www'],
            ports: [{ containerPort: 80 }],
            readinessProbe: { httpGet: { path: '/', port: 80 }, periodSeconds: 1 },
          },
        ],
      },
    }),
  );
  const end = Date.now() + 40_000;
  try {
    for (;;) {
      const p = JSON.parse((await kubectl(['-n', NS, 'get', 'pod', name, '-o', 'json'])).stdout);
      const sysctl = (p.spec.securityContext?.sysctls ?? []).some(
        (s: any) => s.name === 'net.ipv4.ip_unprivileged_port_start',
      );
      expect(p.spec.securityContext.runAsUser).toBe(1000);
      if ((p.status.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True'))
        return { answers: true, sysctl, log: '' };
      const term = p.status.containerStatuses?.[0]?.state?.terminated;
      if (term || Date.now() > end) {
        const log = (await kubectl(['-n', NS, 'logs', name], { allowFail: true })).stdout.trim();
        return { answers: false, sysctl, log };
      }
      await new Promise((r) => setTimeout(r, 300));
    }
  } finally {
    await kubectl(
      ['-n', NS, 'delete', 'pod', name, '--grace-period=0', '--force', '--wait=false'],
      { allowFail: true },
    );
  }
}

beforeAll(async () => {
  cleanup = await namespace(NS, LabelValues.enforce);
});

afterAll(async () => {
  restartContainerd(false);
  await applyNodeTierConfig();
  await cleanup();
});

test('containerd with enable_unprivileged_ports off: the default configuration lets the non-root httpd bind port 80; never does not', async () => {
  const auto = await answersOnPort80();
  expect(auto).toEqual({ answers: true, sysctl: true, log: '' });

  await applyNodeTierConfig({ unprivilegedPorts: 'never' });
  const never = await answersOnPort80();
  console.log(`unprivilegedPorts: never, containerd option off: ${never.log}`);
  expect(never.sysctl).toBe(false);
  expect(never.answers).toBe(false);
  expect(never.log).toContain('Permission denied');
});

test("containerd's default (enable_unprivileged_ports on): both configurations bind port 80", async () => {
  restartContainerd(true);
  await applyNodeTierConfig({ unprivilegedPorts: 'never' });
  expect((await answersOnPort80()).answers).toBe(true);
  await applyNodeTierConfig();
  expect(await answersOnPort80()).toEqual({ answers: true, sysctl: true, log: '' });
});
