import fc from 'fast-check';
import { Annotations } from '../../src/names';

/** fast-check generators of pods as the API server could send them, shared by property tests and the fuzzer. */

const CAPS = [
  'NET_BIND_SERVICE',
  'cap_net_bind_service',
  'CHOWN',
  'SYS_ADMIN',
  'CAP_SYS_ADMIN',
  'sys_admin',
  'NET_ADMIN',
  'NET_RAW',
  'SYS_TIME',
  'ALL',
  'Kill',
];
const optional = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 2 });
const nullable = <T>(arb: fc.Arbitrary<T>) =>
  fc.oneof(arb, fc.constant(null), fc.constant(undefined));
const id = fc.constantFrom(0, 1, 101, 1000, 65534);
const seccomp = fc.constantFrom(
  { type: 'RuntimeDefault' },
  { type: 'Unconfined' },
  { type: 'Localhost', localhostProfile: 'profiles/a.json' },
);

/**
 * A copy made in the test's own realm: structuredClone's objects have another Object.prototype
 * under jest, and fast-check then prints them as [object Object] in a counterexample.
 */
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

function withoutUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export const capabilitiesArb = nullable(
  fc
    .record({
      add: nullable(fc.array(fc.constantFrom(...CAPS), { maxLength: 4 })),
      drop: nullable(fc.array(fc.constantFrom('ALL', 'NET_RAW', 'all'), { maxLength: 2 })),
    })
    .map(withoutUndefined),
);

// The confinement fields the API server ties to privilege, the OS or user namespaces, and that
// Pod Security judges: SELinux types inside and outside the container types baseline allows (and
// user/role, which it forbids), AppArmor profiles of each kind.
const seLinuxOptions = fc.constantFrom(
  { type: 'spc_t' },
  { type: 'container_t' },
  { type: 'container_init_t' },
  { type: 'container_engine_t' },
  { type: 'unconfined_t' },
  { level: 's0:c123,c456' },
  { user: 'system_u', role: 'system_r', type: 'container_t', level: 's0:c1,c2' },
);
const appArmorProfile = fc.constantFrom(
  { type: 'RuntimeDefault' },
  { type: 'Unconfined' },
  { type: 'Localhost', localhostProfile: 'k8s-apparmor-example' },
);
const groupsArb = fc.constantFrom([4000], [0], [0, 4000]);

export const containerScArb = nullable(
  fc
    .record({
      runAsUser: optional(id),
      runAsGroup: optional(id),
      runAsNonRoot: optional(fc.boolean()),
      privileged: optional(fc.boolean()),
      allowPrivilegeEscalation: optional(fc.boolean()),
      capabilities: capabilitiesArb,
      seccompProfile: optional(seccomp),
      readOnlyRootFilesystem: optional(fc.boolean()),
      procMount: optional(fc.constantFrom('Default', 'Unmasked')),
      seLinuxOptions: optional(seLinuxOptions),
      appArmorProfile: optional(appArmorProfile),
    })
    .map(withoutUndefined),
);

// Windows pods: the API server refuses every Linux-only field on them, so their security
// contexts carry only what Windows has (runAsNonRoot, windowsOptions).
const windowsOptions = fc.constantFrom(
  { runAsUserName: 'ContainerUser' },
  { runAsUserName: 'ContainerAdministrator' },
  { hostProcess: true, runAsUserName: 'NT AUTHORITY\\SYSTEM' },
);
const windowsScArb = nullable(
  fc
    .record({ runAsNonRoot: optional(fc.boolean()), windowsOptions: optional(windowsOptions) })
    .map(withoutUndefined),
);

export const podScArb = nullable(
  fc
    .record({
      runAsUser: optional(id),
      runAsGroup: optional(id),
      runAsNonRoot: optional(fc.boolean()),
      fsGroup: optional(id),
      seccompProfile: optional(seccomp),
      supplementalGroups: optional(groupsArb),
      supplementalGroupsPolicy: optional(fc.constantFrom('Merge', 'Strict')),
      seLinuxOptions: optional(seLinuxOptions),
      appArmorProfile: optional(appArmorProfile),
    })
    .map(withoutUndefined),
);

