/**
 * What scan reads from the API server, through a one-method client (`KubeApi.get`) so the paging
 * and the walk up the owners are tested with a fake in the unit tier. Read-only, and only: get
 * and list of namespaces, list of pods, list of the owner kinds the pods point at (metadata only).
 *
 * Lists come in pages of `chunkSize` (`limit` / `continue`), as kubectl does, so a namespace with
 * thousands of pods never needs one huge answer from the API server.
 */
import { isJsonObject as isObject } from '../../engine/json';
import type { NamespaceChoice } from './args';
import type { NamespaceData } from './analyze';
import { ApiError, ScanError } from './errors';
import { kindsToList, LISTED_KINDS, type ListedKind, type OwnerObject } from './owners';

export interface KubeApi {
  /** GET `path` with `query`; resolves the parsed JSON of a 200 answer, else throws ApiError. */
  get(path: string, query?: Readonly<Record<string, string>>, accept?: string): Promise<unknown>;
}

export interface Progress {
  namespace: string;
  namespacesDone: number;
  namespacesTotal: number;
  /** Pods listed so far in this namespace. */
  pods: number;
}

export interface CollectOptions {
  chunkSize: number;
  onProgress?: (p: Progress) => void;
}

/** Owners are read as metadata only: a ReplicaSet's pod template is of no use to the walk. */
const METADATA_ONLY =
  'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1,application/json';

const seg = encodeURIComponent;

function items(body: unknown, path: string): { items: unknown[]; next: string } {
  if (!isObject(body) || !Array.isArray(body.items))
    throw new ScanError(`the API server's answer to GET ${path} is not a list`);
  const meta = isObject(body.metadata) ? body.metadata : {};
  return { items: body.items, next: typeof meta.continue === 'string' ? meta.continue : '' };
}

/**
 * Every item of a list, page by page. A continue token expires after about five minutes (410
 * Gone) when the cluster changes a lot meanwhile; the list is then read again once from the start.
 */
export async function listAll(
  api: KubeApi,
  path: string,
  options: {
    chunkSize: number;
    query?: Record<string, string>;
    accept?: string;
    onPage?: (count: number) => void;
  },
): Promise<unknown[]> {
  for (let attempt = 0; ; attempt++) {
    const out: unknown[] = [];
    let token = '';
    try {
      do {
        const query: Record<string, string> = {
          ...options.query,
          limit: String(options.chunkSize),
        };
        if (token !== '') query.continue = token;
        const page = items(await api.get(path, query, options.accept), path);
        out.push(...page.items);
        token = page.next;
        options.onPage?.(out.length);
      } while (token !== '');
      return out;
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 410 && token !== '' && attempt === 0))
        throw err;
    }
  }
}

interface NamespaceMeta {
  name: string;
  labels: Record<string, string>;
}

function namespaceMeta(body: unknown): NamespaceMeta | undefined {
  const meta = isObject(body) && isObject(body.metadata) ? body.metadata : undefined;
  if (!meta || typeof meta.name !== 'string') return undefined;
  const labels: Record<string, string> = {};
  if (isObject(meta.labels))
    for (const [k, v] of Object.entries(meta.labels)) if (typeof v === 'string') labels[k] = v;
  return { name: meta.name, labels };
}

async function getNamespace(api: KubeApi, name: string, what: string): Promise<NamespaceMeta> {
  try {
    const ns = namespaceMeta(await api.get(`/api/v1/namespaces/${seg(name)}`));
    if (!ns)
      throw new ScanError(`the API server's answer for namespace "${name}" is not a Namespace`);
    return ns;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404)
      throw new ScanError(`namespace "${name}"${what} not found`);
    throw err;
  }
}

