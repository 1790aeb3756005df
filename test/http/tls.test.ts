/**
 * TLS on the admission port: protocol floor, no plain HTTP, and certificate reload the way a
 * mounted Secret changes (kubelet's `..data` symlink swap), under load.
 */
import { X509Certificate } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { Agent } from 'node:https';
import { connect } from 'node:tls';
import { join } from 'node:path';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadConfig } from '../../src/config/load';
import { createLogger } from '../../src/server/logging';
import { createMetrics } from '../../src/server/metrics';
import { startServer } from '../../src/server/server';
import { pod } from '../support/pods';
import { podReview } from '../support/reviews';
import {
  createTestPki,
  getHealth,
  KubeVolume,
  LogCapture,
  metricValue,
  post,
  scrape,
  sleep,
  startTestServer,
  tempDir,
  type TestPki,
  type TestServer,
} from '../support/http';
import { eventually } from '../support/eventually';

// Generous: these tests wait on real sockets and timers, and CI shares two cores; no test
// asserts on speed.
jest.setTimeout(30000);

const serialOf = (pem: string) => new X509Certificate(pem).serialNumber;

describe('protocol', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server.shutdown('test done'));

  test('TLS 1.2 and 1.3 are accepted', async () => {
    for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
      const protocol = await new Promise<string | null>((resolve, reject) => {
        const s = connect(
          {
            host: '127.0.0.1',
            port: server.port,
            ca: server.ca,
            minVersion: version,
            maxVersion: version,
          },
          () => {
            resolve(s.getProtocol());
            s.end();
          },
        );
        s.on('error', reject);
      });
      expect(protocol).toBe(version);
    }
  });

  test('TLS 1.1 is refused by the server', async () => {
    const before = server.logs.lines.length;
    // The client is made able to speak TLS 1.1 (OpenSSL 3 refuses it at its default security
    // level), so the refusal observed is the server's.
    const error = await new Promise<Error>((resolve) => {
      const s = connect(
        {
          host: '127.0.0.1',
          port: server.port,
          ca: server.ca,
          minVersion: 'TLSv1',
          maxVersion: 'TLSv1.1',
          ciphers: 'DEFAULT@SECLEVEL=0',
        },
        () => {
          s.end();
          resolve(new Error('handshake succeeded'));
        },
      );
      s.on('error', resolve);
    });
    expect(error.message).not.toBe('handshake succeeded');
    const refusal = await eventually(
      () => server.logs.lines.slice(before).find((l) => l.msg === 'TLS handshake failed'),
      { what: 'the server to log the refusal', timeoutMs: 20_000, everyMs: 25 },
    );
    expect(refusal.err).toMatch(/unsupported protocol/i);
  });

  test('plain HTTP on the admission port gets no HTTP answer', async () => {
    const outcome = await new Promise<string>((resolve) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: server.port,
          path: '/mutate',
          method: 'POST',
          agent: false,
          headers: { 'Content-Type': 'application/json' },
        },
        (res) => resolve(`HTTP ${res.statusCode}`),
      );
      req.on('error', (err: NodeJS.ErrnoException) => resolve(`error ${err.code}`));
      req.end(JSON.stringify(podReview(pod())));
    });
    expect(outcome).toMatch(/^error /);
  });

  test('the admission endpoints are not on the plain-HTTP port', async () => {
    const reply = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: server.metricsPort,
          path: '/mutate',
          method: 'POST',
          agent: false,
          headers: { 'Content-Type': 'application/json' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify(podReview(pod())));
    });
    expect(reply).toBe(405);
  });
});

