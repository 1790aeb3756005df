// The two pod-level rules proven against a real kube-apiserver: the port sysctl
// (hardening.unprivilegedPorts) and user namespaces (hardening.userNamespaces). The API server
// calls the webhook, applies its patch, validates the result (sysctl names, hostUsers beside
// host namespaces and raw block devices, Pod Security) and stores it; every assertion reads the
// stored pod back. No node: the pods stay Pending, which is all admission needs.
import { Annotations, Labels, LabelValues } from '../../src/names';
import { startControlPlane, type ControlPlane } from './support/controlplane';
import { registerWebhook, startWebhook, type WebhookProcess } from './support/webhook';
import { eventually } from '../support/eventually';

const BUILD_AND_START_TIMEOUT_MS = 60 * 60 * 1000;
const SYSCTL = { name: 'net.ipv4.ip_unprivileged_port_start', value: '0' };
const HARDENED_POD_SC = {
  runAsUser: 1000,
  runAsGroup: 3000,
  runAsNonRoot: true,
  seccompProfile: { type: 'RuntimeDefault' },
};

let cp: ControlPlane;
let webhook: WebhookProcess | undefined;

function podManifest(
  name: string,
  namespace: string,
  spec: Record<string, unknown> = {},
  annotations?: Record<string, string>,
): any {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace, ...(annotations ? { annotations } : {}) },
    spec: { containers: [{ name: 'web', image: 'nginx:1.27' }], ...spec },
  };
}

const port80 = (name = 'web', extra: Record<string, unknown> = {}) => ({
  name,
  image: 'nginx:1.27',
  ports: [{ containerPort: 80 }],
  ...extra,
});

async function create(manifest: unknown) {
  return cp.kubectl(['create', '-f', '-', '-o', 'json'], {
    input: JSON.stringify(manifest),
    allowFail: true,
  });
}

/** Creates the pod (it must be admitted) and returns it as stored, with kubectl's stderr (the warnings). */
async function stored(manifest: any): Promise<{ pod: any; warnings: string }> {
  const res = await create(manifest);
  expect({
    name: manifest.metadata.name,
    code: res.code,
    stderr: res.code === 0 ? '' : res.stderr,
  }).toEqual({ name: manifest.metadata.name, code: 0, stderr: '' });
  const pod = JSON.parse(
    (
      await cp.kubectl([
        'get',
        'pod',
        manifest.metadata.name,
        '-n',
        manifest.metadata.namespace,
        '-o',
        'json',
      ])
    ).stdout,
  );
  return { pod, warnings: res.stderr };
}

async function namespace(name: string, labels: Record<string, string> = {}): Promise<void> {
  await cp.kubectl(['apply', '-f', '-'], {
    input: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } }),
  });
}

/** (Re)starts the webhook with this environment and points the registration at it. */
async function useWebhook(env: NodeJS.ProcessEnv): Promise<void> {
  await webhook?.stop();
  // The operator lets pod authors opt containers out here (the user-namespace case needs one).
  webhook = await startWebhook(
    { server: { shutdownDelaySeconds: 1 }, exceptions: { skipNamespaces: ['*'] } },
    env,
  );
  await registerWebhook(cp, webhook.baseUrl, webhook.caPem);
}

beforeAll(async () => {
  cp = await startControlPlane();
  await namespace('plain');
  await namespace('enforced', { [Labels.enabled]: LabelValues.enforce });
  await namespace('restricted', {
    [Labels.enabled]: LabelValues.enforce,
    'pod-security.kubernetes.io/enforce': 'restricted',
  });
  await useWebhook({});
}, BUILD_AND_START_TIMEOUT_MS);

afterAll(async () => {
  await webhook?.stop();
  await cp?.stop();
});

