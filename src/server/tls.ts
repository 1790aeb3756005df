/**
 * Where the serving certificate comes from, behind one small interface that can say whether a
 * certificate has loaded (cert-manager's CertificateSource, controller-runtime's certwatcher).
 *
 * files:        certFile/keyFile, watched (directory + poll, bytes compared) and swapped into the
 *               running server without a restart; a new pair that does not validate is refused
 *               and the old one kept.
 * development:  a throw-away CA and a localhost certificate generated in memory at start.
 * self-managed: src/certs/self-managed.ts keeps tls.crt/tls.key fresh in a directory, then the
 *               `files` source serves them.
 */
import { Buffer } from 'node:buffer';
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { watchFiles } from '../config/file-watch';

export interface LoadedCertificate {
  certPem: string;
  keyPem: string;
  notAfter: Date;
  subject: string;
  subjectAltName: string;
  serialNumber: string;
  fingerprint256: string;
}

export interface CertificateEvents {
  /** A new, valid pair: put it in service. */
  onLoad(cert: LoadedCertificate): void;
  /** A new pair (or a read) failed; the previous certificate, if any, stays in service. */
  onError(message: string): void;
}

export interface CertificateSource {
  readonly kind: 'files' | 'development' | 'self-managed';
  /** The certificate in service; undefined until the first one loaded (readiness). */
  readonly current: LoadedCertificate | undefined;
  stop(): void;
}

/**
 * Parses and cross-checks a pair the way the TLS stack will use it; throws with a message that
 * says what is wrong. Only the first certificate of a chain is the serving one.
 */
export function validateCertificate(
  certPem: string,
  keyPem: string,
  now = new Date(),
): LoadedCertificate {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    throw new Error(`certificate does not parse as PEM X.509: ${(err as Error).message}`);
  }
  let key;
  try {
    key = createPrivateKey(keyPem);
  } catch (err) {
    throw new Error(`private key does not parse as PEM: ${(err as Error).message}`);
  }
  if (!cert.checkPrivateKey(key))
    throw new Error(
      `private key does not match the certificate (subject ${cert.subject.replace(/\n/g, ', ')})`,
    );
  const notAfter = new Date(cert.validTo);
  if (notAfter.getTime() <= now.getTime())
    throw new Error(`certificate expired at ${notAfter.toISOString()}`);
  try {
    createSecureContext({ cert: certPem, key: keyPem });
  } catch (err) {
    throw new Error(`TLS refuses the pair: ${(err as Error).message}`);
  }
  return {
    certPem,
    keyPem,
    notAfter,
    subject: cert.subject.replace(/\n/g, ', '),
    subjectAltName: cert.subjectAltName ?? '',
    serialNumber: cert.serialNumber,
    fingerprint256: cert.fingerprint256,
  };
}

export interface FileSourceOptions {
  certFile: string;
  keyFile: string;
  /** ~10 s: how long a missed watch event can delay a reload. */
  pollIntervalMs: number;
  events: CertificateEvents;
  kind?: 'files' | 'self-managed';
}

const SETTLE_MS = 300;

export function startFileCertificateSource(o: FileSourceOptions): CertificateSource {
  let current: LoadedCertificate | undefined;
  // The last state acted on (bytes, or a read error): each distinct state is loaded or
  // reported once, not on every poll.
  let lastSeen: string | undefined;
  let retry: NodeJS.Timeout | undefined;
  let unsettled: string | undefined;
  let settle: NodeJS.Timeout | undefined;

  const check = () => {
    let cert: Buffer;
    let key: Buffer;
    try {
      cert = readFileSync(o.certFile);
      key = readFileSync(o.keyFile);
      // A `..data` swap between the two reads would pair an old certificate with a new key:
      // read the certificate again and start over if it moved.
      if (!cert.equals(readFileSync(o.certFile))) {
        retry ??= setTimeout(() => {
          retry = undefined;
          check();
        }, 20).unref();
        return;
      }
    } catch (err) {
      const state = `\0error ${(err as Error).message}`;
      if (state !== lastSeen) {
        lastSeen = state;
        o.events.onError(`cannot read the certificate files: ${(err as Error).message}`);
      }
      return;
    }
    const state = `${cert.toString('base64')}\0${key.toString('base64')}`;
    if (state === lastSeen) return;
    lastSeen = state;
    let loaded: LoadedCertificate;
    try {
      loaded = validateCertificate(cert.toString('utf8'), key.toString('utf8'));
    } catch (err) {
      // A writer that replaces the two files one after the other (each atomically, not
      // together) leaves a mismatched pair for a moment: look again shortly before reporting.
      if (unsettled !== state) {
        unsettled = state;
        lastSeen = undefined;
        settle ??= setTimeout(() => {
          settle = undefined;
          check();
        }, SETTLE_MS).unref();
        return;
      }
      o.events.onError(`${o.certFile} / ${o.keyFile}: ${(err as Error).message}`);
      return;
    }
    unsettled = undefined;
    current = loaded;
    o.events.onLoad(loaded);
  };

  check();
  const watch = watchFiles({
    files: [o.certFile, o.keyFile],
    pollIntervalMs: o.pollIntervalMs,
    onCheck: check,
  });
  return {
    kind: o.kind ?? 'files',
    get current() {
      return current;
    },
    stop() {
      watch.close();
      if (retry) clearTimeout(retry);
      if (settle) clearTimeout(settle);
    },
  };
}

/**
 * A development certificate for localhost, 127.0.0.1 and ::1. The key never leaves memory; the
 * CA certificate (public) is written to a temporary file so `curl --cacert` can trust it.
 */
export async function startDevelopmentCertificateSource(
  events: CertificateEvents,
): Promise<CertificateSource & { caPem: string; caFile?: string; caFileError?: string }> {
  // Loaded here, not at the top: @peculiar/x509 and its dependencies add ~16 MB of RSS that a
  // server serving mounted certificate files never uses (measured as peak RSS).
  const { generateDevelopmentCertificate } = await import('../certs/generate');
  const generated = await generateDevelopmentCertificate();
  let caFile: string | undefined;
  let caFileError: string | undefined;
  try {
    caFile = join(mkdtempSync(join(tmpdir(), 'pod-hardener-dev-')), 'ca.crt');
    writeFileSync(caFile, generated.caPem);
  } catch (err) {
    // A read-only file system: the caller logs the PEM itself instead.
    caFile = undefined;
    caFileError = (err as Error).message;
  }
  const loaded = validateCertificate(generated.certPem, generated.keyPem);
  events.onLoad(loaded);
  return {
    kind: 'development',
    current: loaded,
    caPem: generated.caPem,
    caFile,
    caFileError,
    stop() {},
  };
}
