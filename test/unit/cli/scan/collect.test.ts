/**
 * What scan reads from the API server, against an in-memory one: pages, namespaces, owners.
 */
import { collect, listAll, resolveNamespaces } from '../../../../src/cli/scan/collect';
import { ApiError, ScanError } from '../../../../src/cli/scan/errors';
import { FakeKubeApi } from '../../../support/fake-kube-api';
import { shopNamespace, storedPod } from '../../../support/stored-pods';

const PODS = '/api/v1/namespaces/shop/pods';

function shopApi(): FakeKubeApi {
  const shop = shopNamespace();
  const api = new FakeKubeApi([
    { name: 'shop', labels: { team: 'shop' } },
    { name: 'kube-system' },
    { name: 'empty', labels: { team: 'shop' } },
  ]);
  api.set(PODS, [...shop.pods]);
  const meta = (o: any) => ({
    metadata: {
      name: o.name,
      uid: o.uid,
      ...(o.ownerReferences ? { ownerReferences: o.ownerReferences } : {}),
    },
  });
  for (const [resource, kind, group] of [
    ['replicasets', 'ReplicaSet', 'apps'],
    ['deployments', 'Deployment', 'apps'],
    ['statefulsets', 'StatefulSet', 'apps'],
    ['daemonsets', 'DaemonSet', 'apps'],
    ['jobs', 'Job', 'batch'],
    ['cronjobs', 'CronJob', 'batch'],
  ] as const) {
    api.set(
      `/apis/${group}/v1/namespaces/shop/${resource}`,
      shop.owners.filter((o) => o.kind === kind).map(meta),
    );
  }
  return api;
}

describe('paging', () => {
  it('reads a list page by page with limit and continue', async () => {
    const api = new FakeKubeApi().set(
      PODS,
      Array.from({ length: 5 }, (_, i) => storedPod(`p${i}`, {})),
    );
    const pages: number[] = [];
    const items = await listAll(api, PODS, { chunkSize: 2, onPage: (n) => pages.push(n) });
    expect(items).toHaveLength(5);
    expect(api.requests.map((r) => r.query)).toEqual([
      { limit: '2' },
      { limit: '2', continue: '2' },
      { limit: '2', continue: '4' },
    ]);
    expect(pages).toEqual([2, 4, 5]);
  });

  it('starts again once when the continue token expired (410 Gone), never twice', async () => {
    const api = new FakeKubeApi().set(
      PODS,
      Array.from({ length: 3 }, (_, i) => storedPod(`p${i}`, {})),
    );
    const gone = () =>
      new ApiError(410, 'Expired', 'The provided continue parameter is too old', PODS);
    // The second request (the first with a continue token) fails once.
    const get = api.get.bind(api);
    let calls = 0;
    api.get = async (path, query, accept) => {
      if (++calls === 2) throw gone();
      return get(path, query, accept);
    };
    expect(await listAll(api, PODS, { chunkSize: 2 })).toHaveLength(3);

    calls = 0;
    api.get = async (path, query, accept) => {
      if (query?.continue) throw gone();
      return get(path, query, accept);
    };
    await expect(listAll(api, PODS, { chunkSize: 2 })).rejects.toMatchObject({ status: 410 });
  });

  it('a 410 on the first page is not retried: it is not an expired token', async () => {
    const api = new FakeKubeApi();
    api.failures.push({ match: /pods$/, error: () => new ApiError(410, 'Gone', 'gone', PODS) });
    await expect(listAll(api, PODS, { chunkSize: 2 })).rejects.toMatchObject({ status: 410 });
    expect(api.requests).toHaveLength(1);
  });

  it('an answer that is not a list is an error that says so', async () => {
    const api = new FakeKubeApi();
    api.get = async () => ({ kind: 'Status' });
    await expect(listAll(api, PODS, { chunkSize: 2 })).rejects.toThrow(
      new ScanError(`the API server's answer to GET ${PODS} is not a list`),
    );
  });
});

