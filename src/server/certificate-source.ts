/**
 * Chooses the certificate source named by `certificates.source`.
 */
import { join } from 'node:path';
import type { Config } from '../config/schema';
import type { Logger } from './logging';
import { startDevelopmentCertificateSource, startFileCertificateSource, type CertificateEvents, type CertificateSource } from './tls';

export async function startCertificateSource(config: Config, events: CertificateEvents, logger: Logger, pollIntervalMs: number): Promise<CertificateSource> {
  const c = config.certificates;
  switch (c.source) {
    case 'files':
      return startFileCertificateSource({ certFile: c.certFile!, keyFile: c.keyFile!, pollIntervalMs, events });
    case 'development': {
      const source = await startDevelopmentCertificateSource(events);
      logger.warn(
        { caFile: source.caFile, try: `curl --cacert ${source.caFile} https://localhost:${config.server.port}/mutate` },
        'DEVELOPMENT certificate: self-signed, generated in memory for localhost, 127.0.0.1 and ::1, for local runs only; ' +
          'the API server will not trust it. Configure certificates.certFile/keyFile (or POD_HARDENER_TLS_CERT_FILE/_KEY_FILE) or certificates.source: self-managed',
      );
      return source;
    }
    case 'self-managed': {
      throw new Error('self-managed certificates are not available yet');
      void join;
    }
  }
}
