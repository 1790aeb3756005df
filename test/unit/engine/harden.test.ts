import { harden } from '../../../src/engine/harden';
import { InvalidPodError } from '../../../src/engine/pod-shape';
import { Annotations } from '../../../src/names';
import { policyWith } from '../../support/policy';
import { pod } from '../../support/pods';
import { CASES } from './cases';

const create = (namespace = 'team') => ({ scope: { kind: 'create' as const }, namespace });

describe('harden(): every hardening rule over fixture pods', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const input = structuredClone(c.input);
    const result = harden(input, policyWith(c.policy), create(c.namespace));

    expect(input).toEqual(c.input); // the input is never modified
    if (c.expected === undefined) {
      expect(result.changes).toEqual([]);
      expect(result.pod).toBe(input);
    } else {
      expect(result.pod).toEqual(c.expected);
    }
    if (c.rules)
      expect([...new Set(result.changes.map((ch) => ch.rule))].sort()).toEqual([...c.rules].sort());
    for (const kind of c.notices ?? []) expect(result.notices.map((n) => n.kind)).toContain(kind);

    // Idempotent: the hardened pod hardened again changes nothing.
    const again = harden(result.pod, policyWith(c.policy), create(c.namespace));
    expect(again.changes).toEqual([]);
  });
});

