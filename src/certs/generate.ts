/**
 * Certificate generation: a CA, serving certificates it signs, and a development pair for local
 * runs. ECDSA P-256 with SHA-256 through node's WebCrypto, via @peculiar/x509.
 *
 * Used by the self-managed bootstrap (src/certs/self-managed.ts), the `certs` command and the
 * server's development fallback. Keys leave this module as PKCS#8 PEM ("PRIVATE KEY"), which
 * node:tls and Kubernetes `kubernetes.io/tls` Secrets both accept.
 */
import './reflect-shim'; // must precede @peculiar/x509: tsyringe checks for it at import time
import { randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import * as x509 from '@peculiar/x509';

// @peculiar/x509 v2 defaults to globalThis.crypto; set node's explicitly so the provider does not
// depend on the Node version or on a test environment's globals.
x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

export interface CertificatePair {
  /** PEM, one certificate. */
  certPem: string;
  /** PEM, PKCS#8 (not the older SEC1 "EC PRIVATE KEY" form). */
  keyPem: string;
}

export interface ServingCertificateOptions {
  dnsNames: string[];
  ipAddresses: string[];
  validDays: number;
  /** Defaults to the first DNS name, else the first IP address. Clients ignore it: SANs decide. */
  commonName?: string;
  /** The clock; tests pass their own. */
  now?: Date;
}

const EC_KEY: webcrypto.EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const SIGNING: webcrypto.EcdsaParams = { name: 'ECDSA', hash: 'SHA-256' };
const DAY_MS = 24 * 60 * 60 * 1000;
/**
 * notBefore is back-dated so that a peer whose clock lags a little (another replica, the API
 * server) does not see a certificate "not yet valid" right after it was issued. cert-manager and
 * kubeadm do the same for their CAs.
 */
const BACKDATE_MS = 5 * 60 * 1000;

const subtle = webcrypto.subtle;

/** A positive 128-bit serial (RFC 5280 4.1.2.2: positive, at most 20 octets, unpredictable). */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = bytes[0] & 0x7f;
  if (bytes[0] === 0) bytes[0] = 0x01; // keep the encoding at 16 octets, no leading zero to strip
  return bytes.toString('hex');
}

function validity(validDays: number, now: Date): { notBefore: Date; notAfter: Date } {
  if (!Number.isFinite(validDays) || validDays <= 0) {
    throw new RangeError(`validDays must be a positive number, got ${validDays}`);
  }
  return {
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + validDays * DAY_MS),
  };
}

function name(commonName: string): x509.JsonName {
  // A JsonName rather than "CN=..." so commas or plus signs in the name need no escaping.
  return [{ CN: [commonName] }];
}

async function newKeys(): Promise<CryptoKeyPair> {
  return subtle.generateKey(EC_KEY, true, ['sign', 'verify']);
}

async function exportKey(key: CryptoKey): Promise<string> {
  const der = await subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/** Reads a PKCS#8 PEM P-256 key, as written by this module. */
export async function importSigningKey(keyPem: string): Promise<CryptoKey> {
  const [der] = x509.PemConverter.decode(keyPem);
  if (!der) throw new Error('no PEM block found in the private key');
  return subtle.importKey('pkcs8', der, EC_KEY, false, ['sign']);
}

/** A self-signed CA certificate: basicConstraints CA:true, pathLen 0, keyCertSign + cRLSign. */
export async function generateCA(
  commonName: string,
  validDays: number,
  now: Date = new Date(),
): Promise<CertificatePair> {
  const keys = await newKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: name(commonName),
    ...validity(validDays, now),
    keys,
    signingAlgorithm: SIGNING,
    extensions: [
      // pathLen 0: this CA signs serving certificates only, never another CA.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await exportKey(keys.privateKey) };
}

/**
 * A serving certificate signed by `ca`: SANs for every DNS name and IP address (TLS clients,
 * the API server included, match the host against SANs only, never the CN), keyUsage
 * digitalSignature (all an ECDHE-ECDSA server needs), extKeyUsage serverAuth, CA:false.
 */
export async function issueServingCertificate(
  ca: CertificatePair,
  o: ServingCertificateOptions,
): Promise<CertificatePair> {
  const dnsNames = [...new Set(o.dnsNames)];
  const ipAddresses = [...new Set(o.ipAddresses)];
  if (dnsNames.length === 0 && ipAddresses.length === 0) {
    throw new Error('a serving certificate needs at least one DNS name or IP address');
  }
  for (const ip of ipAddresses) {
    if (isIP(ip) === 0) throw new Error(`not an IP address: ${JSON.stringify(ip)}`);
  }
  const caCert = new x509.X509Certificate(ca.certPem);
  const caKey = await importSigningKey(ca.keyPem);
  const keys = await newKeys();
  const sans: x509.JsonGeneralNames = [
    ...dnsNames.map((value) => ({ type: 'dns' as const, value })),
    ...ipAddresses.map((value) => ({ type: 'ip' as const, value })),
  ];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: name(o.commonName ?? dnsNames[0] ?? ipAddresses[0]),
    issuer: caCert.subjectName,
    ...validity(o.validDays, o.now ?? new Date()),
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: SIGNING,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth], false),
      new x509.SubjectAlternativeNameExtension(sans, false),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await exportKey(keys.privateKey) };
}

/**
 * For local runs with no certificate configured: a throw-away CA and a serving certificate for
 * localhost, 127.0.0.1 and ::1, valid for a year. The CA key is discarded; `caPem` is what a
 * client (curl --cacert, a url-based webhook's caBundle) trusts.
 */
export async function generateDevelopmentCertificate(): Promise<
  CertificatePair & { caPem: string }
> {
  const ca = await generateCA('pod-hardener development CA', 365);
  const serving = await issueServingCertificate(ca, {
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1', '::1'],
    validDays: 365,
    commonName: 'localhost',
  });
  return { ...serving, caPem: ca.certPem };
}
