/**
 * Chooses the certificate source named by `certificates.source`.
 */
import { join } from 'node:path';
import type { Config } from '../config/schema';
import type { Logger } from './logging';
import {
  startDevelopmentCertificateSource,
  startFileCertificateSource,
  type CertificateEvents,
  type CertificateSource,
} from './tls';

export async function startCertificateSource(
  config: Config,
  events: CertificateEvents,
  logger: Logger,
  pollIntervalMs: number,
): Promise<CertificateSource> {
  const c = config.certificates;
  switch (c.source) {
    case 'files':
      return startFileCertificateSource({
        certFile: c.certFile!,
        keyFile: c.keyFile!,
        pollIntervalMs,
        events,
      });
    case 'development': {
      const source = await startDevelopmentCertificateSource(events);
      const where = source.caFile
        ? {
            caFile: source.caFile,
            try: `curl --cacert ${source.caFile} -H 'Content-Type: application/json' --data @review.json https://localhost:${config.server.port}/mutate`,
          }
        : { caPem: source.caPem, caFileError: source.caFileError };
      logger.warn(
        where,
        'DEVELOPMENT certificate: self-signed, generated in memory for localhost, 127.0.0.1 and ::1, for local runs only; ' +
          'the API server will not trust it. Configure certificates.certFile/keyFile (or POD_HARDENER_TLS_CERT_FILE/_KEY_FILE) or certificates.source: self-managed',
      );
      return source;
    }
    case 'self-managed':
      return startSelfManagedSource(config, events, logger, pollIntervalMs);
  }
}

/**
 * Bootstraps in the background (the first pass retries until the API server answers), so the
 * process answers probes and signals meanwhile; then serves the files it keeps fresh.
 */
function startSelfManagedSource(
  config: Config,
  events: CertificateEvents,
  logger: Logger,
  pollIntervalMs: number,
): CertificateSource {
  const c = config.certificates;
  const abort = new AbortController();
  let files: CertificateSource | undefined;
  let manager: { stop(): void } | undefined;
  // Loaded only here: @kubernetes/client-node is an ES module (require(esm) on Node >= 20.19),
  // and nothing else in the server, nor any test, should pay for it.
  import('../certs/self-managed')
    .then(({ startSelfManagedCertificates }) =>
      startSelfManagedCertificates({
        namespace: c.selfManaged.namespace!,
        serviceName: c.selfManaged.serviceName,
        secretName: c.selfManaged.secretName,
        webhookConfigurationName: c.selfManaged.webhookConfigurationName,
        directory: c.directory,
        validityDays: c.selfManaged.validityDays,
        renewBeforeDays: c.selfManaged.renewBeforeDays,
        checkIntervalMs: c.selfManaged.checkIntervalSeconds * 1000,
        dnsNames: [...c.selfManaged.extraDnsNames],
        ipAddresses: [...c.selfManaged.extraIpAddresses],
        logger,
        signal: abort.signal,
      }),
    )
    .then(
      (started) => {
        manager = started;
        if (abort.signal.aborted) return started.stop();
        files = startFileCertificateSource({
          certFile: join(c.directory, 'tls.crt'),
          keyFile: join(c.directory, 'tls.key'),
          pollIntervalMs,
          events,
          kind: 'self-managed',
        });
      },
      (err: unknown) => {
        if (!abort.signal.aborted)
          logger.error({ err }, 'self-managed certificates could not start; not ready');
      },
    );
  return {
    kind: 'self-managed',
    get current() {
      return files?.current;
    },
    stop() {
      abort.abort(new Error('shutting down'));
      manager?.stop();
      files?.stop();
    },
  };
}
