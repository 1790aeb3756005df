/**
 * The kinds that hold pods, where their pod template sits, and the pod a controller creates from
 * it: what the webhook will see for each workload of a manifest.
 */
import { isJsonObject as isObject } from '../../engine/json';
import type { PathKey } from './json-pointer';

type Obj = Record<string, unknown>;

export interface WorkloadKind {
  /** API groups the kind is recognised in ('' is the core group). */
  groups: readonly string[];
  /** Where the pod template sits (empty for a Pod, which is its own template). */
  template: readonly string[];
  /** Whether the API server requires spec.selector (apps/v1): a manifest without one is a patch. */
  selector: boolean;
}

export const WORKLOADS: Readonly<Record<string, WorkloadKind>> = {
  Pod: { groups: [''], template: [], selector: false },
  PodTemplate: { groups: [''], template: ['template'], selector: false },
  ReplicationController: { groups: [''], template: ['spec', 'template'], selector: false },
  Deployment: { groups: ['apps', 'extensions'], template: ['spec', 'template'], selector: true },
  ReplicaSet: { groups: ['apps', 'extensions'], template: ['spec', 'template'], selector: true },
  DaemonSet: { groups: ['apps', 'extensions'], template: ['spec', 'template'], selector: true },
  StatefulSet: { groups: ['apps'], template: ['spec', 'template'], selector: true },
  Job: { groups: ['batch'], template: ['spec', 'template'], selector: false },
  CronJob: {
    groups: ['batch'],
    template: ['spec', 'jobTemplate', 'spec', 'template'],
    selector: false,
  },
};

export const WORKLOAD_KINDS: readonly string[] = Object.keys(WORKLOADS);

export const str = (v: unknown): string | undefined =>
  typeof v === 'string' && v !== '' ? v : undefined;

/** An object of a document: the document itself, or an entry of a List. */
export interface Located {
  /** Path of the object in the document. */
  path: PathKey[];
  item?: number;
  object: Obj;
}

export function objectsOf(data: unknown): Located[] {
  if (!isObject(data)) return [];
  const kind = str(data.kind);
  if (kind !== undefined && kind.endsWith('List') && Array.isArray(data.items)) {
    return data.items.flatMap((item, i) =>
      isObject(item) ? [{ path: ['items', i], item: i, object: item }] : [],
    );
  }
  return [{ path: [], object: data }];
}

export function apiGroup(apiVersion: string): string {
  return apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
}

/** The pod as the controller creates it from the template (its metadata and spec); a Pod is itself. */
export function podOf(workload: WorkloadKind, template: Obj): Obj {
  if (workload.template.length === 0) return template;
  const pod: Obj = {};
  if ('metadata' in template) pod.metadata = template.metadata;
  pod.spec = template.spec;
  return pod;
}
