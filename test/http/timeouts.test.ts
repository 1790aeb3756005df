/**
 * Socket timeouts: a client trickling its headers (slowloris) is cut off after
 * server.headersTimeoutSeconds, while an idle keep-alive connection is not: on Node >= 18 the
 * headers timer starts with the first byte of a request, so keep-alive can stay above the API
 * server's 90 s without a headers timeout that long.
 */
import { connect } from 'node:tls';
import { pod } from '../support/pods';
import { podReview } from '../support/reviews';
import { keepAliveAgent, post, sleep, startTestServer, type TestServer } from '../support/http';

// Generous: these tests wait on real sockets and timers, and CI shares two cores; no test
// asserts on speed.
jest.setTimeout(30000);

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer({
    yaml: 'server: { headersTimeoutSeconds: 1, requestTimeoutSeconds: 5 }',
  });
});
afterAll(() => server.shutdown('test done'));

test('headers that never finish get 408 and a closed connection', async () => {
  const answer = await new Promise<string>((resolve, reject) => {
    const socket = connect(
      { host: '127.0.0.1', port: server.port, ca: server.ca, servername: 'localhost' },
      () => {
        socket.write('POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'); // no blank line, ever
      },
    );
    let received = '';
    socket.on('data', (d) => (received += d));
    socket.on('close', () => resolve(received));
    socket.on('error', reject);
    setTimeout(() => reject(new Error('still open after 20 s')), 20000).unref();
  });
  expect(answer).toMatch(/^HTTP\/1\.1 408 /);
});

test('an idle keep-alive connection outlives the headers timeout and is reused', async () => {
  const agent = keepAliveAgent(server.ca, 1);
  try {
    expect((await post(server, '/mutate', podReview(pod()), { agent })).status).toBe(200);
    await sleep(2500); // idle longer than headersTimeout plus one check interval
    const reply = await post(server, '/mutate', podReview(pod()), { agent });
    expect(reply.status).toBe(200);
    expect(reply.reusedSocket).toBe(true);
  } finally {
    agent.destroy();
  }
});
