/**
 * What the webhook stores for the pods of a workload, computed without the offline tool: the pod
 * built from the template the way its controller builds it, sent through reviewAdmission as
 * kube-apiserver sends it, and its patch applied with the strict RFC 6902 applier.
 */
import { reviewAdmission } from '../../src/admission/review';
import type { Policy } from '../../src/engine/policy';
import { podReview } from './reviews';
import { applyStrict, decodePatch } from './strict-patch';

/** Where each kind keeps its pod template, written here again rather than taken from the tool. */
export const TEMPLATE: Readonly<Record<string, readonly string[]>> = {
  Pod: [],
  PodTemplate: ['template'],
  ReplicationController: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  Deployment: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
};

export const at = (obj: any, path: readonly string[]) => path.reduce((v, k) => v?.[k], obj);

/** The objects of parsed documents: the documents, and the entries of Lists. */
export function objectsOfDocuments(docs: readonly any[]): any[] {
  return docs
    .flatMap((d) => (d && typeof d.kind === 'string' && d.kind.endsWith('List') ? d.items : [d]))
    .filter((d) => d != null);
}

/** The pod a controller creates from a workload's template (a Pod is itself). */
export function podFrom(workload: any, template: any = at(workload, TEMPLATE[workload.kind])): any {
  if (workload.kind === 'Pod') return structuredClone(template);
  const spec = structuredClone(template.spec);
  if (workload.kind === 'StatefulSet') {
    // The StatefulSet controller mounts one claim per volumeClaimTemplate: <claim>-<set>-<ordinal>.
    const claims = workload.spec.volumeClaimTemplates ?? [];
    spec.volumes = [
      ...(spec.volumes ?? []),
      ...claims.map((c: any) => ({
        name: c.metadata.name,
        persistentVolumeClaim: { claimName: `${c.metadata.name}-${workload.metadata.name}-0` },
      })),
    ];
  }
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      generateName: `${workload.metadata.name}-`,
      namespace: workload.metadata.namespace ?? 'default',
      ...(template.metadata?.labels ? { labels: structuredClone(template.metadata.labels) } : {}),
      ...(template.metadata?.annotations
        ? { annotations: structuredClone(template.metadata.annotations) }
        : {}),
      ownerReferences: [
        {
          apiVersion: workload.apiVersion,
          kind: workload.kind,
          name: workload.metadata.name,
          uid: 'owner-uid',
          controller: true,
        },
      ],
    },
    spec,
  };
}

/** What the webhook stores for a pod: the review's patch applied strictly; status is its HTTP status. */
export function stored(pod: any, policy: Policy): { status: number; pod: any; patched: boolean } {
  const outcome = reviewAdmission(
    podReview(pod, { namespace: pod.metadata?.namespace ?? 'default' }),
    'enforce',
    policy,
  );
  const response = (outcome.body as any).response;
  if (outcome.status !== 200) return { status: outcome.status, pod, patched: false };
  return {
    status: 200,
    pod: applyStrict(pod, decodePatch(response)),
    patched: response.patch !== undefined,
  };
}

/** A workload without its pod template (and a Pod without its spec and annotations): what hardening must not touch. */
export function withoutTemplate(o: any): any {
  const copy = structuredClone(o);
  const path = TEMPLATE[copy.kind];
  if (path === undefined) return copy;
  if (path.length === 0)
    return { ...copy, metadata: { ...copy.metadata, annotations: undefined }, spec: undefined };
  const parent = at(copy, path.slice(0, -1));
  if (parent) delete parent[path[path.length - 1]];
  return copy;
}
