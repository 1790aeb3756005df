/**
 * Every failure the transport answers before a review, sent over real HTTPS to a real server:
 * the HTTP status, the error code in the body, and the transport failure metric by status and
 * code. None of them may reach the review function or count as a review.
 */
import { connect } from 'node:tls';
import { ERRORS, type ErrorCode } from '../../src/errors';
import { pod } from '../support/pods';
import { podReview } from '../support/reviews';
import {
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

const LIMIT = 65536;
let server: TestServer;
let reviewed = 0;

beforeAll(async () => {
  server = await startTestServer({
    yaml: `server: { maxBodyBytes: ${LIMIT}, maxInFlight: 1, headersTimeoutSeconds: 1, requestTimeoutSeconds: 1 }`,
    review: () => {
      reviewed++;
      throw new Error('a transport failure reached the review function');
    },
  });
});
afterAll(() => server.shutdown('test done'));

const failures = async (code: ErrorCode) =>
  metricValue(await scrape(server), 'pod_hardener_transport_failures_total', {
    status: String(ERRORS[code].status),
    code,
  });

/** The status line and JSON body of a raw exchange on one TLS connection, read until it closes. */
function raw(
  send: (write: (text: string) => void) => void,
): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const socket = connect(
      { host: '127.0.0.1', port: server.port, ca: server.ca, servername: 'localhost' },
      () => send((t) => socket.write(t)),
    );
    let received = '';
    socket.on('data', (d) => (received += d));
    socket.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3}) /.exec(received)?.[1] ?? 0);
      const text = received.slice(received.indexOf('\r\n\r\n') + 4);
      try {
        resolve({ status, body: JSON.parse(text) });
      } catch {
        reject(new Error(`not a JSON answer: ${JSON.stringify(received)}`));
      }
    });
    socket.on('error', reject);
    setTimeout(() => reject(new Error('still open after 20 s')), 20000).unref();
  });
}

describe.each<
  [string, ErrorCode, () => Promise<{ status: number; body: any; connection?: string }>]
>([
  ['an empty body', 'EMPTY_BODY', () => post(server, '/mutate', '').then(asAnswer)],
  [
    'a body that is not JSON',
    'BAD_JSON',
    () => post(server, '/mutate', '{"apiVersion": ').then(asAnswer),
  ],
  [
    'a text/plain body',
    'BAD_CONTENT_TYPE',
    () => post(server, '/mutate', '{}', { contentType: 'text/plain' }).then(asAnswer),
  ],
  [
    'a body without Content-Type',
    'BAD_CONTENT_TYPE',
    () => post(server, '/audit', '{}', { contentType: null }).then(asAnswer),
  ],
  [
    'a gzip body',
    'BAD_CONTENT_ENCODING',
    () => post(server, '/mutate', '{}', { headers: { 'Content-Encoding': 'gzip' } }).then(asAnswer),
  ],
  [
    'a body over the limit, by Content-Length',
    'BODY_TOO_LARGE',
    () => post(server, '/mutate', podReview(pod({}, { filler: 'x'.repeat(LIMIT) }))).then(asAnswer),
  ],
  [
    'a body over the limit, chunked',
    'BODY_TOO_LARGE',
    () => chunked(JSON.stringify(podReview(pod({}, { filler: 'x'.repeat(LIMIT) })))),
  ],
  [
    'a body that never finishes',
    'REQUEST_TIMEOUT',
    () =>
      raw((write) =>
        write(
          'POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"apiVersion":',
        ),
      ),
  ],
  [
    'headers that never finish',
    'REQUEST_TIMEOUT',
    () => raw((write) => write('POST /mutate HTTP/1.1\r\nHost: x\r\n')),
  ],
  ['bytes that are not HTTP', 'BAD_HTTP', () => raw((write) => write('HELLO\x00WORLD\r\n\r\n'))],
  [
    'a GET of /mutate',
    'METHOD_NOT_ALLOWED',
    () => post(server, '/mutate', '', { method: 'GET', contentType: null }).then(asAnswer),
  ],
  [
    'a POST to another path',
    'NOT_FOUND',
    () => post(server, '/validate', podReview(pod())).then(asAnswer),
  ],
])('%s', (_name, code, send) => {
  test(`answers ${ERRORS[code].status} ${code} and counts it by status and code`, async () => {
    const before = await failures(code);
    const reply = await send();
    expect(reply.status).toBe(ERRORS[code].status);
    // A POST to an admission path gets an AdmissionReview (the API server logs its message);
    // anything else, and what node:http answers before express, `{"error": ...}`.
    const message: string =
      reply.body.response?.status?.message ??
      `pod-hardener ${reply.body.error?.code}: ${reply.body.error?.message}`;
    expect(message).toMatch(new RegExp(`^pod-hardener ${code}: `));
    if (reply.body.response)
      expect(reply.body.response).toMatchObject({
        allowed: false,
        status: { code: ERRORS[code].status },
      });
    if (code === 'BODY_TOO_LARGE') expect(reply.connection).toBe('close');
    await eventually(async () => (await failures(code)) === before + 1, {
      what: `${code} counted once`,
      timeoutMs: 20_000,
      everyMs: 25,
    });
    expect(reviewed).toBe(0);
  });
});

test('beyond server.maxInFlight: 503 OVERLOADED at once, counted, while the review in flight completes', async () => {
  const body = JSON.stringify(podReview(pod()));
  const held = partialPost(
    server,
    '/mutate',
    { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) },
    body.slice(0, 100),
  );
  await eventually(
    async () => metricValue(await scrape(server), 'pod_hardener_in_flight_reviews') === 1,
    { what: 'one review in flight', timeoutMs: 20_000, everyMs: 25 },
  );
  const before = await failures('OVERLOADED');
  const refused = await post(server, '/mutate', podReview(pod(), { uid: 'refused' }));
  expect(refused.status).toBe(503);
  expect(refused.json.response.status.message).toMatch(
    /^pod-hardener OVERLOADED: 1 reviews already in flight/,
  );
  expect(await failures('OVERLOADED')).toBe(before + 1);
  held.finish(body.slice(100));
  // The review in flight reaches the review function, which throws: the transport's own error
  // boundary answers 500 INTERNAL and the server keeps serving.
  expect((await held.response).status).toBe(500);
  expect(reviewed).toBe(1);
  expect(await failures('INTERNAL')).toBe(1);
  expect((await post(server, '/mutate', '')).status).toBe(400);
});

test('no transport failure counts as a review', async () => {
  const text = await scrape(server);
  for (const mode of ['enforce', 'audit']) {
    for (const decision of ['patched', 'wouldPatch', 'unchanged', 'invalid', 'error']) {
      expect(metricValue(text, 'pod_hardener_reviews_total', { mode, decision })).toBe(0);
    }
  }
});

function asAnswer(reply: { status: number; json: any; headers: Record<string, unknown> }) {
  return {
    status: reply.status,
    body: reply.json,
    connection: reply.headers.connection as string | undefined,
  };
}

async function chunked(
  payload: string,
): Promise<{ status: number; body: any; connection?: string }> {
  const request = partialPost(
    server,
    '/mutate',
    { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' },
    payload.slice(0, 40000),
  );
  request.finish(payload.slice(40000));
  const reply = await request.response;
  return {
    status: reply.status,
    body: JSON.parse(reply.text),
    connection: reply.headers.connection as string | undefined,
  };
}
