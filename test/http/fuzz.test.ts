/**
 * The fuzzer over the wire: malformed and adversarial bodies sent to the real server, as bytes.
 * Every one gets a well-formed answer: 200 echoing the uid, or a 4xx with a JSON message; never
 * a 5xx, never a dropped connection, and the server keeps serving. The in-process fuzzer
 * (test/unit/admission/fuzz.test.ts, `npm run fuzz`) covers far more cases of the review itself.
 */
import fc from 'fast-check';
import { fuzzBody, fuzzCaseArb } from '../fuzz/review-fuzzer';
import { pod } from '../support/pods';
import { podReview } from '../support/reviews';
import { getHealth, keepAliveAgent, post, startTestServer, type TestServer } from '../support/http';

jest.setTimeout(120000);

const CASES = Number(process.env.HTTP_FUZZ_CASES ?? 300);

const RAW_BODIES: [string, string | Buffer][] = [
  [
    'truncated JSON',
    '{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"x"',
  ],
  ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])],
  ['deeply nested arrays', '['.repeat(200000) + ']'.repeat(200000)],
  ['deeply nested objects', '{"a":'.repeat(50000) + '1' + '}'.repeat(50000)],
  ['a number', '1e999999'],
  ['an empty body', ''],
  ['a BOM and whitespace', '\ufeff  '],
];

describe('fuzzing the HTTPS endpoint', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.shutdown('test done'));

  test.each(RAW_BODIES)('%s: a 4xx with a JSON message', async (_name, body) => {
    const reply = await post(server, '/mutate', body);
    expect(reply.status).toBeGreaterThanOrEqual(400);
    expect(reply.status).toBeLessThan(500);
    expect(reply.json).toBeDefined();
    expect(({} as any).polluted).toBeUndefined();
  });

  test('__proto__ keys are data, not prototypes: a review of no pod is allowed, nothing polluted', async () => {
    const body =
      '{"__proto__":{"polluted":true},"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"p","__proto__":{"polluted":true}}}';
    const reply = await post(server, '/mutate', body);
    expect(reply.status).toBe(200);
    expect(reply.json.response).toEqual({ uid: 'p', allowed: true });
    expect(({} as any).polluted).toBeUndefined();
  });

  test(`${CASES} generated reviews over one keep-alive connection pool: 200 with the uid, or a 4xx`, async () => {
    const agent = keepAliveAgent(server.ca, 4);
    const bodies = fc.sample(fuzzCaseArb, { numRuns: CASES, seed: 20261127 }).map(fuzzBody);
    const statuses = new Map<number, number>();
    for (const { text, uid } of bodies) {
      const reply = await post(server, '/mutate', text, { agent });
      statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
      if (reply.status === 200) expect(reply.json.response.uid).toBe(uid);
      else expect([400, 413]).toContain(reply.status);
      expect(reply.json).toBeDefined();
    }
    agent.destroy();
    expect(statuses.get(200)).toBeGreaterThan(0);
    expect(statuses.get(400)).toBeGreaterThan(0);
    // Still serving, and still right.
    const after = await post(server, '/mutate', podReview(pod(), { uid: 'after-fuzz' }));
    expect(after.json.response).toMatchObject({
      uid: 'after-fuzz',
      allowed: true,
      patchType: 'JSONPatch',
    });
    expect((await getHealth(server.metricsPort, '/healthz')).status).toBe(200);
  });
});
