import { generateCA, issueServingCertificate } from '../../../src/certs/generate';
import { validateCertificate } from '../../../src/server/tls';

describe('validateCertificate', () => {
  let ca: Awaited<ReturnType<typeof generateCA>>;
  let pair: Awaited<ReturnType<typeof issueServingCertificate>>;
  let other: Awaited<ReturnType<typeof issueServingCertificate>>;
  beforeAll(async () => {
    ca = await generateCA('test CA', 2);
    pair = await issueServingCertificate(ca, {
      dnsNames: ['localhost'],
      ipAddresses: ['127.0.0.1'],
      validDays: 1,
    });
    other = await issueServingCertificate(ca, {
      dnsNames: ['localhost'],
      ipAddresses: [],
      validDays: 1,
    });
  });

  test('a good pair loads with its expiry, subject and SANs', () => {
    const loaded = validateCertificate(pair.certPem, pair.keyPem);
    expect(loaded.notAfter.getTime()).toBeGreaterThan(Date.now());
    expect(loaded.subjectAltName).toContain('DNS:localhost');
    expect(loaded.subjectAltName).toContain('IP Address:127.0.0.1');
    expect(loaded.serialNumber).toMatch(/^[0-9A-F]+$/);
  });

  test('a chain (leaf first, then the CA) loads: the first certificate is the serving one', () => {
    expect(
      validateCertificate(`${pair.certPem.trim()}\n${ca.certPem}`, pair.keyPem).serialNumber,
    ).toBe(validateCertificate(pair.certPem, pair.keyPem).serialNumber);
  });

  test.each([
    ['garbage certificate', () => ['not a cert', pair.keyPem], /certificate does not parse/],
    [
      'truncated certificate',
      () => [pair.certPem.slice(0, 200), pair.keyPem],
      /certificate does not parse/,
    ],
    ['garbage key', () => [pair.certPem, 'nope'], /private key does not parse/],
    [
      'key of another certificate',
      () => [pair.certPem, other.keyPem],
      /private key does not match the certificate/,
    ],
  ])('%s is refused', (_name, args, message) => {
    const [cert, key] = args();
    expect(() => validateCertificate(cert, key)).toThrow(message);
  });

  test('an expired certificate is refused', async () => {
    const old = await issueServingCertificate(ca, {
      dnsNames: ['localhost'],
      ipAddresses: [],
      validDays: 1,
      now: new Date(Date.now() - 3 * 86400000),
    });
    expect(() => validateCertificate(old.certPem, old.keyPem)).toThrow(/certificate expired at /);
  });
});