/** The namespaces to scan, with their labels (which decide the mode). Named ones must exist. */
export async function resolveNamespaces(
  api: KubeApi,
  choice: NamespaceChoice,
  contextNamespace: string,
  chunkSize: number,
): Promise<NamespaceMeta[]> {
  switch (choice.kind) {
    case 'named': {
      const out: NamespaceMeta[] = [];
      for (const name of choice.names) out.push(await getNamespace(api, name, ''));
      return out;
    }
    case 'context':
      return [
        await getNamespace(
          api,
          contextNamespace,
          " (the context's namespace; choose one with -n, or -A)",
        ),
      ];
    case 'selector':
    case 'all': {
      const query = choice.kind === 'selector' ? { labelSelector: choice.selector } : undefined;
      const list = await listAll(api, '/api/v1/namespaces', {
        chunkSize,
        ...(query ? { query } : {}),
      });
      return list.map(namespaceMeta).filter((n): n is NamespaceMeta => n !== undefined);
    }
  }
}

function ownerObject(item: unknown, kind: string): OwnerObject | undefined {
  const meta = isObject(item) && isObject(item.metadata) ? item.metadata : undefined;
  if (!meta || typeof meta.name !== 'string') return undefined;
  return {
    kind,
    name: meta.name,
    uid: typeof meta.uid === 'string' ? meta.uid : '',
    ownerReferences: meta.ownerReferences,
  };
}

function ownersPath(kind: ListedKind, namespace: string): string {
  return `/apis/${kind.group}/v1/namespaces/${seg(namespace)}/${kind.resource}`;
}

/** A namespace's pods, and the owner objects on the way up from them, each kind listed at most once. */
export async function collectNamespace(
  api: KubeApi,
  ns: NamespaceMeta,
  options: CollectOptions,
  onPods?: (n: number) => void,
): Promise<NamespaceData> {
  const pods = await listAll(api, `/api/v1/namespaces/${seg(ns.name)}/pods`, {
    chunkSize: options.chunkSize,
    ...(onPods ? { onPage: onPods } : {}),
  });
  const owners: OwnerObject[] = [];
  const loaded = new Set<ListedKind>();
  let frontier: { ownerReferences: unknown }[] = pods.map((p) => ({
    ownerReferences: isObject(p) && isObject(p.metadata) ? p.metadata.ownerReferences : undefined,
  }));
  for (
    let kinds = kindsToList(frontier, loaded);
    kinds.length > 0;
    kinds = kindsToList(frontier, loaded)
  ) {
    frontier = [];
    for (const kind of kinds) {
      loaded.add(kind);
      const list = await listAll(api, ownersPath(kind, ns.name), {
        chunkSize: options.chunkSize,
        accept: METADATA_ONLY,
      });
      for (const item of list) {
        const o = ownerObject(item, kind.kind);
        if (o) {
          owners.push(o);
          frontier.push(o);
        }
      }
    }
  }
  return { name: ns.name, labels: ns.labels, pods, owners };
}

export async function collect(
  api: KubeApi,
  choice: NamespaceChoice,
  contextNamespace: string,
  options: CollectOptions,
): Promise<NamespaceData[]> {
  const namespaces = await resolveNamespaces(api, choice, contextNamespace, options.chunkSize);
  const out: NamespaceData[] = [];
  for (const [i, ns] of namespaces.entries()) {
    const report = (pods: number) =>
      options.onProgress?.({
        namespace: ns.name,
        namespacesDone: i,
        namespacesTotal: namespaces.length,
        pods,
      });
    report(0);
    out.push(await collectNamespace(api, ns, options, report));
  }
  return out;
}

/** Every resource scan reads and with which verbs: what the shipped ClusterRole must grant, no more. */
export const READS: readonly { group: string; resource: string; verbs: readonly string[] }[] = [
  { group: '', resource: 'namespaces', verbs: ['get', 'list'] },
  { group: '', resource: 'pods', verbs: ['list'] },
  ...LISTED_KINDS.map((k) => ({ group: k.group, resource: k.resource, verbs: ['list'] })),
];
