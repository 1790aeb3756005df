import { Annotations } from '../../../src/names';
import { HARDENED_POD_SC, hardenedContainerSc as hsc, pod, withSummary } from '../../support/pods';

/**
 * Table of fixture pods and the pod each must become, rule by rule (docs/hardening.md, "The rules").
 * Shared by the engine test (harden() output) and the admission test (the patch applied with
 * strict RFC 6902 semantics to the object as received must give the same pod).
 */
export interface HardenCase {
  name: string;
  input: any;
  /** The hardened pod; `undefined` when the pod must be admitted unchanged. */
  expected: any;
  /** Rules that must appear in the change list (exactly this set). */
  rules?: string[];
  /** Notice kinds that must appear. */
  notices?: string[];
  namespace?: string;
  policy?: Record<string, unknown>;
}

const meta = (annotations?: Record<string, string>) => ({
  name: 'p',
  namespace: 'team',
  annotations: withSummary(annotations),
});
const ALL_RULES = [
  'runAsUser',
  'runAsGroup',
  'runAsNonRoot',
  'seccompProfile',
  'capabilities.drop',
  'allowPrivilegeEscalation',
];
const PORTS_SYSCTL = { name: 'net.ipv4.ip_unprivileged_port_start', value: '0' };
const USERNS = { userNamespaces: 'on' };
/** One volume of each kind that can be idmapped in a user namespace. */
const IDMAPPABLE_VOLUMES = [
  { name: 'c', configMap: { name: 'c' } },
  { name: 's', secret: { secretName: 's' } },
  { name: 'd', downwardAPI: { items: [] } },
  { name: 't', projected: { sources: [] } },
  { name: 'e', emptyDir: {} },
  { name: 'm', emptyDir: { medium: 'Memory' } },
  { name: 'p', persistentVolumeClaim: { claimName: 'p' } },
  { name: 'g', ephemeral: { volumeClaimTemplate: { spec: { accessModes: ['ReadWriteOnce'] } } } },
  { name: 'i', csi: { driver: 'secrets-store.csi.k8s.io' } },
  { name: 'o', image: { reference: 'registry.example/data:1' } },
];
const app = (sc?: unknown, extra: Record<string, unknown> = {}) => ({
  name: 'app',
  image: 'registry.example/app:1',
  ...extra,
  ...(sc === undefined ? {} : { securityContext: sc }),
});

/** calico-node's mount-bpffs init container (calico v3.30 manifests), with the given securityContext. */
const CALICO_INIT = (sc: Record<string, unknown> = { privileged: true }) => ({
  name: 'mount-bpffs',
  image: 'docker.io/calico/node:v3.30.0',
  command: ['calico-node', '-init', '-best-effort'],
  securityContext: sc,
  volumeMounts: [
    { name: 'sys-fs', mountPath: '/sys/fs', mountPropagation: 'Bidirectional' },
    { name: 'bpffs', mountPath: '/sys/fs/bpf', mountPropagation: 'Bidirectional' },
    { name: 'nodeproc', mountPath: '/nodeproc', readOnly: true },
  ],
});
const CALICO_VOLUMES = [
  { name: 'sys-fs', hostPath: { path: '/sys/fs/', type: 'DirectoryOrCreate' } },
  { name: 'bpffs', hostPath: { path: '/sys/fs/bpf', type: 'Directory' } },
  { name: 'nodeproc', hostPath: { path: '/proc' } },
];

/** The pod hardened with the defaults: `spec` and pod securityContext fields added or replaced. */
const hardened = (
  spec: Record<string, unknown> = {},
  podSc: Record<string, unknown> = {},
  annotations?: Record<string, string>,
) => ({
  ...pod(),
  metadata: meta(annotations),
  spec: { securityContext: { ...HARDENED_POD_SC, ...podSc }, containers: [app(hsc())], ...spec },
});