describe('ports: net.ipv4.ip_unprivileged_port_start (default: auto)', () => {
  it('a hardened pod declaring port 80 is stored with the sysctl, and says why', async () => {
    const { pod, warnings } = await stored(
      podManifest('port-80', 'enforced', { containers: [port80()] }),
    );
    expect(pod.spec.securityContext).toEqual({ ...HARDENED_POD_SC, sysctls: [SYSCTL] });
    expect(pod.metadata.annotations[Annotations.hardened]).toContain(
      'sysctls+=net.ipv4.ip_unprivileged_port_start=0 (web:80) [pod]',
    );
    expect(warnings).toContain(
      'Warning: pod-hardener: pod: sysctls: added net.ipv4.ip_unprivileged_port_start=0, so that non-root processes bind ports below 1024 (needed by web:80)',
    );
    expect(pod.spec.hostUsers).toBeUndefined(); // userNamespaces is off by default
  });

  it('Pod Security restricted admits the pod with the sysctl', async () => {
    const { pod } = await stored(podManifest('port-80', 'restricted', { containers: [port80()] }));
    expect(pod.spec.securityContext.sysctls).toEqual([SYSCTL]);
  });

  it('NET_BIND_SERVICE kept by allowlist: the sysctl, and the capability named for what it is', async () => {
    const manifest = podManifest(
      'nbs',
      'enforced',
      {
        containers: [
          {
            name: 'web',
            image: 'nginx:1.27',
            securityContext: { capabilities: { add: ['NET_BIND_SERVICE'] } },
          },
        ],
      },
      { [Annotations.allowedCapabilities]: 'NET_BIND_SERVICE' },
    );
    const { pod, warnings } = await stored(manifest);
    expect(pod.spec.securityContext.sysctls).toEqual([SYSCTL]);
    expect(pod.spec.containers[0].securityContext.capabilities).toEqual({
      add: ['NET_BIND_SERVICE'],
      drop: ['ALL'],
    });
    expect(warnings).toContain(
      'container "web": runs as UID 1000: NET_BIND_SERVICE is in its bounding set only, effective only through file capabilities on the binary (setcap)',
    );
    expect(warnings).toContain(
      'container "web": for ports below 1024, the pod sysctl net.ipv4.ip_unprivileged_port_start=0 takes the place of NET_BIND_SERVICE: added by pod-hardener',
    );
  });

  it('other sysctls the pod sets are kept, the port sysctl appended', async () => {
    const own = { name: 'net.ipv4.ping_group_range', value: '0 2147483647' };
    const { pod } = await stored(
      podManifest('appended', 'enforced', {
        securityContext: { sysctls: [own] },
        containers: [port80()],
      }),
    );
    expect(pod.spec.securityContext.sysctls).toEqual([own, SYSCTL]);
  });

  it.each([
    ['a hostNetwork pod', { hostNetwork: true, containers: [port80()] }],
    [
      'a pod that sets the sysctl itself',
      {
        securityContext: {
          sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '1024' }],
        },
        containers: [port80()],
      },
    ],
    [
      'a pod where no container needs a low port',
      {
        containers: [
          {
            name: 'web',
            image: 'nginx:1.27',
            ports: [{ containerPort: 8080 }, { containerPort: 1024 }],
          },
        ],
      },
    ],
  ])('%s gets no sysctl of pod-hardener', async (_what, spec) => {
    const name = `none-${Math.random().toString(36).slice(2, 8)}`;
    const manifest = podManifest(name, 'enforced', spec);
    const { pod } = await stored(manifest);
    expect(pod.spec.securityContext.runAsUser).toBe(1000); // hardened all the same
    expect(pod.spec.securityContext.sysctls).toEqual((spec as any).securityContext?.sysctls);
    expect(pod.metadata.annotations[Annotations.hardened]).not.toContain('sysctls');
  });

  it('a Windows pod with port 80 is stored unchanged', async () => {
    const { pod } = await stored(
      podManifest('windows', 'enforced', {
        os: { name: 'windows' },
        containers: [port80('web', { image: 'mcr.microsoft.com/windows/nanoserver:ltsc2022' })],
      }),
    );
    expect(pod.spec.securityContext).toEqual({});
    expect(pod.spec.hostUsers).toBeUndefined();
  });

  it('the API server itself refuses the sysctl beside hostNetwork (why the rule never adds it there)', async () => {
    const res = await create(
      podManifest('refused', 'plain', {
        hostNetwork: true,
        securityContext: { sysctls: [SYSCTL] },
      }),
    );
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain("may not be specified when 'hostNetwork' is true");
  });
});

