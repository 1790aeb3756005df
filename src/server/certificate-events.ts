/**
 * What the server does when its certificate source loads a certificate or fails to: put the new
 * pair in service on the admission port (setSecureContext, so open connections keep theirs),
 * count it, set the expiry gauge, and log it with the certificate it replaces or keeps.
 */
import type { SecureContextOptions, TlsOptions } from 'node:tls';
import type { Logger } from './logging';
import type { Metrics } from './metrics';
import type { CertificateEvents, LoadedCertificate } from './tls';

export interface CertificateEventsOptions {
  /** The admission port's TLS context, swapped on each load. */
  setSecureContext(options: SecureContextOptions): void;
  /** The TLS options every context keeps (protocols, ALPN). */
  tlsOptions: TlsOptions;
  metrics: Pick<Metrics, 'certificateReloads' | 'certificateNotAfter'>;
  logger: Logger;
}

export function certificateEvents(o: CertificateEventsOptions): CertificateEvents {
  let previousNotAfter: Date | undefined;
  return {
    onLoad(cert: LoadedCertificate) {
      o.setSecureContext({ ...o.tlsOptions, cert: cert.certPem, key: cert.keyPem });
      o.metrics.certificateReloads.inc({ result: 'success' });
      o.metrics.certificateNotAfter.set(cert.notAfter.getTime() / 1000);
      o.logger.info(
        {
          subject: cert.subject,
          subjectAltName: cert.subjectAltName,
          notAfter: cert.notAfter.toISOString(),
          serialNumber: cert.serialNumber,
          previousNotAfter: previousNotAfter?.toISOString(),
        },
        previousNotAfter === undefined
          ? 'serving certificate loaded'
          : 'serving certificate reloaded',
      );
      previousNotAfter = cert.notAfter;
    },
    onError(message: string) {
      o.metrics.certificateReloads.inc({ result: 'error' });
      o.logger.error(
        {
          error: message,
          keeping: previousNotAfter
            ? `the certificate valid until ${previousNotAfter.toISOString()}`
            : 'none (not ready)',
        },
        'serving certificate not loaded',
      );
    },
  };
}
