/**
 * The admission port as the API server sees it: a real HTTPS server on a free port, the real
 * review function (unless a test injects one), certificates issued at test time.
 */
import { request as httpsRequest } from 'node:https';
import { reviewAdmission } from '../../src/admission/review';
import { ADMISSION_API_VERSION, ADMISSION_KIND } from '../../src/names';
import { pod } from '../support/pods';
import { podReview } from '../support/reviews';
import { getHealth, keepAliveAgent, metricValue, post, scrape, startTestServer, waitFor, type TestServer } from '../support/http';

// Generous: these tests wait on real sockets and timers, and CI shares two cores; no test
// asserts on speed.
jest.setTimeout(30000);

const decodePatch = (reply: { json: any }) => JSON.parse(Buffer.from(reply.json.response.patch, 'base64').toString('utf8'));

describe('admission endpoints', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      yaml: 'server: { maxBodyBytes: 65536 }',
      // A review that throws for one uid: an exception inside one review must not take the server down.
      review: (body, mode, policy) => {
        if ((body as any)?.request?.uid === 'throw-me') throw new Error('injected failure');
        return reviewAdmission(body, mode, policy);
      },
    });
  });
  afterAll(() => server.shutdown('test done'));

  test('POST /mutate hardens a pod: 200, uid echoed, JSONPatch, warnings; one log line', async () => {
    const review = podReview(pod({ containers: [{ name: 'app', image: 'nginx', securityContext: { runAsUser: 0 } }] }), { uid: 'mutate-1' });
    const reply = await post(server, '/mutate', review);
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toMatch(/^application\/json/);
    expect(reply.json).toMatchObject({ apiVersion: ADMISSION_API_VERSION, kind: ADMISSION_KIND, response: { uid: 'mutate-1', allowed: true, patchType: 'JSONPatch' } });
    const patch = decodePatch(reply);
    expect(patch).toEqual(expect.arrayContaining([{ op: 'replace', path: '/spec/containers/0/securityContext/runAsUser', value: 1000 }]));
    expect(reply.json.response.warnings.length).toBeGreaterThan(0);
    const line = server.logs.lines.find((l) => l.uid === 'mutate-1');
    expect(line).toMatchObject({ msg: 'review', mode: 'enforce', decision: 'patched', status: 200, namespace: 'team', pod: 'p', operation: 'CREATE' });
    expect(line!.changes).toEqual(expect.arrayContaining(['runAsUser@container/app', 'capabilities.drop@container/app']));
  });

  test('POST /audit changes nothing and says what it would change', async () => {
    const reply = await post(server, '/audit', podReview(pod(), { uid: 'audit-1' }));
    expect(reply.status).toBe(200);
    expect(reply.json.response).toMatchObject({ uid: 'audit-1', allowed: true });
    expect(reply.json.response.patch).toBeUndefined();
    expect(reply.json.response.warnings.join('\n')).toMatch(/audit only/);
    expect(server.logs.lines.find((l) => l.uid === 'audit-1')).toMatchObject({ mode: 'audit', decision: 'unchanged' });
  });

  test('the ?timeout= query the API server appends is accepted', async () => {
    expect((await post(server, '/mutate?timeout=10s', podReview(pod()))).status).toBe(200);
  });

  test.each([
    ['bad JSON', '{"apiVersion": ', 'application/json', 400, 'BAD_JSON', /not valid JSON/],
    ['JSON that is not an AdmissionReview', '{"hello": "world"}', 'application/json', 400, 'NOT_ADMISSION_REVIEW', /./],
    ['an empty body', '', 'application/json', 400, 'NOT_ADMISSION_REVIEW', /./],
    ['a JSON scalar', '42', 'application/json', 400, 'NOT_ADMISSION_REVIEW', /./],
    ['text/plain', '{}', 'text/plain', 415, 'BAD_CONTENT_TYPE', /Content-Type must be application\/json, got "text\/plain"/],
    ['no content type', '{}', null, 415, 'BAD_CONTENT_TYPE', /got none/],
  ])('%s: %s', async (_name, body, contentType, status, code, message) => {
    const reply = await post(server, '/mutate', body, { contentType });
    expect(reply.status).toBe(status);
    expect(reply.headers['content-type']).toMatch(/^application\/json/);
    expect(reply.json.kind).toBe('AdmissionReview');
    expect(reply.json.response.allowed).toBe(false);
    expect(reply.json.response.status.code).toBe(status);
    expect(reply.json.response.status.message).toContain(code);
    expect(reply.json.response.status.message).toMatch(message);
  });

  test('application/json with a charset is accepted', async () => {
    expect((await post(server, '/mutate', podReview(pod()), { contentType: 'application/json; charset=utf-8' })).status).toBe(200);
  });

  test('a body over server.maxBodyBytes gets 413, whether announced by Content-Length or chunked', async () => {
    const big = podReview(pod({}, { filler: 'x'.repeat(70000) }));
    const announced = await post(server, '/mutate', big);
    expect(announced.status).toBe(413);
    expect(announced.json.response.status.message).toMatch(/BODY_TOO_LARGE.*larger than 65536 bytes \(server\.maxBodyBytes\)/);
    expect(announced.headers.connection).toBe('close');

    const chunked = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest(
        { host: '127.0.0.1', port: server.port, path: '/mutate', method: 'POST', ca: server.ca, agent: false, headers: { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      const chunk = JSON.stringify(big);
      req.write(chunk.slice(0, 40000));
      req.end(chunk.slice(40000));
    });
    expect(chunked).toBe(413);
  });

  test('an exception inside a review answers 500 echoing the uid, and the server keeps serving', async () => {
    const reply = await post(server, '/mutate', podReview(pod(), { uid: 'throw-me' }));
    expect(reply.status).toBe(500);
    expect(reply.json.response).toMatchObject({ uid: 'throw-me', allowed: false, status: { code: 500 } });
    expect(reply.json.response.status.message).toMatch(/INTERNAL.*injected failure/);
    expect(server.logs.lines.find((l) => l.uid === 'throw-me')).toMatchObject({ level: 'error', decision: 'error', errorCode: 'INTERNAL' });
    const after = await post(server, '/mutate', podReview(pod(), { uid: 'after-throw' }));
    expect(after.status).toBe(200);
    expect(after.json.response.uid).toBe('after-throw');
  });

  test('unknown paths get 404 JSON, other methods on the endpoints 405 JSON; never HTML', async () => {
    const missing = await post(server, '/validate', podReview(pod()));
    expect(missing.status).toBe(404);
    expect(missing.json.error).toMatchObject({ code: 'NOT_FOUND' });
    expect(missing.json.error.message).toMatch(/POST \/mutate and POST \/audit/);
    const get = await post(server, '/mutate', '', { method: 'GET', contentType: null });
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
    expect(get.json.error.message).toMatch(/GET \/mutate is not supported/);
    for (const r of [missing, get]) expect(r.text).not.toMatch(/<html|<!DOCTYPE/i);
  });

  test('keep-alive connections are reused across reviews', async () => {
    const agent = keepAliveAgent(server.ca, 1);
    try {
      const serials = new Set<string | undefined>();
      for (let i = 0; i < 5; i++) {
        const reply = await post(server, '/mutate', podReview(pod()), { agent });
        expect(reply.status).toBe(200);
        expect(reply.headers.connection).toBe('keep-alive');
        serials.add(reply.serialNumber);
      }
      expect(serials.size).toBe(1);
    } finally {
      agent.destroy();
    }
  });

  test('every answer is counted: reviews by decision, errors by code, changes by rule', async () => {
    const text = await scrape(server);
    expect(metricValue(text, 'pod_hardener_reviews_total', { mode: 'enforce', decision: 'patched' })).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'pod_hardener_reviews_total', { mode: 'audit', decision: 'unchanged' })).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'pod_hardener_errors_total', { code: 'BAD_JSON' })).toBe(1);
    expect(metricValue(text, 'pod_hardener_errors_total', { code: 'BAD_CONTENT_TYPE' })).toBe(2);
    expect(metricValue(text, 'pod_hardener_errors_total', { code: 'BODY_TOO_LARGE' })).toBe(2);
    expect(metricValue(text, 'pod_hardener_errors_total', { code: 'INTERNAL' })).toBe(1);
    expect(metricValue(text, 'pod_hardener_changes_total', { rule: 'runAsUser' })).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'pod_hardener_in_flight_reviews')).toBe(0);
  });
});

