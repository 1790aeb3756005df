/**
 * Pods and owner objects as the API server lists them (status, uid, ownerReferences), for the
 * scan tests: a namespace holding one of each kind of workload scan groups by.
 */
import { Annotations } from '../../src/names';
import type { OwnerObject } from '../../src/cli/scan/owners';
import type { NamespaceData } from '../../src/cli/scan/analyze';

let uids = 0;
const uid = (what: string) => `${what}-${String(++uids).padStart(4, '0')}`;

export interface Ref {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
}

export function ownerRef(
  o: { apiVersion: string; kind: string; name: string; uid: string },
  controller = true,
): Record<string, unknown> {
  return {
    apiVersion: o.apiVersion,
    kind: o.kind,
    name: o.name,
    uid: o.uid,
    controller,
    blockOwnerDeletion: true,
  };
}

export function owner(
  apiVersion: string,
  kind: string,
  name: string,
  parent?: Ref,
): Ref & OwnerObject {
  return {
    apiVersion,
    kind,
    name,
    uid: uid(kind),
    ownerReferences: parent ? [ownerRef(parent)] : undefined,
  };
}

export function storedPod(
  name: string,
  spec: Record<string, unknown>,
  o: { owner?: Ref; annotations?: Record<string, string>; namespace?: string } = {},
): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: o.namespace ?? 'shop',
      uid: uid('pod'),
      ...(o.annotations ? { annotations: o.annotations } : {}),
      ...(o.owner ? { ownerReferences: [ownerRef(o.owner)] } : {}),
    },
    spec: { securityContext: {}, restartPolicy: 'Always', ...spec },
    status: { phase: 'Pending' },
  };
}

const c = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  image: `registry.example/${name}:1`,
  ...extra,
});

export const HARDENED_SPEC = {
  securityContext: {
    runAsUser: 1000,
    runAsGroup: 3000,
    runAsNonRoot: true,
    seccompProfile: { type: 'RuntimeDefault' },
  },
  containers: [
    c('app', {
      securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
    }),
  ],
};

/** One namespace with a workload of each kind, and the owners above them. */
export function shopNamespace(
  labels: Record<string, string> = {},
): NamespaceData & { refs: Record<string, Ref> } {
  const deploy = owner('apps/v1', 'Deployment', 'web');
  const rs = owner('apps/v1', 'ReplicaSet', 'web-7d9c6b5f8d', deploy);
  const sts = owner('apps/v1', 'StatefulSet', 'db');
  const ds = owner('apps/v1', 'DaemonSet', 'agent');
  const cron = owner('batch/v1', 'CronJob', 'report');
  const job = owner('batch/v1', 'Job', 'report-29000000', cron);
  const rollout: Ref = {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    name: 'canary',
    uid: uid('Rollout'),
  };
  const webSpec = { containers: [c('web', { ports: [{ containerPort: 80, protocol: 'TCP' }] })] };
  const pods = [
    storedPod('web-7d9c6b5f8d-aaaaa', webSpec, { owner: rs }),
    storedPod('web-7d9c6b5f8d-bbbbb', webSpec, { owner: rs }),
    storedPod(
      'db-0',
      {
        securityContext: { runAsUser: 0 },
        containers: [
          c('postgres', { volumeMounts: [{ name: 'data', mountPath: '/var/lib/postgresql' }] }),
        ],
        volumes: [{ name: 'data', hostPath: { path: '/srv/db', type: 'DirectoryOrCreate' } }],
      },
      { owner: sts },
    ),
    storedPod(
      'agent-x1',
      {
        hostNetwork: true,
        hostPID: true,
        containers: [
          c('agent', { securityContext: { capabilities: { add: ['NET_ADMIN', 'NET_RAW'] } } }),
        ],
      },
      { owner: ds, annotations: { [Annotations.allowedCapabilities]: 'NET_RAW' } },
    ),
    storedPod(
      'report-29000000-q8x2z',
      {
        restartPolicy: 'Never',
        containers: [c('report', { securityContext: { privileged: true } })],
      },
      { owner: job },
    ),
    storedPod('debug', { containers: [c('shell')] }),
    storedPod('hardened', HARDENED_SPEC, {
      annotations: { [Annotations.hardened]: 'runAsUser=1000 [pod]' },
    }),
    storedPod(
      'skipped',
      { containers: [c('legacy', { securityContext: { runAsUser: 0 } })] },
      { annotations: { [Annotations.skip]: 'true' } },
    ),
    storedPod('canary-5f6d7-abcde', { containers: [c('app')] }, { owner: rollout }),
  ];
  return {
    name: 'shop',
    labels,
    pods,
    owners: [deploy, rs, sts, ds, cron, job],
    refs: { deploy, rs, sts, ds, cron, job, rollout },
  };
}