const NAMES = ['app', 'sidecar', 'istio-init', 'debug', 'migrate', 'proxy'];

// Ports on both sides of 1024, and the sysctls a pod may already set (both spellings of the one
// pod-hardener adds, and others that must be kept).
const portsArb = optional(
  fc
    .subarray([22, 80, 443, 1023, 1024, 8080])
    .map((ports) => ports.map((containerPort) => ({ containerPort, protocol: 'TCP' }))),
);
const sysctlsArb = optional(
  fc.subarray([
    { name: 'net.ipv4.ip_unprivileged_port_start', value: '1024' },
    { name: 'net/ipv4/ip_unprivileged_port_start', value: '0' },
    { name: 'net.ipv4.ping_group_range', value: '0 2147483647' },
    { name: 'kernel.shm_rmid_forced', value: '1' },
  ]),
);
const APPARMOR_ANNOTATION = 'container.apparmor.security.beta.kubernetes.io/';
const VOLUMES = [
  { name: 'd', emptyDir: {} },
  { name: 'c', configMap: { name: 'c' } },
  { name: 'p', persistentVolumeClaim: { claimName: 'p' } },
  { name: 'h', hostPath: { path: '/var/log' } },
  { name: 'n', nfs: { server: 'nfs.example', path: '/' } },
];

// Mounts of the pod's volumes (by index into them), with every mount propagation: the API server
// allows Bidirectional only on a privileged container.
const mountsArb = optional(
  fc.uniqueArray(
    fc.record({
      volume: fc.nat({ max: 1 }),
      mountPropagation: optional(fc.constantFrom('None', 'HostToContainer', 'Bidirectional')),
    }),
    { selector: (m) => m.volume, minLength: 1, maxLength: 2 },
  ),
);

function mountsOf(
  mounts: { volume: number; mountPropagation?: string }[] | undefined,
  volumes: any[],
) {
  if (mounts === undefined || volumes.length === 0) return undefined;
  const names = [...new Set(mounts.map((m) => volumes[m.volume % volumes.length].name as string))];
  return names.map((name) =>
    withoutUndefined({
      name,
      mountPath: `/mnt/${name}`,
      mountPropagation: mounts.find((m) => volumes[m.volume % volumes.length].name === name)
        ?.mountPropagation,
    }),
  );
}

/** A container `kubectl debug` adds through pods/ephemeralcontainers (no ports: not allowed there). */
export const ephemeralContainerArb = fc
  .record({
    sc: containerScArb,
    mounts: mountsArb,
    image: fc.constantFrom('busybox:1.37', 'docker.io/istio/proxyv2:1.24'),
    target: fc.boolean(),
  })
  .map((g) => (pod: any) => {
    const container: any = withoutUndefined({
      name: 'debugger',
      image: g.image,
      securityContext: g.sc === undefined ? undefined : clone(g.sc),
      volumeMounts: mountsOf(g.mounts, pod.spec.volumes ?? []),
      targetContainerName: g.target ? pod.spec.containers[0].name : undefined,
    });
    return container;
  });