describe('harden(): ephemeral containers (pods/ephemeralcontainers UPDATE)', () => {
  const running = pod({
    securityContext: { runAsUser: 1000, runAsGroup: 3000, runAsNonRoot: true },
    containers: [
      {
        name: 'app',
        image: 'app',
        securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
      },
    ],
    ephemeralContainers: [
      { name: 'debugger-old', image: 'busybox', securityContext: { privileged: true } },
      { name: 'debugger-new', image: 'busybox', targetContainerName: 'app' },
    ],
  });

  it('hardens only the new ephemeral containers, at container level, and writes no annotation', () => {
    const result = harden(running, policyWith(), {
      scope: { kind: 'ephemeral', existingEphemeral: new Set(['debugger-old']) },
      namespace: 'team',
    });
    const spec = result.pod.spec as any;
    expect(spec.ephemeralContainers[0]).toEqual(running.spec.ephemeralContainers[0]);
    expect(spec.ephemeralContainers[1].securityContext).toEqual({
      capabilities: { drop: ['ALL'] },
      allowPrivilegeEscalation: false,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(spec.securityContext).toEqual(running.spec.securityContext);
    expect(spec.containers).toEqual(running.spec.containers);
    expect(result.pod.metadata?.annotations?.[Annotations.hardened]).toBeUndefined();
  });

  it('sets identity on the ephemeral container itself when the pod level is root', () => {
    const rootPod = pod({ ephemeralContainers: [{ name: 'dbg', image: 'busybox' }] });
    const result = harden(rootPod, policyWith(), {
      scope: { kind: 'ephemeral', existingEphemeral: new Set() },
      namespace: 'team',
    });
    expect((result.pod.spec as any).ephemeralContainers[0].securityContext).toEqual({
      runAsUser: 1000,
      runAsGroup: 3000,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      allowPrivilegeEscalation: false,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(result.pod.spec!.securityContext).toEqual({});
  });
});

describe('harden(): the summary annotation', () => {
  it('says what changed, per target', () => {
    const result = harden(
      pod({
        containers: [
          {
            name: 'app',
            image: 'a',
            securityContext: { runAsUser: 0, capabilities: { add: ['SYS_TIME'] } },
          },
        ],
      }),
      policyWith(),
      create(),
    );
    expect(result.pod.metadata!.annotations![Annotations.hardened]).toBe(
      'runAsUser=1000 [app]; runAsGroup=3000 [app]; runAsNonRoot=true [pod]; capabilities.add-=SYS_TIME [app]; ' +
        'capabilities.drop+=ALL [app]; allowPrivilegeEscalation=false [app]; seccompProfile=RuntimeDefault [pod]',
    );
  });

  it('merges with what an earlier invocation wrote (reinvocation after a sidecar injector)', () => {
    const first = harden(pod(), policyWith(), create()).pod as any;
    first.spec.containers.push({ name: 'sidecar', image: 'proxy' });
    const second = harden(first, policyWith(), create());
    expect(
      second.changes.every((c) => c.target.kind === 'container' && c.target.name === 'sidecar'),
    ).toBe(true);
    expect(second.pod.metadata!.annotations![Annotations.hardened]).toContain(
      'allowPrivilegeEscalation=false [app,sidecar]',
    );
    expect(second.pod.metadata!.annotations![Annotations.hardened]).toContain(
      'runAsUser=1000 [pod]',
    );
  });
});

describe('harden(): shapes it refuses', () => {
  it.each([
    ['not an object', 'x', 'object'],
    ['no spec', { metadata: {} }, 'spec'],
    ['containers not a list', { spec: { containers: {} } }, 'spec.containers'],
    [
      'container without a name',
      { spec: { containers: [{ image: 'x' }] } },
      'spec.containers[0].name',
    ],
    [
      'securityContext a string',
      { spec: { containers: [{ name: 'a', securityContext: 'root' }] } },
      'spec.containers[0].securityContext',
    ],
    [
      'capabilities.add with a number',
      { spec: { containers: [{ name: 'a', securityContext: { capabilities: { add: [1] } } }] } },
      'spec.containers[0].securityContext.capabilities.add[0]',
    ],
    [
      'annotations a list',
      { metadata: { annotations: [] }, spec: { containers: [] } },
      'metadata.annotations',
    ],
    [
      'sysctls not a list',
      {
        spec: {
          securityContext: { sysctls: 'net.ipv4.ip_unprivileged_port_start=0' },
          containers: [],
        },
      },
      'spec.securityContext.sysctls',
    ],
    [
      'a sysctl without a name',
      { spec: { securityContext: { sysctls: [{ value: '0' }] }, containers: [] } },
      'spec.securityContext.sysctls[0].name',
    ],
  ])('%s', (_n, input, path) => {
    expect(() => harden(input, policyWith(), create())).toThrow(InvalidPodError);
    try {
      harden(input, policyWith(), create());
    } catch (e) {
      expect((e as InvalidPodError).path).toBe(path);
    }
  });
});

describe('harden(): ports and capabilities, named for what they are', () => {
  const allow = { [Annotations.allowedCapabilities]: 'NET_BIND_SERVICE,CHOWN' };
  const web = (extra: Record<string, unknown> = {}) =>
    pod(
      {
        containers: [
          { name: 'web', image: 'nginx', ports: [{ containerPort: 80 }, { containerPort: 443 }] },
          {
            name: 'app',
            image: 'a',
            securityContext: { capabilities: { add: ['NET_BIND_SERVICE', 'CHOWN'] } },
          },
        ],
        ...extra,
      },
      allow,
    );
  const messages = (result: ReturnType<typeof harden>, kind: string) =>
    result.notices
      .filter((n) => n.kind === kind)
      .map((n) => `${(n.target as any).name ?? 'pod'}: ${n.message}`);

  it('the summary annotation and the change say why the sysctl was added', () => {
    const result = harden(web(), policyWith(), create());
    expect(result.pod.metadata!.annotations![Annotations.hardened]).toContain(
      'sysctls+=net.ipv4.ip_unprivileged_port_start=0 (web:80,web:443,app:NET_BIND_SERVICE) [pod]',
    );
    expect(result.changes.find((c) => c.rule === 'unprivilegedPorts')!.because).toBe(
      'web:80,web:443,app:NET_BIND_SERVICE',
    );
  });

  it('a capability kept on a non-root container is in the bounding set only; the sysctl takes the place of NET_BIND_SERVICE', () => {
    const result = harden(web(), policyWith(), create());
    expect(messages(result, 'capabilityNotEffective')).toEqual([
      'app: runs as UID 1000: NET_BIND_SERVICE,CHOWN are in its bounding set only, effective only through file capabilities on the binary (setcap)',
    ]);
    expect(messages(result, 'unprivilegedPorts')).toEqual([
      'app: for ports below 1024, the pod sysctl net.ipv4.ip_unprivileged_port_start=0 takes the place of NET_BIND_SERVICE: added by pod-hardener',
    ]);
  });

  it.each([
    [
      'hostNetwork',
      { hostNetwork: true },
      {},
      "not added: the pod uses hostNetwork, where the node's own value applies",
    ],
    [
      'unprivilegedPorts: never',
      {},
      { unprivilegedPorts: 'never' },
      'not added: hardening.unprivilegedPorts is "never"',
    ],
    [
      "the pod's own value",
      {
        securityContext: {
          sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '1024' }],
        },
      },
      {},
      'the pod sets it itself ("1024"), kept',
    ],
  ])('says why the sysctl was not added: %s', (_what, spec, policy, why) => {
    const result = harden(web(spec), policyWith(policy), create());
    expect(result.changes.some((c) => c.rule === 'unprivilegedPorts')).toBe(false);
    expect(messages(result, 'unprivilegedPorts')).toEqual([
      `app: for ports below 1024, the pod sysctl net.ipv4.ip_unprivileged_port_start=0 takes the place of NET_BIND_SERVICE: ${why}`,
      `web: declares port 80,443 and runs as UID 1000: it binds only where net.ipv4.ip_unprivileged_port_start <= 80; ${why}`,
    ]);
  });

  it('a pod value low enough for the declared ports raises no notice for them', () => {
    const result = harden(
      pod({
        securityContext: {
          sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '80' }],
        },
        containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 80 }] }],
      }),
      policyWith(),
      create(),
    );
    expect(messages(result, 'unprivilegedPorts')).toEqual([]);
  });

  it('the bounding-set notice names the UID the container runs as (an explicit non-root UID is kept)', () => {
    const result = harden(
      pod(
        {
          securityContext: { runAsUser: 101 },
          containers: [
            { name: 'app', image: 'a', securityContext: { capabilities: { add: ['CHOWN'] } } },
          ],
        },
        { [Annotations.allowedCapabilities]: 'CHOWN' },
      ),
      policyWith(),
      create(),
    );
    expect(messages(result, 'capabilityNotEffective')).toEqual([
      'app: runs as UID 101: CHOWN is in its bounding set only, effective only through file capabilities on the binary (setcap)',
    ]);
  });
});

