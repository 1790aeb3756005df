/**
 * Minimal change through the real server: the pods the controllers of already hardened workloads
 * create are admitted with no patch at all, and a pod that misses one rule in one container gets
 * a patch on that container and nowhere else in its spec.
 */
import { Annotations } from '../../src/names';
import { hardenedWorkloads, missingOneRule } from '../support/hardened-workloads';
import { post, startTestServer, type TestServer } from '../support/http';
import { podReview } from '../support/reviews';
import { applyStrict, decodePatch } from '../support/strict-patch';
import { podFrom } from '../support/workload-pods';

jest.setTimeout(30000);

const mutate = async (server: TestServer, pod: any) => {
  const reply = await post(server, '/mutate', podReview(pod));
  expect(reply.status).toBe(200);
  return reply.json.response;
};

describe('already hardened pods through the real server', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.shutdown('test done'));

  test.each(hardenedWorkloads().map((w) => [`${w.kind} ${w.metadata.name}`, w] as const))(
    '%s: allowed, no patch, no patchType',
    async (_name, workload) => {
      const response = await mutate(server, podFrom(workload));
      expect(response.allowed).toBe(true);
      expect(decodePatch(response)).toEqual([]);
      expect(response.patchType).toBeUndefined();
    },
  );

  test.each(
    missingOneRule().map((m) => [
      `${m.workload.metadata.name} ${m.list}[${m.index}] ${m.field}`,
      m,
    ]),
  )('%s missing: the patch touches that container only', async (_name, m) => {
    const pod = podFrom(m.workload);
    const response = await mutate(server, pod);
    expect(response.allowed).toBe(true);
    expect(response.patchType).toBe('JSONPatch');
    const patch = decodePatch(response);
    // The summary annotation says what changed; everything else is the one container's field.
    expect(patch.map((op) => op.path).sort()).toEqual(
      ['/metadata/annotations', `/spec/${m.list}/${m.index}/securityContext/${m.field}`].sort(),
    );
    const stored = applyStrict(pod, patch);
    expect(Object.keys(stored.metadata.annotations)).toEqual([Annotations.hardened]);
    expect(stored.spec).toEqual(podFrom(m.hardened).spec);
  });
});