export const podArb = fc
  .record({
    names: fc.uniqueArray(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 5 }),
    initCount: fc.nat({ max: 2 }),
    scs: fc.array(containerScArb, { minLength: 5, maxLength: 5 }),
    windowsScs: fc.array(windowsScArb, { minLength: 5, maxLength: 5 }),
    podSc: podScArb,
    windowsPodSc: windowsScArb,
    volumes: optional(fc.subarray(VOLUMES, { minLength: 1, maxLength: 2 })),
    mounts: fc.array(mountsArb, { minLength: 5, maxLength: 5 }),
    appArmorAnnotation: optional(
      fc.tuple(
        fc.nat({ max: 4 }),
        fc.constantFrom('runtime/default', 'unconfined', 'localhost/k8s-apparmor-example'),
      ),
    ),
    ports: fc.array(portsArb, { minLength: 5, maxLength: 5 }),
    blockDevice: fc.oneof(
      { weight: 6, arbitrary: fc.constant(false) },
      { weight: 1, arbitrary: fc.constant(true) },
    ),
    sysctls: sysctlsArb,
    hostNamespaces: fc.record({
      hostNetwork: fc.oneof(
        { weight: 5, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.boolean() },
      ),
      hostPID: fc.oneof(
        { weight: 8, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.boolean() },
      ),
      hostIPC: fc.oneof(
        { weight: 8, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.boolean() },
      ),
      hostUsers: fc.oneof(
        { weight: 4, arbitrary: fc.constant(undefined) },
        { weight: 1, arbitrary: fc.boolean() },
      ),
    }),
    windows: fc.oneof(
      { weight: 4, arbitrary: fc.constant(false) },
      { weight: 1, arbitrary: fc.constant(true) },
    ),
    skip: optional(fc.constantFrom('true', 'false', 'yes')),
    skipContainers: optional(fc.subarray(NAMES, { maxLength: 2 }).map((a) => a.join(','))),
    allowed: optional(fc.subarray(CAPS, { maxLength: 3 }).map((a) => a.join(','))),
    perContainer: optional(
      fc.tuple(fc.constantFrom(...NAMES), fc.subarray(CAPS, { maxLength: 2 })),
    ),
    images: fc.array(fc.constantFrom('registry.example/app:1', 'docker.io/istio/proxyv2:1.24'), {
      minLength: 5,
      maxLength: 5,
    }),
  })
  .map((g) => {
    const initCount = Math.min(g.initCount, g.names.length - 1);
    const scs = g.windows ? g.windowsScs : g.scs;
    const all = g.names.map((name, i) =>
      withoutUndefined({
        name,
        image: g.images[i],
        securityContext: scs[i] === undefined ? undefined : clone(scs[i]),
        ports: g.ports[i] === undefined ? undefined : clone(g.ports[i]),
        volumeMounts: mountsOf(g.mounts[i], g.volumes ?? []),
        volumeDevices:
          g.blockDevice && i === 0 ? [{ name: 'p', devicePath: '/dev/xvda' }] : undefined,
      }),
    );
    const chosenPodSc = g.windows ? g.windowsPodSc : g.podSc;
    let podSc: Record<string, unknown> | null | undefined =
      chosenPodSc === undefined ? undefined : clone(chosenPodSc);
    if (g.sysctls !== undefined && g.sysctls.length > 0 && !g.windows)
      podSc = { ...(podSc ?? {}), sysctls: clone(g.sysctls) };
    const annotations: Record<string, string> = {};
    if (g.appArmorAnnotation && !g.windows)
      annotations[APPARMOR_ANNOTATION + g.names[g.appArmorAnnotation[0] % g.names.length]] =
        g.appArmorAnnotation[1];
    if (g.skip) annotations[Annotations.skip] = g.skip;
    if (g.skipContainers) annotations[Annotations.skipContainers] = g.skipContainers;
    if (g.allowed) annotations[Annotations.allowedCapabilities] = g.allowed;
    if (g.perContainer)
      annotations[Annotations.containerCapabilitiesPrefix + g.perContainer[0]] =
        g.perContainer[1].join(',');
    const spec: any = withoutUndefined({
      securityContext: podSc,
      initContainers: initCount > 0 ? all.slice(0, initCount) : undefined,
      containers: all.slice(initCount),
      volumes: g.volumes,
      os: g.windows ? { name: 'windows' } : undefined,
      ...g.hostNamespaces,
    });
    return {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'gen', namespace: 'team', annotations },
      spec,
    };
  });

export const policyOverridesArb = fc.record({
  capabilityCeiling: fc.constantFrom(
    ['*'],
    ['NET_BIND_SERVICE', 'CHOWN', 'KILL'],
    ['SYS_ADMIN', 'NET_BIND_SERVICE'],
    [] as string[],
  ),
  skipNamespaces: fc.constantFrom<string[]>(['*'], ['team'], ['elsewhere']),
  exemptContainers: fc.constantFrom<{ name?: string; image?: string }[]>(
    [],
    [{ name: 'istio-init', image: 'docker.io/istio/proxyv2:*' }],
  ),
  runAsNonRoot: fc.boolean(),
  unprivilegedPorts: fc.constantFrom('auto' as const, 'never' as const),
  userNamespaces: fc.constantFrom('off' as const, 'on' as const),
});
