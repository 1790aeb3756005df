/**
 * An in-memory API server for scan's reads: namespaces, pods and owner objects, answering
 * lists page by page with `limit` and `continue` as kube-apiserver does, and recording every
 * request so tests can check what was read and how.
 */
import type { KubeApi } from '../../src/cli/scan/collect';
import { ApiError } from '../../src/cli/scan/errors';

export interface Request {
  path: string;
  query: Record<string, string>;
  accept: string | undefined;
}

export class FakeKubeApi implements KubeApi {
  readonly requests: Request[] = [];
  /** Lists by path; namespaces under /api/v1/namespaces. */
  private readonly lists = new Map<string, unknown[]>();
  /** Answers GET with this error for paths matching. */
  failures: { match: RegExp; error: () => Error; times?: number }[] = [];

  constructor(namespaces: { name: string; labels?: Record<string, string> }[] = []) {
    this.lists.set(
      '/api/v1/namespaces',
      namespaces.map((n) => ({ metadata: { name: n.name, labels: n.labels ?? {} } })),
    );
  }

  set(path: string, items: unknown[]): this {
    this.lists.set(path, items);
    return this;
  }

  async get(
    path: string,
    query: Readonly<Record<string, string>> = {},
    accept?: string,
  ): Promise<unknown> {
    this.requests.push({ path, query: { ...query }, accept });
    for (const f of this.failures) {
      if (f.match.test(path) && (f.times === undefined || f.times-- > 0)) throw f.error();
    }
    const ns = /^\/api\/v1\/namespaces\/([^/]+)$/.exec(path);
    if (ns) {
      const found = (this.lists.get('/api/v1/namespaces') ?? []).find(
        (n: any) => n.metadata.name === decodeURIComponent(ns[1]),
      );
      if (!found) throw new ApiError(404, 'NotFound', `namespaces "${ns[1]}" not found`, path);
      return found;
    }
    let items = this.lists.get(path) ?? [];
    if (query.labelSelector) {
      const [k, v] = query.labelSelector.split('=');
      items = items.filter((i: any) => i.metadata.labels?.[k] === v);
    }
    const start = query.continue ? Number(query.continue) : 0;
    const limit = query.limit ? Number(query.limit) : items.length;
    const end = Math.min(items.length, start + limit);
    return {
      kind: 'List',
      metadata: end < items.length ? { continue: String(end) } : {},
      items: items.slice(start, end),
    };
  }
}