describe('harden(): user namespaces', () => {
  const on = policyWith({ userNamespaces: 'on' });

  it('the notice names every volume and host namespace in the way', () => {
    const result = harden(
      pod({
        hostPID: true,
        volumes: [
          { name: 'logs', hostPath: { path: '/var/log' } },
          { name: 'cfg', configMap: { name: 'c' } },
          { name: 'share', nfs: { server: 's', path: '/' } },
        ],
      }),
      on,
      create(),
    );
    expect(result.pod.spec!.hostUsers).toBeUndefined();
    expect(
      result.notices.filter((n) => n.kind === 'userNamespacesNotSet').map((n) => n.message),
    ).toEqual([
      'hostUsers not set to false: the pod uses hostPID; volume "logs" is hostPath, not known to support idmapped mounts; volume "share" is nfs, not known to support idmapped mounts',
    ]);
  });

  it('a raw block device is named with its container', () => {
    const result = harden(
      pod({
        containers: [
          { name: 'db', image: 'pg', volumeDevices: [{ name: 'disk', devicePath: '/dev/xvda' }] },
        ],
      }),
      on,
      create(),
    );
    expect(result.notices.find((n) => n.kind === 'userNamespacesNotSet')!.message).toBe(
      'hostUsers not set to false: container "db" uses volumeDevices (disk)',
    );
  });

  it('the change is counted under its own rule and summarised', () => {
    const result = harden(pod(), on, create());
    expect(result.changes.filter((c) => c.rule === 'userNamespaces')).toEqual([
      {
        rule: 'userNamespaces',
        target: { kind: 'pod' },
        field: 'hostUsers',
        from: undefined,
        to: false,
      },
    ]);
    expect(result.pod.metadata!.annotations![Annotations.hardened]).toContain(
      'hostUsers=false [pod]',
    );
  });

  it('is not applied on pods/ephemeralcontainers, where the pod level may not change', () => {
    const result = harden(pod({ ephemeralContainers: [{ name: 'dbg', image: 'busybox' }] }), on, {
      scope: { kind: 'ephemeral', existingEphemeral: new Set() },
      namespace: 'team',
    });
    expect(result.pod.spec!.hostUsers).toBeUndefined();
  });
});

describe('harden(): values no String() can convert', () => {
  it('a sysctl value that is an object without a prototype says nothing about the port, and does not throw', () => {
    // JSON.parse gives such objects for `__proto__` keys' neighbours; the fuzzer found one here.
    const odd = Object.create(null) as Record<string, unknown>;
    odd.x = 1;
    const input = pod({
      securityContext: { sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: odd }] },
      containers: [
        {
          name: 'web',
          image: 'nginx',
          ports: [{ containerPort: 80 }],
          securityContext: { runAsUser: odd },
        },
      ],
    });
    expect(() => harden(input, policyWith(), create())).not.toThrow();
  });
});
