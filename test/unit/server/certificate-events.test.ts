/**
 * What the server does on its certificate source's events: the new pair goes into the admission
 * port's TLS context, the reload is counted and the expiry gauge set, and the log line says which
 * certificate it replaces, or which one stays in service after a failure.
 */
import type { TlsOptions } from 'node:tls';
import { createLogger } from '../../../src/server/logging';
import { certificateEvents } from '../../../src/server/certificate-events';
import { createMetrics } from '../../../src/server/metrics';
import type { LoadedCertificate } from '../../../src/server/tls';
import { LogCapture, metricValue } from '../../support/http';

const cert = (serialNumber: string, notAfter: string): LoadedCertificate => ({
  certPem: `cert ${serialNumber}`,
  keyPem: `key ${serialNumber}`,
  notAfter: new Date(notAfter),
  subject: 'CN=pod-hardener',
  subjectAltName: 'DNS:pod-hardener.pod-hardener.svc',
  serialNumber,
  fingerprint256: '00',
});

function setUp() {
  const contexts: TlsOptions[] = [];
  const logs = new LogCapture();
  const metrics = createMetrics();
  const events = certificateEvents({
    setSecureContext: (context) => contexts.push(context),
    tlsOptions: { minVersion: 'TLSv1.2', ALPNProtocols: ['http/1.1'] },
    metrics,
    logger: createLogger('info', logs),
  });
  const reloads = async (result: string) =>
    metricValue(await metrics.registry.metrics(), 'pod_hardener_certificate_reloads_total', {
      result,
    });
  const notAfter = async () =>
    metricValue(await metrics.registry.metrics(), 'pod_hardener_certificate_not_after_seconds');
  return { contexts, logs, events, reloads, notAfter };
}

test('a load puts the pair in service with the TLS options kept, counts it and sets the expiry', async () => {
  const { contexts, logs, events, reloads, notAfter } = setUp();
  events.onLoad(cert('01', '2027-01-01T00:00:00Z'));
  expect(contexts).toEqual([
    { minVersion: 'TLSv1.2', ALPNProtocols: ['http/1.1'], cert: 'cert 01', key: 'key 01' },
  ]);
  expect(await reloads('success')).toBe(1);
  expect(await notAfter()).toBe(Date.parse('2027-01-01T00:00:00Z') / 1000);
  expect(logs.lines).toEqual([
    expect.objectContaining({
      level: 'info',
      msg: 'serving certificate loaded',
      serialNumber: '01',
      notAfter: '2027-01-01T00:00:00.000Z',
    }),
  ]);
  expect(logs.lines[0]).not.toHaveProperty('previousNotAfter');

  events.onLoad(cert('02', '2027-06-01T00:00:00Z'));
  expect(contexts.map((c) => c.cert)).toEqual(['cert 01', 'cert 02']);
  expect(await reloads('success')).toBe(2);
  expect(await notAfter()).toBe(Date.parse('2027-06-01T00:00:00Z') / 1000);
  expect(logs.lines[1]).toMatchObject({
    msg: 'serving certificate reloaded',
    previousNotAfter: '2027-01-01T00:00:00.000Z',
  });
});

test('a failure is counted and says which certificate stays in service, if any', async () => {
  const { contexts, logs, events, reloads } = setUp();
  events.onError('tls.key: not a private key');
  expect(logs.lines[0]).toMatchObject({
    level: 'error',
    msg: 'serving certificate not loaded',
    error: 'tls.key: not a private key',
    keeping: 'none (not ready)',
  });
  events.onLoad(cert('01', '2027-01-01T00:00:00Z'));
  events.onError('tls.crt: expired');
  expect(logs.lines[2]).toMatchObject({
    keeping: 'the certificate valid until 2027-01-01T00:00:00.000Z',
  });
  expect(contexts).toHaveLength(1);
  expect(await reloads('error')).toBe(2);
  expect(await reloads('success')).toBe(1);
});
