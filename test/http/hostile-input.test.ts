/**
 * Nothing a pod author sends can stall the webhook for other reviews. Through the real server,
 * each hostile shape grown to 2.5 MB (the API server accepts bodies up to 3 MiB and hands
 * annotations of any size to webhooks before it validates them): the review is answered, and a
 * normal review sent while it runs is answered well inside the webhook's timeout.
 */
import { pod } from '../support/pods';
import { podReview } from '../support/reviews';
import { post, startTestServer, type TestServer } from '../support/http';
import { HOSTILE_SHAPES, jsonSize } from '../support/hostile-pods';

jest.setTimeout(120_000);

const HOSTILE_BYTES = 2.5 * 1024 * 1024;
/**
 * Generous bounds, far from what a linear review costs (0.1-0.9 s of CPU at 2.5 MB, the worst
 * being thousands of containers: `npm run bench:adversarial`) and far below what a quadratic cost
 * did (9-14 s for a 300 KB summary, 26-51 s for the containers before their changes were grouped
 * once): the shipped webhook configuration gives the API server 5 s, and a normal review must
 * fit in it with room for the network, the API server's own work and a loaded machine.
 */
const HOSTILE_LIMIT_MS = 4500;
const NORMAL_LIMIT_MS = 3000;

describe.each(HOSTILE_SHAPES)('hostile $name', (shape) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      ...(shape.yaml ? { yaml: shape.yaml } : {}),
      env: { POD_HARDENER_LOG_LEVEL: 'info' },
    });
  });
  afterAll(() => server.shutdown('test done'));

  test(`${shape.what}: answered, and a normal review sent meanwhile is not held up`, async () => {
    const object = shape.build(HOSTILE_BYTES);
    expect(jsonSize(object)).toBeGreaterThan(HOSTILE_BYTES * 0.8);
    const body = podReview(object, { namespace: 'team' });

    const started = performance.now();
    const hostile = post(server, '/mutate', body).then((reply) => ({
      reply,
      ms: performance.now() - started,
    }));
    // Sent once the hostile body is on its way, so the two are served at the same time.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const normalStarted = performance.now();
    const normal = await post(server, '/mutate', podReview(pod(), { namespace: 'team' }));
    const normalMs = performance.now() - normalStarted;
    const { reply, ms } = await hostile;

    expect(reply.status).toBe(200);
    expect(reply.json.response.allowed).toBe(true);
    expect(ms).toBeLessThan(HOSTILE_LIMIT_MS);
    expect(normal.status).toBe(200);
    expect(normal.json.response.patch).toBeDefined();
    expect(normalMs).toBeLessThan(NORMAL_LIMIT_MS);
    // Warnings stay within what the API server passes on, whatever the pod's size.
    const warnings: string[] = reply.json.response.warnings ?? [];
    expect(warnings.join('').length).toBeLessThan(4096);
  });
});
