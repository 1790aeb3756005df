import { X509Certificate, createPrivateKey } from 'node:crypto';
import { AddressInfo } from 'node:net';
import * as tls from 'node:tls';
import {
  CertificatePair,
  generateCA,
  generateDevelopmentCertificate,
  issueServingCertificate,
} from '../../../src/certs/generate';

/** Serves `pair` on an ephemeral loopback port; resolves with the port and a closer. */
async function serve(
  pair: CertificatePair,
  host = '127.0.0.1',
): Promise<{ port: number; close(): Promise<void> }> {
  const server = tls.createServer({ cert: pair.certPem, key: pair.keyPem }, (socket) =>
    socket.end('ok'),
  );
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Connects with full verification; resolves with the server's reply or rejects with the TLS error. */
function connect(
  port: number,
  opts: { host?: string; ca: string; servername?: string },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host: opts.host ?? '127.0.0.1',
      port,
      ca: opts.ca,
      servername: opts.servername,
    });
    let data = '';
    socket.on('data', (chunk) => (data += chunk.toString()));
    socket.on('end', () => resolve(data));
    socket.on('error', reject);
  });
}

describe('generateCA', () => {
  it('makes a self-signed CA certificate with a PKCS#8 key', async () => {
    const ca = await generateCA('test CA', 30);
    const cert = new X509Certificate(ca.certPem);
    expect(cert.ca).toBe(true);
    expect(cert.subject).toBe('CN=test CA');
    expect(cert.issuer).toBe(cert.subject);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.publicKey.asymmetricKeyType).toBe('ec');
    // PKCS#8 PEM: exporting the parsed key as PKCS#8 gives back the same text.
    expect(
      String(createPrivateKey(ca.keyPem).export({ type: 'pkcs8', format: 'pem' })).trim(),
    ).toBe(ca.keyPem.trim());
    const days = (Date.parse(cert.validTo) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThan(30.1);
    expect(Date.parse(cert.validFrom)).toBeLessThan(Date.now());
  });

  it('rejects a non-positive validity', async () => {
    await expect(generateCA('x', 0)).rejects.toThrow(/validDays/);
  });
});

describe('issueServingCertificate', () => {
  let ca: CertificatePair;
  let serving: CertificatePair;
  beforeAll(async () => {
    ca = await generateCA('pod-hardener test CA', 10);
    serving = await issueServingCertificate(ca, {
      dnsNames: ['pod-hardener.pod-hardener.svc', 'localhost'],
      ipAddresses: ['127.0.0.1', '::1'],
      validDays: 5,
    });
  });

  it('is signed by the CA, carries the SANs and is not a CA', () => {
    const cert = new X509Certificate(serving.certPem);
    const caCert = new X509Certificate(ca.certPem);
    expect(cert.checkIssued(caCert)).toBe(true);
    expect(cert.verify(caCert.publicKey)).toBe(true);
    expect(cert.ca).toBe(false);
    expect(cert.subjectAltName).toBe(
      'DNS:pod-hardener.pod-hardener.svc, DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1',
    );
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']); // node reports extKeyUsage here: serverAuth
    expect(cert.checkPrivateKey(createPrivateKey(serving.keyPem))).toBe(true);
  });

  it('serves TLS that node verifies against the CA, for an IP SAN and a DNS SAN', async () => {
    const server = await serve(serving);
    try {
      await expect(connect(server.port, { ca: ca.certPem })).resolves.toBe('ok'); // host 127.0.0.1
      await expect(
        connect(server.port, { ca: ca.certPem, servername: 'pod-hardener.pod-hardener.svc' }),
      ).resolves.toBe('ok');
      await expect(connect(server.port, { ca: ca.certPem, servername: 'localhost' })).resolves.toBe(
        'ok',
      );
    } finally {
      await server.close();
    }
  });

  it('fails verification for a name not in the SANs and against another CA', async () => {
    const other = await generateCA('other CA', 1);
    const server = await serve(serving);
    try {
      await expect(
        connect(server.port, { ca: ca.certPem, servername: 'evil.example.com' }),
      ).rejects.toMatchObject({
        code: 'ERR_TLS_CERT_ALTNAME_INVALID',
      });
      await expect(connect(server.port, { ca: other.certPem })).rejects.toThrow();
    } finally {
      await server.close();
    }
  });

  it('rejects an empty SAN list and an invalid IP', async () => {
    await expect(
      issueServingCertificate(ca, { dnsNames: [], ipAddresses: [], validDays: 1 }),
    ).rejects.toThrow(/at least one/);
    await expect(
      issueServingCertificate(ca, { dnsNames: [], ipAddresses: ['300.1.1.1'], validDays: 1 }),
    ).rejects.toThrow(/not an IP/);
  });

  it('honours the clock passed in', async () => {
    const now = new Date('2030-01-01T00:00:00Z');
    const pair = await issueServingCertificate(ca, {
      dnsNames: ['a'],
      ipAddresses: [],
      validDays: 2,
      now,
    });
    const cert = new X509Certificate(pair.certPem);
    expect(new Date(cert.validTo).toISOString()).toBe('2030-01-03T00:00:00.000Z');
    expect(new Date(cert.validFrom).toISOString()).toBe('2029-12-31T23:55:00.000Z');
  });
});

describe('generateDevelopmentCertificate', () => {
  it('serves localhost, 127.0.0.1 and ::1 under its own CA', async () => {
    const dev = await generateDevelopmentCertificate();
    const server = await serve(dev);
    try {
      await expect(connect(server.port, { ca: dev.caPem, servername: 'localhost' })).resolves.toBe(
        'ok',
      );
      await expect(connect(server.port, { ca: dev.caPem })).resolves.toBe('ok');
    } finally {
      await server.close();
    }
    const v6 = await serve(dev, '::1').catch(() => undefined); // IPv6 loopback may be absent
    if (v6) {
      try {
        await expect(connect(v6.port, { host: '::1', ca: dev.caPem })).resolves.toBe('ok');
      } finally {
        await v6.close();
      }
    }
    const days = (Date.parse(new X509Certificate(dev.certPem).validTo) - Date.now()) / 86_400_000;
    expect(Math.round(days)).toBe(365);
  });
});