describe('namespaces', () => {
  it('named ones are read one by one, and one that does not exist stops the scan', async () => {
    const api = shopApi();
    expect(
      (await resolveNamespaces(api, { kind: 'named', names: ['shop'] }, 'default', 500)).map(
        (n) => n.name,
      ),
    ).toEqual(['shop']);
    await expect(
      resolveNamespaces(api, { kind: 'named', names: ['shop', 'nope'] }, 'default', 500),
    ).rejects.toThrow(new ScanError('namespace "nope" not found'));
  });

  it("the context's namespace by default, said so when it does not exist", async () => {
    const api = shopApi();
    expect(
      (await resolveNamespaces(api, { kind: 'context' }, 'shop', 500)).map((n) => n.name),
    ).toEqual(['shop']);
    await expect(resolveNamespaces(api, { kind: 'context' }, 'default', 500)).rejects.toThrow(
      /namespace "default" \(the context's namespace; choose one with -n, or -A\) not found/,
    );
  });

  it('-l lists namespaces with the label selector, -A all of them, with their labels', async () => {
    const api = shopApi();
    const selected = await resolveNamespaces(
      api,
      { kind: 'selector', selector: 'team=shop' },
      'default',
      500,
    );
    expect(selected).toEqual([
      { name: 'shop', labels: { team: 'shop' } },
      { name: 'empty', labels: { team: 'shop' } },
    ]);
    expect(api.requests[0]).toMatchObject({
      path: '/api/v1/namespaces',
      query: { labelSelector: 'team=shop', limit: '500' },
    });
    expect(
      (await resolveNamespaces(api, { kind: 'all' }, 'default', 500)).map((n) => n.name),
    ).toEqual(['shop', 'kube-system', 'empty']);
  });
});

describe('owners', () => {
  it('lists only the owner kinds the pods lead to, as metadata, each once per namespace', async () => {
    const api = shopApi();
    const [data] = await collect(api, { kind: 'named', names: ['shop'] }, 'default', {
      chunkSize: 500,
    });
    const lists = api.requests.filter((r) => r.path.startsWith('/apis/'));
    expect(lists.map((r) => r.path).sort()).toEqual([
      '/apis/apps/v1/namespaces/shop/daemonsets',
      '/apis/apps/v1/namespaces/shop/deployments',
      '/apis/apps/v1/namespaces/shop/replicasets',
      '/apis/apps/v1/namespaces/shop/statefulsets',
      '/apis/batch/v1/namespaces/shop/cronjobs',
      '/apis/batch/v1/namespaces/shop/jobs',
    ]);
    expect(
      lists.every((r) =>
        r.accept?.startsWith('application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1'),
      ),
    ).toBe(true);
    expect(data.owners.map((o) => `${o.kind}/${o.name}`).sort()).toEqual([
      'CronJob/report',
      'DaemonSet/agent',
      'Deployment/web',
      'Job/report-29000000',
      'ReplicaSet/web-7d9c6b5f8d',
      'StatefulSet/db',
    ]);
  });

  it('bare pods need no owner list at all', async () => {
    const api = new FakeKubeApi([{ name: 'shop' }]).set(PODS, [
      storedPod('a', {}),
      storedPod('b', {}),
    ]);
    await collect(api, { kind: 'all' }, 'default', { chunkSize: 500 });
    expect(api.requests.map((r) => r.path)).toEqual(['/api/v1/namespaces', PODS]);
  });

  it('reports progress per namespace and page', async () => {
    const api = shopApi();
    const seen: string[] = [];
    await collect(api, { kind: 'selector', selector: 'team=shop' }, 'default', {
      chunkSize: 4,
      onProgress: (p) =>
        seen.push(`${p.namespace} ${p.namespacesDone}/${p.namespacesTotal} ${p.pods}`),
    });
    expect(seen).toEqual([
      'shop 0/2 0',
      'shop 0/2 4',
      'shop 0/2 8',
      'shop 0/2 9',
      'empty 1/2 0',
      'empty 1/2 0',
    ]);
  });
});