describe('user namespaces: hostUsers false (userNamespaces: on, from POD_HARDENER_USER_NAMESPACES)', () => {
  beforeAll(async () => {
    await useWebhook({ POD_HARDENER_USER_NAMESPACES: 'on' });
    // The API server picks up the new registration through an informer: wait for it.
    let probes = 0;
    await eventually(
      async () => {
        const res = await create(podManifest(`probe-${probes++}`, 'enforced'));
        if (res.code === 0 && JSON.parse(res.stdout).spec.hostUsers === false) return true;
        // Thrown, so that the timeout shows what the last probe pod got.
        throw new Error(`not hardened with hostUsers: false:\n${res.stdout}${res.stderr}`);
      },
      { what: 'the webhook with user namespaces on to be called', timeoutMs: 30_000, everyMs: 500 },
    );
  }, 120_000);

  it('a legacy pod is stored with hostUsers: false and every other layer as always', async () => {
    const { pod, warnings } = await stored(
      podManifest('userns', 'enforced', { containers: [port80()] }),
    );
    expect(pod.spec.hostUsers).toBe(false);
    expect(pod.spec.securityContext).toEqual({ ...HARDENED_POD_SC, sysctls: [SYSCTL] });
    expect(pod.spec.containers[0].securityContext).toEqual({
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'] },
    });
    expect(pod.metadata.annotations[Annotations.hardened]).toContain('hostUsers=false [pod]');
    expect(warnings).toContain('Warning: pod-hardener: pod: hostUsers unset -> false');
  });

  it('Pod Security restricted admits it', async () => {
    expect((await stored(podManifest('userns', 'restricted'))).pod.spec.hostUsers).toBe(false);
  });

  it('a container left untouched (skip-containers) is in the user namespace too', async () => {
    const manifest = podManifest(
      'untouched',
      'enforced',
      {
        containers: [
          { name: 'web', image: 'nginx:1.27' },
          { name: 'debug', image: 'busybox', securityContext: { runAsUser: 0 } },
        ],
      },
      { [Annotations.skipContainers]: 'debug' },
    );
    const { pod } = await stored(manifest);
    expect(pod.spec.hostUsers).toBe(false);
    expect(pod.spec.containers[1].securityContext).toEqual({ runAsUser: 0 });
  });

  it.each([
    ['hostNetwork', { hostNetwork: true }, 'the pod uses hostNetwork'],
    ['hostPID', { hostPID: true }, 'the pod uses hostPID'],
    ['hostIPC', { hostIPC: true }, 'the pod uses hostIPC'],
    [
      'a hostPath volume',
      { volumes: [{ name: 'logs', hostPath: { path: '/var/log' } }] },
      'volume "logs" is hostPath',
    ],
    [
      'an nfs volume',
      { volumes: [{ name: 'share', nfs: { server: 'nfs.example', path: '/export' } }] },
      'volume "share" is nfs',
    ],
    [
      'a raw block device',
      {
        volumes: [{ name: 'disk', persistentVolumeClaim: { claimName: 'disk' } }],
        containers: [
          {
            name: 'db',
            image: 'postgres:17',
            volumeDevices: [{ name: 'disk', devicePath: '/dev/xvda' }],
          },
        ],
      },
      'container "db" uses volumeDevices (disk)',
    ],
  ])(
    'a pod with %s is stored without hostUsers, and the warning says why',
    async (_what, spec, why) => {
      const name = `no-userns-${Math.random().toString(36).slice(2, 8)}`;
      const { pod, warnings } = await stored(podManifest(name, 'enforced', spec));
      expect(pod.spec.hostUsers).toBeUndefined();
      expect(pod.spec.securityContext.runAsUser).toBe(1000);
      expect(warnings).toContain('Warning: pod-hardener: pod: hostUsers not set to false: ');
      expect(warnings).toContain(why);
    },
  );

  it.each([true, false])('hostUsers: %s set by the pod is kept', async (hostUsers) => {
    const { pod } = await stored(podManifest(`own-${hostUsers}`, 'enforced', { hostUsers }));
    expect(pod.spec.hostUsers).toBe(hostUsers);
  });

  it('a Windows pod is stored unchanged', async () => {
    const { pod } = await stored(
      podManifest('windows-userns', 'enforced', {
        os: { name: 'windows' },
        containers: [{ name: 'app', image: 'mcr.microsoft.com/windows/nanoserver:ltsc2022' }],
      }),
    );
    expect(pod.spec.hostUsers).toBeUndefined();
    expect(pod.spec.securityContext).toEqual({});
  });

  it('what the API server of 1.36 refuses with hostUsers: false, and what it does not', async () => {
    const attempt = (name: string, spec: Record<string, unknown>) =>
      create(podManifest(name, 'plain', { hostUsers: false, ...spec }));
    for (const [name, spec] of [
      ['with-hostnetwork', { hostNetwork: true }],
      ['with-hostpid', { hostPID: true }],
      ['with-hostipc', { hostIPC: true }],
      [
        'with-block',
        {
          volumes: [{ name: 'disk', persistentVolumeClaim: { claimName: 'disk' } }],
          containers: [
            {
              name: 'db',
              image: 'postgres:17',
              volumeDevices: [{ name: 'disk', devicePath: '/dev/xvda' }],
            },
          ],
        },
      ],
      ['on-windows', { os: { name: 'windows' } }],
    ] as const) {
      const res = await attempt(name, spec);
      expect({ name, refused: res.code !== 0 }).toEqual({ name, refused: true });
    }
    // No volume kind is refused by validation: hostPath and nfs fail (or not) on the node, at
    // container start, depending on idmapped-mount support. The rule leaves them out for that.
    for (const [name, volume] of [
      ['with-hostpath', { name: 'h', hostPath: { path: '/var/log' } }],
      ['with-nfs', { name: 'n', nfs: { server: 'nfs.example', path: '/' } }],
    ] as const) {
      expect((await attempt(name, { volumes: [volume] })).code).toBe(0);
    }
  });
});
