/**
 * The admission port as the API server sees it: a real HTTPS server on a free port, the real
 * review function (unless a test injects one), certificates issued at test time.
 */
import { reviewAdmission } from '../../src/admission/review';
import type { Policy } from '../../src/engine/policy';
import { ADMISSION_API_VERSION, ADMISSION_KIND } from '../../src/names';
import { pod } from '../support/pods';
import { podReview } from '../support/reviews';
import {
  getHealth,
  keepAliveAgent,
  metricValue,
  partialPost,
  post,
  scrape,
  startTestServer,
  type TestServer,
} from '../support/http';
import { eventually } from '../support/eventually';

// Generous: these tests wait on real sockets and timers, and CI shares two cores; no test
// asserts on speed.
jest.setTimeout(30000);

const decodePatch = (reply: { json: any }) =>
  JSON.parse(Buffer.from(reply.json.response.patch, 'base64').toString('utf8'));

describe('admission endpoints', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({
      yaml: 'server: { maxBodyBytes: 65536 }',
      // A policy that throws for one uid: an exception inside one review must not take the server down.
      review: (body, mode, policy) => {
        if ((body as any)?.request?.uid !== 'throw-me') return reviewAdmission(body, mode, policy);
        const throwing: Policy = {
          ...policy,
          skipAllowedIn: () => {
            throw new Error('injected failure');
          },
        };
        return reviewAdmission(body, mode, throwing);
      },
    });
  });
  afterAll(() => server.shutdown('test done'));

  test('POST /mutate hardens a pod: 200, uid echoed, JSONPatch, warnings; one log line', async () => {
    const review = podReview(
      pod({ containers: [{ name: 'app', image: 'nginx', securityContext: { runAsUser: 0 } }] }),
      { uid: 'mutate-1' },
    );
    const reply = await post(server, '/mutate', review);
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toMatch(/^application\/json/);
    expect(reply.json).toMatchObject({
      apiVersion: ADMISSION_API_VERSION,
      kind: ADMISSION_KIND,
      response: { uid: 'mutate-1', allowed: true, patchType: 'JSONPatch' },
    });
    const patch = decodePatch(reply);
    expect(patch).toEqual(
      expect.arrayContaining([
        { op: 'replace', path: '/spec/containers/0/securityContext/runAsUser', value: 1000 },
      ]),
    );
    expect(reply.json.response.warnings.length).toBeGreaterThan(0);
    const line = server.logs.lines.find((l) => l.uid === 'mutate-1');
    expect(line).toMatchObject({
      msg: 'review',
      mode: 'enforce',
      decision: 'patched',
      status: 200,
      namespace: 'team',
      pod: 'p',
      operation: 'CREATE',
    });
    expect(line!.changes).toEqual(
      expect.arrayContaining(['runAsUser@container/app', 'capabilities.drop@container/app']),
    );
  });

  test('POST /audit changes nothing and says what it would change', async () => {
    const reply = await post(server, '/audit', podReview(pod(), { uid: 'audit-1' }));
    expect(reply.status).toBe(200);
    expect(reply.json.response).toMatchObject({ uid: 'audit-1', allowed: true });
    expect(reply.json.response.patch).toBeUndefined();
    expect(reply.json.response.warnings.join('\n')).toMatch(/audit only/);
    expect(reply.json.response.auditAnnotations).toMatchObject({
      mode: 'audit',
      decision: 'wouldPatch',
    });
    expect(server.logs.lines.find((l) => l.uid === 'audit-1')).toMatchObject({
      mode: 'audit',
      decision: 'wouldPatch',
    });
  });

  test('POST /audit of a pod with nothing to change stays unchanged, apart from wouldPatch', async () => {
    const hardened = pod({
      securityContext: {
        runAsUser: 1000,
        runAsGroup: 3000,
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      },
      containers: [
        {
          name: 'app',
          image: 'nginx',
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
    });
    const reply = await post(server, '/audit', podReview(hardened, { uid: 'audit-hardened' }));
    expect(reply.json.response.warnings).toBeUndefined();
    expect(reply.json.response.auditAnnotations).toMatchObject({
      mode: 'audit',
      decision: 'unchanged',
    });
    expect(server.logs.lines.find((l) => l.uid === 'audit-hardened')).toMatchObject({
      mode: 'audit',
      decision: 'unchanged',
      changes: [],
    });
  });

  test('the review log line names a controller-made pod by generateName and its controller', async () => {
    const replica = pod();
    replica.metadata = {
      generateName: 'web-7d9c6b5f8d-',
      namespace: 'team',
      ownerReferences: [
        { apiVersion: 'v1', kind: 'Node', name: 'not-a-controller', uid: 'n' },
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'web-7d9c6b5f8d',
          uid: 'rs',
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    };
    await post(server, '/mutate', podReview(replica, { uid: 'owned-1' }));
    expect(server.logs.lines.find((l) => l.uid === 'owned-1')).toMatchObject({
      pod: 'web-7d9c6b5f8d-',
      owner: 'ReplicaSet/web-7d9c6b5f8d',
      decision: 'patched',
    });
    await post(server, '/mutate', podReview(pod(), { uid: 'bare-1' }));
    expect(server.logs.lines.find((l) => l.uid === 'bare-1')).not.toHaveProperty('owner');
  });

  test('the ?timeout= query the API server appends is accepted', async () => {
    expect((await post(server, '/mutate?timeout=10s', podReview(pod()))).status).toBe(200);
  });

  test.each([
    ['JSON that is not an AdmissionReview', '{"hello": "world"}', 400, 'NOT_ADMISSION_REVIEW'],
    ['a JSON scalar', '42', 400, 'NOT_ADMISSION_REVIEW'],
  ])('%s: a review that answers %s %s', async (_name, body, status, code) => {
    const reply = await post(server, '/mutate', body);
    expect(reply.status).toBe(status);
    expect(reply.headers['content-type']).toMatch(/^application\/json/);
    expect(reply.json.kind).toBe('AdmissionReview');
    expect(reply.json.response.allowed).toBe(false);
    expect(reply.json.response.status.code).toBe(status);
    expect(reply.json.response.status.message).toContain(code);
  });

  test('application/json with a charset is accepted', async () => {
    expect(
      (
        await post(server, '/mutate', podReview(pod()), {
          contentType: 'application/json; charset=utf-8',
        })
      ).status,
    ).toBe(200);
  });

  test('an exception inside a review answers 500 echoing the uid, and the server keeps serving', async () => {
    const reply = await post(server, '/mutate', podReview(pod(), { uid: 'throw-me' }));
    expect(reply.status).toBe(500);
    expect(reply.json.response).toMatchObject({
      uid: 'throw-me',
      allowed: false,
      status: { code: 500 },
    });
    expect(reply.json.response.status.message).toMatch(/INTERNAL.*injected failure/);
    expect(server.logs.lines.find((l) => l.uid === 'throw-me')).toMatchObject({
      level: 'error',
      decision: 'error',
      errorCode: 'INTERNAL',
    });
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
    expect(get.json.error).toMatchObject({ code: 'METHOD_NOT_ALLOWED' });
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

  test('every answer is counted: reviews by mode and decision, errors by code, changes by rule and mode', async () => {
    const text = await scrape(server);
    // Exactly what the tests above sent, in this one server.
    expect(
      metricValue(text, 'pod_hardener_reviews_total', { mode: 'audit', decision: 'wouldPatch' }),
    ).toBe(1);
    expect(
      metricValue(text, 'pod_hardener_reviews_total', { mode: 'audit', decision: 'unchanged' }),
    ).toBe(1);
    expect(
      metricValue(text, 'pod_hardener_reviews_total', { mode: 'enforce', decision: 'invalid' }),
    ).toBe(2);
    expect(
      metricValue(text, 'pod_hardener_reviews_total', { mode: 'enforce', decision: 'error' }),
    ).toBe(1);
    expect(metricValue(text, 'pod_hardener_errors_total', { code: 'NOT_ADMISSION_REVIEW' })).toBe(
      2,
    );
    expect(metricValue(text, 'pod_hardener_errors_total', { code: 'INTERNAL' })).toBe(1);
    // The audit review of pod() would set runAsUser at pod level once; the enforce reviews did.
    expect(
      metricValue(text, 'pod_hardener_changes_total', { rule: 'runAsUser', mode: 'audit' }),
    ).toBe(1);
    expect(
      metricValue(text, 'pod_hardener_changes_total', { rule: 'runAsUser', mode: 'enforce' }),
    ).toBeGreaterThanOrEqual(1);
    expect(
      metricValue(text, 'pod_hardener_transport_failures_total', {
        status: '404',
        code: 'NOT_FOUND',
      }),
    ).toBe(1);
    expect(
      metricValue(text, 'pod_hardener_transport_failures_total', {
        status: '405',
        code: 'METHOD_NOT_ALLOWED',
      }),
    ).toBe(1);
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
        const request = partialPost(
          server,
          '/mutate',
          { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
          body.slice(0, 100),
        );
        return {
          done: request.response.then((r) => r.status),
          release: () => request.finish(body.slice(100)),
        };
      });
      await eventually(
        async () => metricValue(await scrape(server), 'pod_hardener_in_flight_reviews') === 2,
        { what: 'two reviews in flight', timeoutMs: 20_000, everyMs: 25 },
      );

      let heldFinished = false;
      void Promise.all(held.map((h) => h.done)).then(() => (heldFinished = true));
      const refused = await post(server, '/mutate', podReview(pod(), { uid: 'third' }));
      expect(refused.status).toBe(503);
      expect(refused.json.response.uid).toBe('');
      expect(refused.json.response.status.message).toMatch(
        /OVERLOADED: 2 reviews already in flight/,
      );
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
      expect(await getHealth(server.metricsPort, '/healthz')).toMatchObject({
        status: 200,
        text: 'ok\n',
      });
      expect(await getHealth(server.metricsPort, '/readyz')).toMatchObject({
        status: 200,
        text: 'ok\n',
      });
      const metrics = await getHealth(server.metricsPort, '/metrics');
      expect(metrics.status).toBe(200);
      expect(metrics.contentType).toMatch(/^text\/plain/);
      for (const name of [
        'pod_hardener_reviews_total',
        'pod_hardener_review_duration_seconds_bucket',
        'pod_hardener_in_flight_reviews',
        'pod_hardener_rejected_overload_total',
        'pod_hardener_certificate_reloads_total',
        'pod_hardener_certificate_not_after_seconds',
        'pod_hardener_certificate_expires_in_seconds',
        'pod_hardener_config_reloads_total',
        'process_cpu_seconds_total',
        'nodejs_eventloop_lag_seconds',
      ])
        expect(metrics.text).toContain(name);
      expect((await getHealth(server.metricsPort, '/mutate')).status).toBe(404);
    } finally {
      await server.shutdown('test done');
    }
  });
});