describe('overload bound', () => {
  test('beyond server.maxInFlight, requests are refused at once with 503; the others complete', async () => {
    const server = await startTestServer({ yaml: 'server: { maxInFlight: 2 }' });
    try {
      // Two reviews in flight: headers and half the body sent, the rest held back.
      const body = JSON.stringify(podReview(pod(), { uid: 'held' }));
      const held = [0, 1].map(() => {
        let release!: () => void;
        const done = new Promise<number>((resolve, reject) => {
          const req = httpsRequest(
            { host: '127.0.0.1', port: server.port, path: '/mutate', method: 'POST', ca: server.ca, agent: false, headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } },
            (res) => {
              res.resume();
              resolve(res.statusCode ?? 0);
            },
          );
          req.on('error', reject);
          req.write(body.slice(0, 100));
          release = () => req.end(body.slice(100));
        });
        return { done, release: () => release() };
      });
      await waitFor(async () => metricValue(await scrape(server), 'pod_hardener_in_flight_reviews') === 2, 'two reviews in flight');

      let heldFinished = false;
      void Promise.all(held.map((h) => h.done)).then(() => (heldFinished = true));
      const refused = await post(server, '/mutate', podReview(pod(), { uid: 'third' }));
      expect(refused.status).toBe(503);
      expect(refused.json.response.uid).toBe('');
      expect(refused.json.response.status.message).toMatch(/OVERLOADED: 2 reviews already in flight/);
      expect(heldFinished).toBe(false); // answered while the others were still waiting: no queue

      held.forEach((h) => h.release());
      expect(await Promise.all(held.map((h) => h.done))).toEqual([200, 200]);
      const text = await scrape(server);
      expect(metricValue(text, 'pod_hardener_rejected_overload_total')).toBe(1);
      expect(metricValue(text, 'pod_hardener_in_flight_reviews')).toBe(0);
      expect((await post(server, '/mutate', podReview(pod()))).status).toBe(200);
    } finally {
      await server.shutdown('test done');
    }
  });
});

describe('health and metrics port', () => {
  test('/healthz, /readyz, /metrics over plain HTTP; unknown paths 404', async () => {
    const server = await startTestServer({ defaultMetrics: true });
    try {
      expect(await getHealth(server.metricsPort, '/healthz')).toMatchObject({ status: 200, text: 'ok\n' });
      expect(await getHealth(server.metricsPort, '/readyz')).toMatchObject({ status: 200, text: 'ok\n' });
      const metrics = await getHealth(server.metricsPort, '/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.contentType).toMatch(/^text\/plain/);
      for (const name of [
        'pod_hardener_reviews_total', 'pod_hardener_review_duration_seconds_bucket', 'pod_hardener_in_flight_reviews',
        'pod_hardener_rejected_overload_total', 'pod_hardener_certificate_reloads_total', 'pod_hardener_certificate_not_after_seconds',
        'pod_hardener_certificate_expires_in_seconds',
        'pod_hardener_config_reloads_total', 'process_cpu_seconds_total', 'nodejs_eventloop_lag_seconds',
      ]) expect(metrics.text).toContain(name);
      expect((await getHealth(server.metricsPort, '/mutate')).status).toBe(404);
    } finally {
      await server.shutdown('test done');
    }
  });
});