describe('certificate reload', () => {
  let pki: TestPki;
  beforeAll(async () => {
    pki = await createTestPki();
  });

  /** Requests in a loop on keep-alive connections and on new ones, counting failures. */
  function load(server: TestServer) {
    const agent = new Agent({ keepAlive: true, maxSockets: 3, ca: pki.ca.certPem });
    let running = true;
    let ok = 0;
    const failures: string[] = [];
    const newConnectionSerials: string[] = [];
    const worker = async (fresh: boolean) => {
      while (running) {
        try {
          const reply = await post(
            { port: server.port, ca: pki.ca.certPem },
            '/mutate',
            podReview(pod()),
            fresh ? {} : { agent },
          );
          if (reply.status === 200) ok++;
          else failures.push(`HTTP ${reply.status}`);
          if (fresh && reply.serialNumber) newConnectionSerials.push(reply.serialNumber);
        } catch (err) {
          failures.push(String(err));
        }
      }
    };
    const workers = [worker(false), worker(false), worker(false), worker(true)];
    return {
      failures,
      newConnectionSerials,
      get ok() {
        return ok;
      },
      async stop() {
        running = false;
        await Promise.all(workers);
        agent.destroy();
      },
    };
  }

  test('a ..data swap is served to new handshakes with zero failed requests; a broken one keeps the old certificate', async () => {
    const first = await pki.issue();
    const second = await pki.issue();
    const volume = KubeVolume.create({ 'tls.crt': first.certPem, 'tls.key': first.keyPem });
    // Polling slowed to a minute: the swap must be seen through the directory watch.
    const server = await startTestServer({
      certFile: volume.path('tls.crt'),
      keyFile: volume.path('tls.key'),
      ca: pki.ca.certPem,
      timing: { certPollIntervalMs: 60000 },
    });
    const traffic = load(server);
    try {
      await eventually(() => traffic.newConnectionSerials.length > 3, {
        what: 'traffic on the first certificate',
        timeoutMs: 20_000,
        everyMs: 25,
      });
      expect(traffic.newConnectionSerials[0]).toBe(serialOf(first.certPem));

      volume.update({ 'tls.crt': second.certPem, 'tls.key': second.keyPem });
      await eventually(() => traffic.newConnectionSerials.at(-1) === serialOf(second.certPem), {
        what: 'a new handshake to present the second certificate',
        timeoutMs: 20_000,
        everyMs: 25,
      });
      const okAtSwap = traffic.ok;
      await eventually(() => traffic.ok > okAtSwap + 20, {
        what: 'more traffic after the swap',
        timeoutMs: 20_000,
        everyMs: 25,
      });

      // A broken certificate (the second key with garbage for the certificate).
      volume.update({
        'tls.crt': '-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n',
        'tls.key': second.keyPem,
      });
      await eventually(
        async () =>
          metricValue(await scrape(server), 'pod_hardener_certificate_reloads_total', {
            result: 'error',
          }) === 1,
        { what: 'the broken certificate to be refused', timeoutMs: 20_000, everyMs: 25 },
      );
      const okAtBreak = traffic.ok;
      await eventually(() => traffic.ok > okAtBreak + 20, {
        what: 'more traffic after the broken update',
        timeoutMs: 20_000,
        everyMs: 25,
      });
      expect(traffic.newConnectionSerials.at(-1)).toBe(serialOf(second.certPem));
      expect((await getHealth(server.metricsPort, '/readyz')).status).toBe(200);

      await traffic.stop();
      expect(traffic.failures).toEqual([]);
      const text = await scrape(server);
      expect(
        metricValue(text, 'pod_hardener_certificate_reloads_total', { result: 'success' }),
      ).toBe(2);
      const notAfter = new X509Certificate(second.certPem).validTo;
      expect(metricValue(text, 'pod_hardener_certificate_not_after_seconds')).toBe(
        new Date(notAfter).getTime() / 1000,
      );
      expect(server.logs.messages()).toEqual(
        expect.arrayContaining([
          'serving certificate loaded',
          'serving certificate reloaded',
          'serving certificate not loaded',
        ]),
      );
      const refusal = server.logs.lines.find((l) => l.msg === 'serving certificate not loaded');
      expect(refusal).toMatchObject({ level: 'error' });
      expect(refusal!.error).toMatch(/certificate does not parse/);
      expect(refusal!.keeping).toMatch(/the certificate valid until/);
    } finally {
      await traffic.stop();
      await server.shutdown('test done');
    }
  });

  test('a key and certificate replaced one after the other (not together) load without an error', async () => {
    const first = await pki.issue();
    const second = await pki.issue();
    const dir = tempDir('ph-tls-');
    const cert = join(dir, 'tls.crt');
    const key = join(dir, 'tls.key');
    writeFileSync(cert, first.certPem);
    writeFileSync(key, first.keyPem);
    const server = await startTestServer({
      certFile: cert,
      keyFile: key,
      ca: pki.ca.certPem,
      timing: { certPollIntervalMs: 60000 },
    });
    try {
      writeFileSync(cert, second.certPem);
      await sleep(120); // long enough for the watch to see a mismatched pair
      writeFileSync(key, second.keyPem);
      await eventually(
        async () =>
          (await post(server, '/mutate', podReview(pod()))).serialNumber ===
          serialOf(second.certPem),
        { what: 'the second certificate', timeoutMs: 20_000, everyMs: 25 },
      );
      expect(
        metricValue(await scrape(server), 'pod_hardener_certificate_reloads_total', {
          result: 'error',
        }),
      ).toBe(0);
    } finally {
      await server.shutdown('test done');
    }
  });

  test('unready until a certificate loads, then ready without a restart', async () => {
    const dir = join(tempDir('ph-tls-'), 'later');
    const server = await startTestServer({
      certFile: join(dir, 'tls.crt'),
      keyFile: join(dir, 'tls.key'),
      ca: pki.ca.certPem,
    });
    try {
      expect(await getHealth(server.metricsPort, '/readyz')).toEqual(
        expect.objectContaining({
          status: 503,
          text: 'not ready: no serving certificate loaded yet\n',
        }),
      );
      expect(await getHealth(server.metricsPort, '/healthz')).toEqual(
        expect.objectContaining({ status: 200 }),
      );
      await expect(post(server, '/mutate', podReview(pod()))).rejects.toThrow();

      const pair = await pki.issue();
      mkdirSync(dir);
      writeFileSync(join(dir, 'tls.key'), pair.keyPem);
      writeFileSync(join(dir, 'tls.crt'), pair.certPem);
      await eventually(
        async () => (await getHealth(server.metricsPort, '/readyz')).status === 200,
        { what: 'ready', timeoutMs: 20_000, everyMs: 25 },
      );
      expect((await post(server, '/mutate', podReview(pod()))).status).toBe(200);
    } finally {
      await server.shutdown('test done');
    }
  });
});

describe('development certificate', () => {
  test('with no certificate configured, a localhost certificate is generated and its CA written for curl --cacert', async () => {
    const loaded = loadConfig({ argv: [], env: {}, readFile: () => '' });
    expect(loaded.config.certificates.source).toBe('development');
    const logs = new LogCapture();
    const server = await startServer({
      loaded,
      logger: createLogger('info', logs),
      metrics: createMetrics({ defaultMetrics: false }),
      listen: { address: '127.0.0.1', port: 0, metricsPort: 0 },
      timing: { shutdownDelayMs: 0 },
    });
    try {
      const warning = logs.lines.find(
        (l) => l.level === 'warn' && /DEVELOPMENT certificate/.test(l.msg),
      );
      expect(warning).toBeDefined();
      expect(warning!.try).toContain(`curl --cacert ${warning!.caFile}`);
      const ca = readFileSync(warning!.caFile, 'utf8');
      const reply = await post({ port: server.port, ca }, '/mutate', podReview(pod()), {
        servername: 'localhost',
      });
      expect(reply.status).toBe(200);
      expect((await getHealth(server.metricsPort, '/readyz')).status).toBe(200);
    } finally {
      await server.shutdown('test done');
    }
  });
});
