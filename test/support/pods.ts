import { Annotations } from '../../src/names';

/** A minimal pod as the API server stores it before admission (pod-level securityContext defaulted to {}). */
export function pod(
  spec: Record<string, unknown> = {},
  annotations?: Record<string, string> | null,
  name = 'p',
): any {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'team', ...(annotations !== undefined ? { annotations } : {}) },
    spec: {
      securityContext: {},
      containers: [{ name: 'app', image: 'registry.example/app:1' }],
      ...spec,
    },
  };
}

/** The container securityContext every hardened container ends with, plus what a case adds. */
export function hardenedContainerSc(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { capabilities: { drop: ['ALL'] }, allowPrivilegeEscalation: false, ...extra };
}

/** The pod-level securityContext of a pod hardened with the defaults and no writable volume. */
export const HARDENED_POD_SC = {
  runAsUser: 1000,
  runAsGroup: 3000,
  runAsNonRoot: true,
  seccompProfile: { type: 'RuntimeDefault' },
};

/**
 * What a pods/ephemeralcontainers request body may claim that the stored pod does not say, each
 * of which would leave the new container unhardened if the webhook believed the body: the tests
 * of the stored view (unit and API tier) make each claim in turn.
 */
export const STORED_POD_CLAIMS: ReadonlyArray<[string, (body: any) => void]> = [
  [
    'a mirror-pod annotation',
    (b) => (b.metadata.annotations = { ...b.metadata.annotations, [Annotations.mirrorPod]: 'x' }),
  ],
  [
    'a skip annotation',
    (b) => (b.metadata.annotations = { ...b.metadata.annotations, [Annotations.skip]: 'true' }),
  ],
  ['os.name windows', (b) => (b.spec.os = { name: 'windows' })],
  [
    'a non-root pod-level securityContext',
    (b) => (b.spec.securityContext = { ...HARDENED_POD_SC }),
  ],
];

/** Annotations after hardening: the given ones plus the summary (its wording is tested in summary.test.ts). */
export function withSummary(annotations: Record<string, string> = {}): Record<string, unknown> {
  return { ...annotations, [Annotations.hardened]: expect.any(String) };
}

/** Every container of a pod: init, regular and ephemeral. */
export function containersOf(pod: any): any[] {
  return [
    ...(pod.spec.initContainers ?? []),
    ...(pod.spec.containers ?? []),
    ...(pod.spec.ephemeralContainers ?? []),
  ];
}
