/**
 * Puts the pieces together: certificate source, HTTPS admission port, plain-HTTP health and
 * metrics port, configuration reload, and graceful shutdown. main.ts calls startServer; the
 * http tests call it in-process with their own review function, ports and timings.
 */
import type { Server as HttpsServer } from 'node:https';
import type { Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import { reviewAdmission } from '../admission/review';
import type { LoadedConfig, LoadOptions } from '../config/load';
import { PolicyHolder } from '../config/reload';
import { createAdmissionApp, type Lifecycle } from './app';
import { createAdmissionPort } from './admission-port';
import { certificateEvents } from './certificate-events';
import { reloadConfigOnChange } from './config-reload';
import { createHealthServer, type Readiness } from './health';
import { createLogger, withLogging, type Logger } from './logging';
import { createMetrics, withMetrics, type Metrics } from './metrics';
import { createImageUsersStep } from './image-identity';
import type { ReviewFn } from './pipeline';
import { startCertificateSource } from './certificate-source';
import { shutdownSequence } from './shutdown';
import type { CertificateSource } from './tls';

export interface ServerOptions {
  loaded: LoadedConfig;
  /** The options the configuration was loaded with; given, the file is watched and reloaded. */
  loadOptions?: LoadOptions;
  /** The review function, unwrapped (tests inject their own). */
  review?: ReviewFn;
  logger?: Logger;
  metrics?: Metrics;
  /** Overrides for tests: port 0 picks a free port. */
  listen?: { address?: string; port?: number; metricsPort?: number };
  /** Overrides for tests, in milliseconds. */
  timing?: {
    certPollIntervalMs?: number;
    configPollIntervalMs?: number;
    shutdownDelayMs?: number;
    shutdownGraceMs?: number;
  };
}

export interface RunningServer {
  readonly address: string;
  readonly port: number;
  readonly metricsPort: number;
  readonly policy: PolicyHolder;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly certificates: CertificateSource;
  readiness(): Readiness;
  /**
   * Graceful shutdown; resolves with the exit code (0 when every accepted request was answered,
   * 1 when connections had to be cut at the grace deadline). Calling it again returns the same promise.
   */
  shutdown(reason: string): Promise<number>;
}

export async function startServer(o: ServerOptions): Promise<RunningServer> {
  const { config } = o.loaded;
  const logger = o.logger ?? createLogger(config.log.level);
  const metrics = o.metrics ?? createMetrics();
  const policy = new PolicyHolder(config);
  const lifecycle: Lifecycle = { draining: false };
  const s = config.server;
  const address = o.listen?.address ?? s.address;
  for (const warning of o.loaded.warnings) logger.warn(warning);

  const review = withLogging(withMetrics(o.review ?? reviewAdmission, metrics), logger);
  const imageUsers = createImageUsersStep(config, metrics, logger);
  const app = createAdmissionApp({
    review,
    ...(imageUsers && { imageUsers }),
    policy,
    maxInFlight: s.maxInFlight,
    maxBodyBytes: s.maxBodyBytes,
    metrics,
    lifecycle,
    logger,
  });

  const { https, connections, tlsOptions } = createAdmissionPort({
    app,
    server: s,
    metrics,
    logger,
  });

  let certificates: CertificateSource | undefined;
  const readiness = (): Readiness => {
    if (lifecycle.draining) return { ready: false, reason: 'shutting down' };
    if (certificates?.current === undefined)
      return { ready: false, reason: 'no serving certificate loaded yet' };
    return { ready: true, reason: '' };
  };
  const health = createHealthServer({ registry: metrics.registry, readiness, logger });

  await listen(health, address, o.listen?.metricsPort ?? s.metricsPort);
  try {
    await listen(https, address, o.listen?.port ?? s.port);
  } catch (err) {
    health.close();
    throw err;
  }

  try {
    certificates = await startCertificateSource(
      config,
      certificateEvents({
        setSecureContext: (context) => https.setSecureContext(context),
        tlsOptions,
        metrics,
        logger,
      }),
      logger,
      o.timing?.certPollIntervalMs ?? 10000,
    );
  } catch (err) {
    https.close();
    health.close();
    throw err;
  }

  const configWatch = o.loadOptions
    ? reloadConfigOnChange({
        loaded: o.loaded,
        loadOptions: o.loadOptions,
        policy,
        logger,
        metrics,
        pollIntervalMs: o.timing?.configPollIntervalMs ?? 5000,
      })
    : undefined;

  const shutdown = shutdownSequence({
    lifecycle,
    connections,
    // net's close, not https.Server#close: the latter also calls closeIdleConnections(), which
    // cuts connections a client is sending on right now (see connections.ts).
    stopAccepting: (done) => TlsServer.prototype.close.call(https, () => done()),
    stopTheRest: async () => {
      configWatch?.close();
      certificates?.stop();
      health.closeAllConnections();
      await new Promise<void>((resolve) => health.close(() => resolve()));
    },
    logger,
    delayMs: o.timing?.shutdownDelayMs ?? s.shutdownDelaySeconds * 1000,
    graceMs: o.timing?.shutdownGraceMs ?? s.shutdownGraceSeconds * 1000,
  });

  const port = (https.address() as AddressInfo).port;
  const metricsPort = (health.address() as AddressInfo).port;
  return { address, port, metricsPort, policy, metrics, logger, certificates, readiness, shutdown };
}

function listen(server: HttpsServer | HttpServer, address: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) =>
      reject(new Error(`cannot listen on ${address}:${port}: ${err.message}`));
    server.once('error', onError);
    server.listen(port, address, () => {
      server.off('error', onError);
      resolve();
    });
  });
}
