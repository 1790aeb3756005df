/**
 * The workload that owns a pod: the controller owner references walked up (Pod -> ReplicaSet ->
 * Deployment, Pod -> Job -> CronJob, Pod -> StatefulSet, Pod -> DaemonSet), as far as the kinds
 * scan can list go. An owner of another kind (a ReplicationController, an operator's custom
 * resource, the Node of a mirror pod) is the top: its ownerReference says its kind and name.
 * Pure: the owner objects are given, so this is tested over fixture lists without a cluster.
 */
import { isJsonObject as isObject } from '../../engine/json';

export interface OwnerRef {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
}

/** The metadata of an object that may own pods (what a PartialObjectMetadata list returns). */
export interface OwnerObject {
  kind: string;
  name: string;
  uid: string;
  ownerReferences: unknown;
}

export interface ListedKind {
  kind: string;
  group: string;
  /** The resource in the API path, e.g. `replicasets`. */
  resource: string;
}

/** The owner kinds scan lists to walk up the chain: the ones the shipped ClusterRole grants. */
export const LISTED_KINDS: readonly ListedKind[] = [
  { kind: 'ReplicaSet', group: 'apps', resource: 'replicasets' },
  { kind: 'Deployment', group: 'apps', resource: 'deployments' },
  { kind: 'StatefulSet', group: 'apps', resource: 'statefulsets' },
  { kind: 'DaemonSet', group: 'apps', resource: 'daemonsets' },
  { kind: 'Job', group: 'batch', resource: 'jobs' },
  { kind: 'CronJob', group: 'batch', resource: 'cronjobs' },
];

const groupOf = (apiVersion: string) =>
  apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';

export function listedKind(ref: { apiVersion: string; kind: string }): ListedKind | undefined {
  const group = groupOf(ref.apiVersion);
  return LISTED_KINDS.find((k) => k.kind === ref.kind && k.group === group);
}

/** The owner reference with `controller: true`, the one that created the object, if any. */
export function controllerRef(ownerReferences: unknown): OwnerRef | undefined {
  if (!Array.isArray(ownerReferences)) return undefined;
  for (const r of ownerReferences) {
    if (!isObject(r) || r.controller !== true) continue;
    const { apiVersion, kind, name, uid } = r;
    if (typeof apiVersion === 'string' && typeof kind === 'string' && typeof name === 'string') {
      return { apiVersion, kind, name, uid: typeof uid === 'string' ? uid : '' };
    }
  }
  return undefined;
}

/** The listed kinds referenced as controllers by `objects` and not yet in `loaded`. */
export function kindsToList(
  objects: readonly { ownerReferences: unknown }[],
  loaded: ReadonlySet<ListedKind>,
): ListedKind[] {
  const out = new Set<ListedKind>();
  for (const o of objects) {
    const ref = controllerRef(o.ownerReferences);
    const kind = ref && listedKind(ref);
    if (kind && !loaded.has(kind)) out.add(kind);
  }
  return [...out];
}

export interface TopOwner {
  kind: string;
  name: string;
  /** The owners between the pod and the top, nearest first (`ReplicaSet/web-7d9c6b5f8d`). */
  via: { kind: string; name: string }[];
}

/** Owner objects of one namespace by uid; lookups fall back to kind and name for refs without a uid. */
export class OwnerIndex {
  private readonly byUid = new Map<string, OwnerObject>();
  private readonly byName = new Map<string, OwnerObject>();

  constructor(objects: Iterable<OwnerObject> = []) {
    for (const o of objects) this.add(o);
  }

  add(o: OwnerObject): void {
    if (o.uid !== '') this.byUid.set(o.uid, o);
    this.byName.set(`${o.kind}/${o.name}`, o);
  }

  find(ref: OwnerRef): OwnerObject | undefined {
    const o = ref.uid !== '' ? this.byUid.get(ref.uid) : this.byName.get(`${ref.kind}/${ref.name}`);
    return o !== undefined && o.kind === ref.kind ? o : undefined;
  }
}

/**
 * The top owner of a pod. A pod without a controller is its own workload (kind Pod). An owner
 * that cannot be found (deleted, its pods not yet collected) ends the walk where it is known.
 */
export function topOwner(podName: string, ownerReferences: unknown, index: OwnerIndex): TopOwner {
  const first = controllerRef(ownerReferences);
  if (!first) return { kind: 'Pod', name: podName, via: [] };
  let ref: OwnerRef = first;
  const via: TopOwner['via'] = [];
  const seen = new Set<string>();
  for (;;) {
    const key = `${ref.kind}/${ref.name}`;
    const owner: OwnerObject | undefined =
      listedKind(ref) && !seen.has(key) ? index.find(ref) : undefined;
    seen.add(key);
    const next: OwnerRef | undefined = owner && controllerRef(owner.ownerReferences);
    if (!next) return { kind: ref.kind, name: ref.name, via };
    via.push({ kind: ref.kind, name: ref.name });
    ref = next;
  }
}