export const CASES: HardenCase[] = [
  {
    name: 'legacy pod with no securityContext at all gets every layer',
    input: pod(),
    expected: {
      ...pod(),
      metadata: meta(),
      spec: { securityContext: HARDENED_POD_SC, containers: [app(hsc())] },
    },
    rules: ALL_RULES,
  },
  {
    name: 'pod without a pod-level securityContext key (as sent by a client, not defaulted)',
    input: { ...pod(), spec: { containers: [app()] } },
    expected: {
      ...pod(),
      metadata: meta(),
      spec: { securityContext: HARDENED_POD_SC, containers: [app(hsc())] },
    },
  },
  {
    name: 'container-level runAsUser 0 under a non-root pod level is overridden at container level',
    input: pod({
      securityContext: {
        runAsUser: 2000,
        runAsGroup: 2000,
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [app({ runAsUser: 0 })],
    }),
    expected: {
      ...pod(),
      metadata: meta(),
      spec: {
        securityContext: {
          runAsUser: 2000,
          runAsGroup: 2000,
          runAsNonRoot: true,
          seccompProfile: { type: 'RuntimeDefault' },
        },
        containers: [app(hsc({ runAsUser: 1000 }))],
      },
    },
    rules: ['runAsUser', 'capabilities.drop', 'allowPrivilegeEscalation'],
  },
  {
    name: 'explicit non-root UID and GID are kept at both levels',
    input: pod({
      securityContext: { runAsUser: 101, runAsGroup: 101 },
      containers: [app({ runAsUser: 5000, runAsGroup: 5001 })],
    }),
    expected: {
      ...pod(),
      metadata: meta(),
      spec: {
        securityContext: {
          runAsUser: 101,
          runAsGroup: 101,
          runAsNonRoot: true,
          seccompProfile: { type: 'RuntimeDefault' },
        },
        containers: [app(hsc({ runAsUser: 5000, runAsGroup: 5001 }))],
      },
    },
    rules: ['runAsNonRoot', 'seccompProfile', 'capabilities.drop', 'allowPrivilegeEscalation'],
  },
  {
    name: 'root group 0 at pod level becomes 3000',
    input: pod({ securityContext: { runAsUser: 0, runAsGroup: 0 } }),
    expected: {
      ...pod(),
      metadata: meta(),
      spec: { securityContext: HARDENED_POD_SC, containers: [app(hsc())] },
    },
  },
  {
    name: 'init containers are hardened like containers',
    input: pod({
      initContainers: [
        { name: 'migrate', image: 'registry.example/migrate:1', securityContext: { runAsUser: 0 } },
      ],
    }),
    expected: {
      ...pod(),
      metadata: meta(),
      spec: {
        securityContext: HARDENED_POD_SC,
        containers: [app(hsc())],
        initContainers: [
          {
            name: 'migrate',
            image: 'registry.example/migrate:1',
            securityContext: hsc({ runAsUser: 1000 }),
          },
        ],
      },
    },
  },
  {
    name: 'privileged: true becomes false, with escalation forbidden',
    input: pod({ containers: [app({ privileged: true })] }),
    expected: {
      ...pod(),
      metadata: meta(),
      spec: {
        securityContext: HARDENED_POD_SC,
        containers: [app({ privileged: false, ...hsc() })],
      },
    },
    rules: [...ALL_RULES, 'privileged'],
  },
  {
    name: 'allowPrivilegeEscalation: true becomes false',
    input: pod({ containers: [app({ allowPrivilegeEscalation: true })] }),
    expected: {
      ...pod(),
      metadata: meta(),
      spec: { securityContext: HARDENED_POD_SC, containers: [app(hsc())] },
    },
  },
  {
    // calico-node's mount-bpffs init container mounts /sys/fs and /sys/fs/bpf with Bidirectional
    // propagation, which the API server allows only on privileged containers: privileged stays,
    // so allowPrivilegeEscalation (refused beside it) is not forced. Its main container has no
    // such mount and loses privileged as usual.
    name: 'calico-node: a privileged container with a Bidirectional mount stays privileged, without escalation forced',
    input: pod({
      hostNetwork: true,
      initContainers: [CALICO_INIT()],
      containers: [app({ privileged: true })],
      volumes: CALICO_VOLUMES,
    }),
    expected: {
      ...pod(),
      metadata: meta(),
      spec: {
        hostNetwork: true,
        securityContext: {
          ...HARDENED_POD_SC,
          fsGroup: 3000,
          fsGroupChangePolicy: 'OnRootMismatch',
        },
        initContainers: [CALICO_INIT({ privileged: true, capabilities: { drop: ['ALL'] } })],
        containers: [app({ privileged: false, ...hsc() })],
        volumes: CALICO_VOLUMES,
      },
    },
    rules: [...ALL_RULES, 'privileged', 'fsGroup'],
    notices: ['privilegedKept', 'escalationNotForced'],
  },
  {
    name: 'an allowlisted SYS_ADMIN is kept and escalation is not forced beside it',
    input: pod(
      { containers: [app({ capabilities: { add: ['SYS_ADMIN', 'NET_RAW'] } })] },
      { [Annotations.allowedCapabilities]: 'SYS_ADMIN' },
    ),
    policy: { capabilityCeiling: ['*'] },
    expected: {
      ...pod(),
      metadata: meta({ [Annotations.allowedCapabilities]: 'SYS_ADMIN' }),
      spec: {
        securityContext: HARDENED_POD_SC,
        containers: [app({ capabilities: { add: ['SYS_ADMIN'], drop: ['ALL'] } })],
      },
    },
    rules: [
      'runAsUser',
      'runAsGroup',
      'runAsNonRoot',
      'seccompProfile',
      'capabilities.drop',
      'capabilities.add',
    ],
    notices: ['escalationNotForced', 'capabilityAllowlist'],
  },
  {
    name: 'an allowlisted literal CAP_SYS_ADMIN keeps its spelling and escalation is not forced',
    input: pod(
      { containers: [app({ capabilities: { add: ['CAP_SYS_ADMIN'] } })] },
      { [Annotations.allowedCapabilities]: 'sys_admin' },
    ),
    policy: { capabilityCeiling: ['SYS_ADMIN'] },
    expected: {
      ...pod(),
      metadata: meta({ [Annotations.allowedCapabilities]: 'sys_admin' }),
      spec: {
        securityContext: HARDENED_POD_SC,
        containers: [app({ capabilities: { add: ['CAP_SYS_ADMIN'], drop: ['ALL'] } })],
      },
    },
    notices: ['escalationNotForced'],
  },
  {
    name: 'a Windows pod gets no Linux-only field',
    input: pod({
      os: { name: 'windows' },
      containers: [app({ capabilities: { add: ['NET_ADMIN'] } })],
    }),
    expected: undefined,
    notices: ['windowsPod'],
  },
  {
    name: 'capability names match with or without CAP_ and in any case',
    input: pod(
      {
        containers: [
          app({ capabilities: { add: ['cap_net_bind_service', 'Chown', 'CAP_SYS_TIME'] } }),
        ],
      },
      { [Annotations.allowedCapabilities]: 'NET_BIND_SERVICE, cap_chown' },
    ),
    expected: {
      ...pod(),
      metadata: meta({ [Annotations.allowedCapabilities]: 'NET_BIND_SERVICE, cap_chown' }),
      // The kept cap_net_bind_service is NET_BIND_SERVICE: the sysctl takes its place.
      spec: {
        securityContext: { ...HARDENED_POD_SC, sysctls: [PORTS_SYSCTL] },
        containers: [
          app(hsc({ capabilities: { add: ['cap_net_bind_service', 'Chown'], drop: ['ALL'] } })),
        ],
      },
    },
  },
  {
    name: 'an allowlist never adds a capability the container did not request',
    input: pod({ containers: [app()] }, { [Annotations.allowedCapabilities]: 'NET_BIND_SERVICE' }),
    expected: {
      ...pod(),
      metadata: meta({ [Annotations.allowedCapabilities]: 'NET_BIND_SERVICE' }),
      spec: { securityContext: HARDENED_POD_SC, containers: [app(hsc())] },
    },
  },
  {
    name: 'per-container allowlists apply to their container only',
    input: pod(
      {
        containers: [
          app({ capabilities: { add: ['NET_BIND_SERVICE', 'CHOWN'] } }),
          {
            name: 'proxy',
            image: 'envoy',
            securityContext: { capabilities: { add: ['NET_BIND_SERVICE'] } },
          },
        ],
      },
      {
        [`${Annotations.containerCapabilitiesPrefix}app`]: 'NET_BIND_SERVICE',
        [Annotations.allowedCapabilities]: 'CHOWN',
      },
    ),
    expected: {
      ...pod(),
      metadata: meta({
        [`${Annotations.containerCapabilitiesPrefix}app`]: 'NET_BIND_SERVICE',
        [Annotations.allowedCapabilities]: 'CHOWN',
      }),
      spec: {
        securityContext: { ...HARDENED_POD_SC, sysctls: [PORTS_SYSCTL] },
        containers: [
          app(hsc({ capabilities: { add: ['NET_BIND_SERVICE', 'CHOWN'], drop: ['ALL'] } })),
          { name: 'proxy', image: 'envoy', securityContext: hsc() },
        ],
      },
    },
  },
  {
    name: 'capabilities above the operator ceiling are not kept, with a notice',
    input: pod(
      { containers: [app({ capabilities: { add: ['NET_ADMIN'] } })] },
      { [Annotations.allowedCapabilities]: 'NET_ADMIN' },
    ),
    expected: {
      ...pod(),
      metadata: meta({ [Annotations.allowedCapabilities]: 'NET_ADMIN' }),
      spec: { securityContext: HARDENED_POD_SC, containers: [app(hsc())] },
    },
    notices: ['capabilityAboveCeiling'],
  },
  {
    name: 'skip annotation admits the pod untouched',
    policy: { skipNamespaces: ['*'] },
    input: pod({ containers: [app({ privileged: true })] }, { [Annotations.skip]: 'true' }),
    expected: undefined,
    notices: ['skipPod'],
  },
  {
    name: 'a mirror pod of a static pod is left untouched, even where skipping is not allowed',
    input: pod({ containers: [app()] }, { [Annotations.mirrorPod]: '3f2a9c' }),
    policy: { skipNamespaces: [] },
    expected: undefined,
    notices: ['mirrorPod'],
  },
  {
    name: 'skip annotation outside the namespaces the operator allows is ignored',
    input: pod({}, { [Annotations.skip]: 'true' }),
    policy: { skipNamespaces: ['legacy-*'] },
    expected: {
      ...pod(),
      metadata: meta({ [Annotations.skip]: 'true' }),
      spec: { securityContext: HARDENED_POD_SC, containers: [app(hsc())] },
    },
    notices: ['skipDenied'],
  },
  {
    name: 'skip annotation inside an allowed namespace pattern is honoured',
    input: {
      ...pod({}, { [Annotations.skip]: 'TRUE' }),
      metadata: { name: 'p', namespace: 'legacy-erp', annotations: { [Annotations.skip]: 'TRUE' } },
    },
    namespace: 'legacy-erp',
    policy: { skipNamespaces: ['legacy-*'] },
    expected: undefined,
    notices: ['skipPod'],
  },
  {
    name: 'skip-containers leaves the named containers untouched and does not change what they inherit',
    policy: { skipNamespaces: ['*'] },
    input: pod(
      {
        containers: [
          app(),
          {
            name: 'istio-init',
            image: 'istio/proxyv2',
            securityContext: { capabilities: { add: ['NET_ADMIN', 'NET_RAW'] } },
          },
        ],
      },
      { [Annotations.skipContainers]: 'istio-init' },
    ),
    expected: {
      ...pod(),
      metadata: meta({ [Annotations.skipContainers]: 'istio-init' }),
      spec: {
        securityContext: {},
        containers: [
          app(hsc(HARDENED_POD_SC)),
          {
            name: 'istio-init',
            image: 'istio/proxyv2',
            securityContext: { capabilities: { add: ['NET_ADMIN', 'NET_RAW'] } },
          },
        ],
      },
    },
    notices: ['skipContainers'],
  },
  {
    name: 'an untouched container that sets its own identity lets the pod level be hardened',
    policy: { skipNamespaces: ['*'] },
    input: pod(
      {
        containers: [
          app(),
          {
            name: 'debug',
            image: 'busybox',
            securityContext: {
              runAsUser: 0,
              runAsGroup: 0,
              runAsNonRoot: false,
              seccompProfile: { type: 'Unconfined' },
            },
          },
        ],
      },
      { [Annotations.skipContainers]: ' debug ,' },
    ),
    expected: {
      ...pod(),
      metadata: meta({ [Annotations.skipContainers]: ' debug ,' }),
      spec: {
        securityContext: HARDENED_POD_SC,
        containers: [
          app(hsc()),
          {
            name: 'debug',
            image: 'busybox',
            securityContext: {
              runAsUser: 0,
              runAsGroup: 0,
              runAsNonRoot: false,
              seccompProfile: { type: 'Unconfined' },
            },
          },
        ],
      },
    },
  },
  {
    name: 'containers exempt by the operator (name and image) are untouched',
    input: pod({
      initContainers: [
        {
          name: 'istio-init',
          image: 'docker.io/istio/proxyv2:1.24.0',
          securityContext: { runAsUser: 0 },
        },
      ],
    }),
    policy: { exemptContainers: [{ name: 'istio-init', image: 'docker.io/istio/proxyv2:*' }] },
    expected: {
      ...pod(),
      metadata: meta(),
      // istio-init sets its own runAsUser, so the pod level can take the UID; the other fields
      // it would inherit go on the hardened container instead.
      spec: {
        securityContext: { runAsUser: 1000 },
        containers: [
          app(
            hsc({
              runAsGroup: 3000,
              runAsNonRoot: true,
              seccompProfile: { type: 'RuntimeDefault' },
            }),
          ),
        ],
        initContainers: [
          {
            name: 'istio-init',
            image: 'docker.io/istio/proxyv2:1.24.0',
            securityContext: { runAsUser: 0 },
          },
        ],
      },
    },
    notices: ['exemptContainer'],
  },
  {
    name: 'an exemption needs the image to match too, so a container cannot claim it by name',
    input: pod({
      initContainers: [
        { name: 'istio-init', image: 'evil/shell', securityContext: { runAsUser: 0 } },
      ],
    }),
    policy: { exemptContainers: [{ name: 'istio-init', image: 'docker.io/istio/proxyv2:*' }] },
    expected: {
      ...pod(),
      metadata: meta(),
      spec: {
        securityContext: HARDENED_POD_SC,
        containers: [app(hsc())],
        initContainers: [
          { name: 'istio-init', image: 'evil/shell', securityContext: hsc({ runAsUser: 1000 }) },
        ],
      },
    },
  },
  {
    name: 'existing drop entries are kept and ALL is added',
    input: pod({ containers: [app({ capabilities: { drop: ['NET_RAW', 'all'] } })] }),
    expected: {
      ...pod(),
      metadata: meta(),
      spec: {
        securityContext: HARDENED_POD_SC,
        containers: [app(hsc({ capabilities: { drop: ['NET_RAW', 'all', 'ALL'] } }))],
      },
    },
  },
  {
    name: 'null shapes: securityContext null, capabilities with add null, annotations null',
    input: {
      ...pod({
        securityContext: null,
        containers: [
          app(null),
          { name: 'b', image: 'b', securityContext: { capabilities: { add: null, drop: null } } },
        ],
      }),
      metadata: { name: 'p', namespace: 'team', annotations: null },
    },
    expected: {
      ...pod(),
      metadata: meta(),
      spec: {
        securityContext: HARDENED_POD_SC,
        containers: [
          app(hsc()),
          {
            name: 'b',
            image: 'b',
            securityContext: hsc({ capabilities: { add: null, drop: ['ALL'] } }),
          },
        ],
      },
    },
  },
  {
    name: 'empty shapes: empty capabilities and empty add list',
    input: pod({
      containers: [
        app({ capabilities: {} }),
        { name: 'b', image: 'b', securityContext: { capabilities: { add: [] } } },
      ],
    }),
    expected: {
      ...pod(),
      metadata: meta(),
      spec: {
        securityContext: HARDENED_POD_SC,
        containers: [
          app(hsc()),
          {
            name: 'b',
            image: 'b',
            securityContext: hsc({ capabilities: { add: [], drop: ['ALL'] } }),
          },
        ],
      },
    },
  },
  {
    name: 'unknown and future fields survive untouched',
    input: {
      ...pod({
        futureSpecField: { x: [1, 2] },
        securityContext: { futurePodField: 'keep' },
        containers: [
          app(
            { futureScField: { y: true }, capabilities: { futureCaps: 1 } },
            { futureContainerField: 'z' },
          ),
        ],
      }),
      futureTopLevel: { a: null },
    },
    expected: {
      ...pod(),
      futureTopLevel: { a: null },
      metadata: meta(),
      spec: {
        futureSpecField: { x: [1, 2] },
        securityContext: { futurePodField: 'keep', ...HARDENED_POD_SC },
        containers: [
          app(
            {
              futureScField: { y: true },
              capabilities: { futureCaps: 1, drop: ['ALL'] },
              allowPrivilegeEscalation: false,
            },
            { futureContainerField: 'z' },
          ),
        ],
      },
    },
  },
  {
    name: 'annotation keys containing / and ~ are preserved and patched with escaped paths',
    input: pod({}, { 'example.com/owner~team': 'a/b~c', 'x~1y': 'z' }),
    expected: {
      ...pod(),
      metadata: meta({ 'example.com/owner~team': 'a/b~c', 'x~1y': 'z' }),
      spec: { securityContext: HARDENED_POD_SC, containers: [app(hsc())] },
    },
  },
  {
    name: 'seccomp Unconfined becomes RuntimeDefault at both levels; Localhost is kept',
    input: pod({
      securityContext: { seccompProfile: { type: 'Unconfined' } },
      containers: [
        app({ seccompProfile: { type: 'Unconfined' } }),
        {
          name: 'l',
          image: 'l',
          securityContext: { seccompProfile: { type: 'Localhost', localhostProfile: 'p.json' } },
        },
      ],
    }),
    expected: {
      ...pod(),
      metadata: meta(),
      spec: {
        securityContext: HARDENED_POD_SC,
        containers: [
          app(hsc({ seccompProfile: { type: 'RuntimeDefault' } })),
          {
            name: 'l',
            image: 'l',
            securityContext: hsc({
              seccompProfile: { type: 'Localhost', localhostProfile: 'p.json' },
            }),
          },
        ],
      },
    },
  },
  {
    name: 'an Unconfined profile with a stray localhostProfile is replaced whole',
    input: pod({
      containers: [app({ seccompProfile: { type: 'Unconfined', localhostProfile: 'x.json' } })],
    }),
    // No pod-level seccompProfile: the only container sets its own (minimal change).
    expected: {
      ...pod(),
      metadata: meta(),
      spec: {
        securityContext: { ...HARDENED_POD_SC, seccompProfile: undefined },
        containers: [app(hsc({ seccompProfile: { type: 'RuntimeDefault' } }))],
      },
    },
  },
  {
    name: 'runAsNonRoot false at container level becomes true',
    input: pod({ containers: [app({ runAsNonRoot: false })] }),
    expected: {
      ...pod(),
      metadata: meta(),
      spec: {
        securityContext: { ...HARDENED_POD_SC, runAsNonRoot: undefined },
        containers: [app(hsc({ runAsNonRoot: true }))],
      },
    },
  },
  {
    name: 'a writable volume gets fsGroup = the run group with OnRootMismatch',
    input: pod({
      securityContext: { runAsGroup: 4000 },
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }],
    }),
    expected: {
      ...pod(),
      metadata: meta(),
      spec: {
        securityContext: {
          ...HARDENED_POD_SC,
          runAsGroup: 4000,
          fsGroup: 4000,
          fsGroupChangePolicy: 'OnRootMismatch',
        },
        volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'data' } }],
        containers: [app(hsc())],
      },
    },
  },
  {
    name: 'an explicit fsGroup is kept; read-only volume kinds need none',
    input: pod({ securityContext: { fsGroup: 2000 }, volumes: [{ name: 'data', emptyDir: {} }] }),
    expected: {
      ...pod(),
      metadata: meta(),
      spec: {
        securityContext: { fsGroup: 2000, ...HARDENED_POD_SC },
        volumes: [{ name: 'data', emptyDir: {} }],
        containers: [app(hsc())],
      },
    },
  },
  {
    name: 'only configMap, secret and projected volumes: no fsGroup',
    input: pod({
      volumes: [
        { name: 'c', configMap: { name: 'c' } },
        { name: 's', secret: { secretName: 's' } },
        { name: 't', projected: { sources: [] } },
      ],
    }),
    expected: {
      ...pod(),
      metadata: meta(),
      spec: {
        securityContext: HARDENED_POD_SC,
        volumes: [
          { name: 'c', configMap: { name: 'c' } },
          { name: 's', secret: { secretName: 's' } },
          { name: 't', projected: { sources: [] } },
        ],
        containers: [app(hsc())],
      },
    },
    rules: ALL_RULES,
  },
  {
    name: 'the configurable layers can be turned off',
    input: pod({ volumes: [{ name: 'data', emptyDir: {} }] }),
    policy: {
      runAsNonRoot: false,
      fsGroup: false,
      seccompProfile: false,
      runAsUser: 1234,
      runAsGroup: 5678,
    },
    expected: {
      ...pod(),
      metadata: meta(),
      spec: {
        securityContext: { runAsUser: 1234, runAsGroup: 5678 },
        volumes: [{ name: 'data', emptyDir: {} }],
        containers: [app(hsc())],
      },
    },
    rules: ['runAsUser', 'runAsGroup', 'capabilities.drop', 'allowPrivilegeEscalation'],
  },
  {
    name: 'an already hardened pod is left as it is',
    input: pod({ securityContext: HARDENED_POD_SC, containers: [app(hsc())] }),
    expected: undefined,
  },

  // ports: net.ipv4.ip_unprivileged_port_start
  {
    name: 'ports: a hardened container declaring port 80 gets the pod sysctl',
    input: pod({
      containers: [app(undefined, { ports: [{ containerPort: 80, protocol: 'TCP' }] })],
    }),
    expected: hardened(
      { containers: [app(hsc(), { ports: [{ containerPort: 80, protocol: 'TCP' }] })] },
      { sysctls: [PORTS_SYSCTL] },
    ),
    rules: [...ALL_RULES, 'unprivilegedPorts'],
  },
  {
    name: 'ports: port 1023 in an init container counts; other sysctls are kept and it is appended',
    input: pod({
      securityContext: { sysctls: [{ name: 'net.ipv4.ping_group_range', value: '0 2147483647' }] },
      initContainers: [
        {
          name: 'proxy',
          image: 'envoy',
          restartPolicy: 'Always',
          ports: [{ containerPort: 1023 }],
        },
      ],
    }),
    expected: hardened(
      {
        initContainers: [
          {
            name: 'proxy',
            image: 'envoy',
            restartPolicy: 'Always',
            ports: [{ containerPort: 1023 }],
            securityContext: hsc(),
          },
        ],
      },
      { sysctls: [{ name: 'net.ipv4.ping_group_range', value: '0 2147483647' }, PORTS_SYSCTL] },
    ),
  },
  {
    name: 'ports: no container needs a low port (1024 and above): no sysctl',
    input: pod({
      containers: [app(undefined, { ports: [{ containerPort: 1024 }, { containerPort: 8080 }] })],
    }),
    expected: hardened({
      containers: [app(hsc(), { ports: [{ containerPort: 1024 }, { containerPort: 8080 }] })],
    }),
    rules: ALL_RULES,
  },
  {
    name: 'ports: NET_BIND_SERVICE kept by allowlist gets the sysctl, and is named for what it is',
    input: pod(
      { containers: [app({ capabilities: { add: ['NET_BIND_SERVICE'] } })] },
      { [Annotations.allowedCapabilities]: 'NET_BIND_SERVICE' },
    ),
    expected: hardened(
      { containers: [app(hsc({ capabilities: { add: ['NET_BIND_SERVICE'], drop: ['ALL'] } }))] },
      { sysctls: [PORTS_SYSCTL] },
      { [Annotations.allowedCapabilities]: 'NET_BIND_SERVICE' },
    ),
    rules: [...ALL_RULES, 'unprivilegedPorts'],
    notices: ['capabilityAllowlist', 'capabilityNotEffective', 'unprivilegedPorts'],
  },
  {
    name: 'ports: NET_BIND_SERVICE asked for without an allowlist is removed and needs no sysctl',
    input: pod({ containers: [app({ capabilities: { add: ['NET_BIND_SERVICE'] } })] }),
    expected: hardened(),
    rules: [...ALL_RULES, 'capabilities.add'],
  },
  {
    name: 'ports: a hostNetwork pod never gets it (the API server refuses net.* sysctls there)',
    input: pod({
      hostNetwork: true,
      containers: [app(undefined, { ports: [{ containerPort: 80 }] })],
    }),
    expected: hardened({
      hostNetwork: true,
      containers: [app(hsc(), { ports: [{ containerPort: 80 }] })],
    }),
    rules: ALL_RULES,
    notices: ['unprivilegedPorts'],
  },
  {
    name: 'ports: a value the pod sets itself is kept, whatever it is',
    input: pod({
      securityContext: {
        sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '1024' }],
      },
      containers: [app(undefined, { ports: [{ containerPort: 80 }] })],
    }),
    expected: hardened(
      { containers: [app(hsc(), { ports: [{ containerPort: 80 }] })] },
      { sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '1024' }] },
    ),
    rules: ALL_RULES,
    notices: ['unprivilegedPorts'],
  },
  {
    name: 'ports: the slash spelling of the sysctl is the same sysctl',
    input: pod({
      securityContext: { sysctls: [{ name: 'net/ipv4/ip_unprivileged_port_start', value: '0' }] },
      containers: [app(undefined, { ports: [{ containerPort: 80 }] })],
    }),
    expected: hardened(
      { containers: [app(hsc(), { ports: [{ containerPort: 80 }] })] },
      { sysctls: [{ name: 'net/ipv4/ip_unprivileged_port_start', value: '0' }] },
    ),
    rules: ALL_RULES,
  },
  {
    name: 'ports: a Windows pod with port 80 gets nothing',
    input: pod({
      os: { name: 'windows' },
      containers: [app(undefined, { ports: [{ containerPort: 80 }] })],
    }),
    expected: undefined,
    notices: ['windowsPod'],
  },
  {
    name: 'ports: a container in skip-containers with port 80 does not count',
    policy: { skipNamespaces: ['*'] },
    input: pod(
      { containers: [app(), { name: 'web', image: 'nginx', ports: [{ containerPort: 80 }] }] },
      { [Annotations.skipContainers]: 'web' },
    ),
    expected: {
      ...pod(),
      metadata: meta({ [Annotations.skipContainers]: 'web' }),
      spec: {
        securityContext: {},
        containers: [
          app(hsc({ ...HARDENED_POD_SC })),
          { name: 'web', image: 'nginx', ports: [{ containerPort: 80 }] },
        ],
      },
    },
    rules: ALL_RULES,
  },
  {
    name: 'ports: a container exempt by the operator with port 80 does not count',
    input: pod({
      containers: [
        app(),
        {
          name: 'web',
          image: 'nginx',
          securityContext: {
            runAsUser: 0,
            runAsGroup: 0,
            runAsNonRoot: false,
            seccompProfile: { type: 'Unconfined' },
          },
          ports: [{ containerPort: 80 }],
        },
      ],
    }),
    policy: { exemptContainers: [{ name: 'web', image: 'nginx' }] },
    expected: hardened({
      containers: [
        app(hsc()),
        {
          name: 'web',
          image: 'nginx',
          securityContext: {
            runAsUser: 0,
            runAsGroup: 0,
            runAsNonRoot: false,
            seccompProfile: { type: 'Unconfined' },
          },
          ports: [{ containerPort: 80 }],
        },
      ],
    }),
    rules: ALL_RULES,
    notices: ['exemptContainer'],
  },
  {
    name: 'ports: unprivilegedPorts never adds nothing, and says so',
    input: pod({ containers: [app(undefined, { ports: [{ containerPort: 80 }] })] }),
    policy: { unprivilegedPorts: 'never' },
    expected: hardened({ containers: [app(hsc(), { ports: [{ containerPort: 80 }] })] }),
    rules: ALL_RULES,
    notices: ['unprivilegedPorts'],
  },

  // user namespaces: hostUsers false
  {
    name: 'userns on: a pod that leaves hostUsers unset gets hostUsers: false, and the rest as always',
    input: pod(),
    policy: USERNS,
    expected: hardened({ hostUsers: false }),
    rules: [...ALL_RULES, 'userNamespaces'],
  },
  {
    name: 'userns on: volumes that can be idmapped allow it',
    input: pod({ volumes: IDMAPPABLE_VOLUMES }),
    policy: USERNS,
    expected: hardened(
      { hostUsers: false, volumes: IDMAPPABLE_VOLUMES },
      { fsGroup: 3000, fsGroupChangePolicy: 'OnRootMismatch' },
    ),
  },
  ...(['hostNetwork', 'hostPID', 'hostIPC'] as const).map((field) => ({
    name: `userns on: a pod with ${field} is left without it (the API server refuses the two together)`,
    input: pod({ [field]: true }),
    policy: USERNS,
    expected: hardened({ [field]: true }),
    rules: ALL_RULES,
    notices: ['userNamespacesNotSet'],
  })),
  ...[
    { name: 'logs', hostPath: { path: '/var/log' } },
    { name: 'share', nfs: { server: 'nfs.example', path: '/export' } },
    {
      name: 'lun',
      iscsi: { targetPortal: '10.0.0.1:3260', iqn: 'iqn.2001-04.com.example:storage', lun: 0 },
    },
    { name: 'repo', gitRepo: { repository: 'https://git.example/r.git' } },
  ].map((volume) => ({
    name: `userns on: a ${Object.keys(volume)[1]} volume leaves the pod without it, named in a notice`,
    input: pod({ volumes: [volume] }),
    policy: USERNS,
    expected: hardened(
      { volumes: [volume] },
      { fsGroup: 3000, fsGroupChangePolicy: 'OnRootMismatch' },
    ),
    rules: [...ALL_RULES, 'fsGroup'],
    notices: ['userNamespacesNotSet'],
  })),
  {
    name: 'userns on: a raw block device (volumeDevices) leaves the pod without it',
    input: pod({
      volumes: [{ name: 'disk', persistentVolumeClaim: { claimName: 'disk' } }],
      containers: [app(undefined, { volumeDevices: [{ name: 'disk', devicePath: '/dev/xvda' }] })],
    }),
    policy: USERNS,
    expected: hardened(
      {
        volumes: [{ name: 'disk', persistentVolumeClaim: { claimName: 'disk' } }],
        containers: [app(hsc(), { volumeDevices: [{ name: 'disk', devicePath: '/dev/xvda' }] })],
      },
      { fsGroup: 3000, fsGroupChangePolicy: 'OnRootMismatch' },
    ),
    notices: ['userNamespacesNotSet'],
  },
  {
    name: 'userns on: a UID beyond the 65536 a user namespace maps leaves the pod without it',
    input: pod({ securityContext: { runAsUser: 70000 } }),
    policy: USERNS,
    expected: hardened({}, { runAsUser: 70000 }),
    notices: ['userNamespacesNotSet'],
  },
  ...[true, false].map((hostUsers) => ({
    name: `userns on: hostUsers: ${hostUsers} set by the pod is kept`,
    input: pod({ hostUsers }),
    policy: USERNS,
    expected: hardened({ hostUsers }),
    rules: ALL_RULES,
  })),
  {
    name: 'userns on: containers left untouched are in the user namespace too',
    input: pod(
      {
        containers: [app(), { name: 'debug', image: 'busybox', securityContext: { runAsUser: 0 } }],
      },
      { [Annotations.skipContainers]: 'debug' },
    ),
    policy: { ...USERNS, skipNamespaces: ['*'] },
    expected: {
      ...pod(),
      metadata: meta({ [Annotations.skipContainers]: 'debug' }),
      // debug sets only its own runAsUser: the other fields go on app, as without user namespaces.
      spec: {
        hostUsers: false,
        securityContext: { runAsUser: 1000 },
        containers: [
          app(
            hsc({
              runAsGroup: 3000,
              runAsNonRoot: true,
              seccompProfile: { type: 'RuntimeDefault' },
            }),
          ),
          { name: 'debug', image: 'busybox', securityContext: { runAsUser: 0 } },
        ],
      },
    },
    notices: ['skipContainers'],
  },
  {
    name: 'userns on: a skipped pod is untouched',
    input: pod({}, { [Annotations.skip]: 'true' }),
    policy: { ...USERNS, skipNamespaces: ['*'] },
    expected: undefined,
    notices: ['skipPod'],
  },
  {
    name: 'userns on: a Windows pod gets nothing (the API server refuses hostUsers there)',
    input: pod({ os: { name: 'windows' } }),
    policy: USERNS,
    expected: undefined,
    notices: ['windowsPod'],
  },
  {
    name: 'userns on: an already hardened pod in a user namespace is left as it is',
    input: pod({ hostUsers: false, securityContext: HARDENED_POD_SC, containers: [app(hsc())] }),
    policy: USERNS,
    expected: undefined,
  },
  {
    name: 'userns off (the default): no hostUsers',
    input: pod(),
    expected: hardened(),
    rules: ALL_RULES,
  },
  {
    name: 'root group: fsGroup 0 becomes the run group, with no volume needed',
    input: pod({ securityContext: { fsGroup: 0 } }),
    expected: hardened({}, { fsGroup: 3000 }),
    rules: [...ALL_RULES, 'fsGroup'],
  },
  {
    name: 'root group: fsGroup 0 becomes the group every container already runs as',
    input: pod({
      securityContext: { fsGroup: 0, runAsGroup: 2001 },
      volumes: [{ name: 'data', emptyDir: {} }],
    }),
    expected: hardened(
      { volumes: [{ name: 'data', emptyDir: {} }] },
      { fsGroup: 2001, runAsGroup: 2001 },
    ),
    rules: [
      'runAsUser',
      'runAsNonRoot',
      'seccompProfile',
      'capabilities.drop',
      'allowPrivilegeEscalation',
      'fsGroup',
    ],
  },
  {
    name: 'root group: 0 is removed from supplementalGroups, the other groups are kept',
    input: pod({ securityContext: { supplementalGroups: [0, 5, 0] } }),
    expected: hardened({}, { supplementalGroups: [5] }),
    rules: [...ALL_RULES, 'supplementalGroups'],
  },
  {
    name: 'root group: supplementalGroups [0] is removed whole',
    input: pod({ securityContext: { supplementalGroups: [0] } }),
    expected: hardened(),
    rules: [...ALL_RULES, 'supplementalGroups'],
  },
  {
    name: 'root group: supplementalGroupsPolicy Strict only where the operator turns it on',
    input: pod({ securityContext: { supplementalGroupsPolicy: 'Merge' } }),
    policy: { supplementalGroupsPolicy: 'strict' },
    expected: hardened({}, { supplementalGroupsPolicy: 'Strict' }),
    rules: [...ALL_RULES, 'supplementalGroupsPolicy'],
  },
  {
    name: 'root group: supplementalGroupsPolicy is left alone by default',
    input: pod({ securityContext: { supplementalGroupsPolicy: 'Merge' } }),
    expected: hardened({}, { supplementalGroupsPolicy: 'Merge' }),
    rules: ALL_RULES,
  },
  {
    name: 'confinement: AppArmor Unconfined is removed from the container, the pod and the annotation',
    input: pod(
      {
        securityContext: { appArmorProfile: { type: 'Unconfined' } },
        containers: [app({ appArmorProfile: { type: 'Unconfined' } })],
      },
      { [`${Annotations.appArmorContainerPrefix}app`]: 'unconfined' },
    ),
    expected: hardened(),
    rules: [...ALL_RULES, 'appArmorProfile'],
  },
  {
    name: 'confinement: AppArmor RuntimeDefault and Localhost are kept',
    input: pod({
      securityContext: { appArmorProfile: { type: 'RuntimeDefault' } },
      containers: [app({ appArmorProfile: { type: 'Localhost', localhostProfile: 'k8s-app' } })],
    }),
    expected: hardened(
      {
        containers: [
          app(hsc({ appArmorProfile: { type: 'Localhost', localhostProfile: 'k8s-app' } })),
        ],
      },
      { appArmorProfile: { type: 'RuntimeDefault' } },
    ),
    rules: ALL_RULES,
  },
  {
    name: 'confinement: an SELinux type outside the container types, a user and a role are removed, the level kept',
    input: pod({
      securityContext: { seLinuxOptions: { type: 'spc_t', level: 's0:c1,c2' } },
      containers: [app({ seLinuxOptions: { type: 'unconfined_t', user: 'system_u' } })],
    }),
    expected: hardened({ containers: [app(hsc())] }, { seLinuxOptions: { level: 's0:c1,c2' } }),
    rules: [...ALL_RULES, 'seLinuxOptions'],
  },
  {
    name: 'confinement: container_t and container_init_t are kept',
    input: pod({ containers: [app({ seLinuxOptions: { type: 'container_init_t' } })] }),
    expected: hardened({
      containers: [app(hsc({ seLinuxOptions: { type: 'container_init_t' } }))],
    }),
    rules: ALL_RULES,
  },
  {
    name: 'confinement: procMount Unmasked becomes Default',
    input: pod({ containers: [app({ procMount: 'Unmasked' })] }),
    expected: hardened({ containers: [app(hsc({ procMount: 'Default' }))] }),
    rules: [...ALL_RULES, 'procMount'],
  },
  {
    name: 'confinement: procMount Unmasked is kept in a user namespace',
    input: pod({ hostUsers: false, containers: [app({ procMount: 'Unmasked' })] }),
    expected: hardened({ hostUsers: false, containers: [app(hsc({ procMount: 'Unmasked' }))] }),
    rules: ALL_RULES,
  },
  {
    name: 'confinement: a container left untouched keeps the AppArmor profile it inherits, as its own',
    input: pod(
      {
        securityContext: { appArmorProfile: { type: 'Unconfined' } },
        containers: [app(), { name: 'mesh', image: 'registry.example/mesh:1' }],
      },
      { [Annotations.skipContainers]: 'mesh' },
    ),
    policy: { skipNamespaces: ['*'] },
    expected: {
      ...pod(),
      metadata: meta({ [Annotations.skipContainers]: 'mesh' }),
      spec: {
        securityContext: {},
        containers: [
          app(hsc(HARDENED_POD_SC)),
          {
            name: 'mesh',
            image: 'registry.example/mesh:1',
            securityContext: { appArmorProfile: { type: 'Unconfined' } },
          },
        ],
      },
    },
    notices: ['skipContainers'],
  },
  {
    name: 'minimal change: a pod whose every container meets every rule gets no patch',
    input: pod({
      containers: [
        app({
          runAsUser: 101,
          runAsGroup: 101,
          runAsNonRoot: true,
          seccompProfile: { type: 'RuntimeDefault' },
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
        }),
      ],
      initContainers: [
        {
          name: 'init',
          image: 'registry.example/init:1',
          securityContext: {
            runAsUser: 65532,
            runAsGroup: 65532,
            runAsNonRoot: true,
            seccompProfile: { type: 'RuntimeDefault' },
            allowPrivilegeEscalation: false,
            capabilities: { drop: ['ALL'] },
          },
        },
      ],
    }),
    expected: undefined,
  },
  {
    name: 'minimal change: only what containers inherit is set at pod level, never a group without a user',
    input: pod({
      containers: [
        app({
          runAsUser: 101,
          runAsNonRoot: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: ['ALL'] },
        }),
      ],
    }),
    // The group goes on the container: containerd refuses a pod sandbox whose pod level names a
    // group without a user.
    expected: hardened(
      { containers: [app(hsc({ runAsUser: 101, runAsGroup: 3000, runAsNonRoot: true }))] },
      { runAsUser: undefined, runAsGroup: undefined, runAsNonRoot: undefined },
    ),
    rules: ['runAsGroup', 'seccompProfile'],
  },
  {
    name: 'minimal change: fsGroup is the group the containers agree on',
    input: pod({
      volumes: [{ name: 'data', emptyDir: {} }],
      containers: [app({ runAsUser: 1001, runAsGroup: 2001 })],
    }),
    expected: hardened(
      {
        volumes: [{ name: 'data', emptyDir: {} }],
        containers: [app(hsc({ runAsUser: 1001, runAsGroup: 2001 }))],
      },
      {
        runAsUser: undefined,
        runAsGroup: undefined,
        fsGroup: 2001,
        fsGroupChangePolicy: 'OnRootMismatch',
      },
    ),
    rules: [
      'runAsNonRoot',
      'seccompProfile',
      'capabilities.drop',
      'allowPrivilegeEscalation',
      'fsGroup',
    ],
  },
];
