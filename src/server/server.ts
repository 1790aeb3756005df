/**
 * Puts the pieces together: certificate source, HTTPS admission port, plain-HTTP health and
 * metrics port, configuration reload, and graceful shutdown. main.ts calls startServer; the
 * http tests call it in-process with their own review function, ports and timings.
 */
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { STATUS_CODES, type Server as HttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import { reviewAdmission } from '../admission/review';
import type { LoadedConfig, LoadOptions } from '../config/load';
import { PolicyHolder, restartOnlyChanges, watchConfig } from '../config/reload';
import type { FileWatch } from '../config/file-watch';
import { createAdmissionApp, recordTransportFailure, type Lifecycle } from './app';
import { createError, type ErrorCode } from '../errors';
import type { Socket } from 'node:net';
import { ConnectionTracker, IDLE_CLOSE_AFTER_MS } from './connections';
import { createHealthServer, type Readiness } from './health';
import { createLogger, withLogging, type Logger } from './logging';
import { createMetrics, withMetrics, type Metrics } from './metrics';
import { createImageUsersStep } from './image-identity';
import type { ReviewFn } from './pipeline';
import { startCertificateSource } from './certificate-source';
import type { CertificateSource, LoadedCertificate } from './tls';

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
  const delayMs = o.timing?.shutdownDelayMs ?? s.shutdownDelaySeconds * 1000;
  const graceMs = o.timing?.shutdownGraceMs ?? s.shutdownGraceSeconds * 1000;
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

  // HTTP/1.1 only (the API server speaks it to non-loopback webhooks), TLS 1.2 or later.
  // No certificate yet: handshakes fail until the source loads one, and /readyz says so.
  const tlsOptions = { minVersion: 'TLSv1.2' as const, ALPNProtocols: ['http/1.1'] };
  const https = createHttpsServer(
    {
      ...tlsOptions,
      requestTimeout: s.requestTimeoutSeconds * 1000,
      headersTimeout: s.headersTimeoutSeconds * 1000,
      // How often the two timeouts above are enforced (default 30 s would let a slowloris
      // client hold a socket for headersTimeout + 30 s).
      connectionsCheckingInterval: 1000,
    },
    app,
  );
  https.keepAliveTimeout = s.keepAliveTimeoutSeconds * 1000;
  const connections = new ConnectionTracker(https);
  https.on('tlsClientError', (err) => logger.debug({ err: err.message }, 'TLS handshake failed'));
  https.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) =>
    answerClientError(err, socket, metrics, logger),
  );

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

  let previousNotAfter: Date | undefined;
  const events = {
    onLoad(cert: LoadedCertificate) {
      https.setSecureContext({ ...tlsOptions, cert: cert.certPem, key: cert.keyPem });
      metrics.certificateReloads.inc({ result: 'success' });
      metrics.certificateNotAfter.set(cert.notAfter.getTime() / 1000);
      logger.info(
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
      metrics.certificateReloads.inc({ result: 'error' });
      logger.error(
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
  try {
    certificates = await startCertificateSource(
      config,
      events,
      logger,
      o.timing?.certPollIntervalMs ?? 10000,
    );
  } catch (err) {
    https.close();
    health.close();
    throw err;
  }

  let configWatch: FileWatch | undefined;
  if (o.loadOptions && o.loaded.file !== undefined) {
    configWatch = watchConfig({
      load: o.loadOptions,
      initial: o.loaded,
      pollIntervalMs: o.timing?.configPollIntervalMs ?? 5000,
      onReload: (next, previous) => {
        policy.update(next.config);
        logger.level = next.config.log.level;
        metrics.configReloads.inc({ result: 'success' });
        logger.info(
          {
            file: next.file,
            hardening: next.config.hardening,
            exceptions: next.config.exceptions,
            logLevel: next.config.log.level,
          },
          'configuration reloaded; the next review uses it',
        );
        const restartOnly = restartOnlyChanges(previous.config, next.config);
        if (restartOnly.length > 0)
          logger.warn({ keys: restartOnly }, 'these changed keys only take effect after a restart');
        for (const warning of next.warnings) logger.warn(warning);
      },
      onError: (errors) => {
        metrics.configReloads.inc({ result: 'error' });
        logger.error(
          { file: o.loaded.file, errors },
          'configuration file changed but is invalid; keeping the previous configuration',
        );
      },
      onWatchError: (dir, err) =>
        logger.warn(
          { dir, err: err.message },
          'cannot watch the configuration directory; polling only',
        ),
    });
  }

  let stopping: Promise<number> | undefined;
  const shutdown = (reason: string): Promise<number> => {
    stopping ??= (async () => {
      const started = Date.now();
      // From now on readiness fails (endpoints drop this pod) and every response carries
      // `Connection: close`: the API server keeps reusing its keep-alive connections to a
      // terminating pod (kubernetes #127335), so each one is closed after its next answer.
      lifecycle.draining = true;
      const closedIdle = connections.closeIdle(IDLE_CLOSE_AFTER_MS);
      logger.info(
        {
          reason,
          delayMs,
          graceMs,
          closedIdleConnections: closedIdle,
          openConnections: connections.size,
        },
        'shutting down: readiness fails now; still serving while endpoints drop this pod',
      );
      const sweep = setInterval(() => connections.closeIdle(IDLE_CLOSE_AFTER_MS), 250);
      let forced = false;
      await new Promise<void>((resolve) => {
        const deadline = setTimeout(() => {
          forced = true;
          logger.warn(
            { graceMs, openConnections: connections.size },
            'grace period over: closing the remaining connections',
          );
          connections.closeAll();
          resolve();
        }, graceMs);
        setTimeout(
          () => {
            // Stop accepting; the callback runs once every connection has closed. net's close,
            // not https.Server#close: the latter also calls closeIdleConnections(), which cuts
            // connections a client is sending on right now (see connections.ts).
            TlsServer.prototype.close.call(https, () => {
              clearTimeout(deadline);
              resolve();
            });
          },
          Math.min(delayMs, graceMs),
        );
      });
      clearInterval(sweep);
      configWatch?.close();
      certificates?.stop();
      health.closeAllConnections();
      await new Promise<void>((resolve) => health.close(() => resolve()));
      logger.info({ reason, elapsedMs: Date.now() - started, forced }, 'stopped');
      return forced ? 1 : 0;
    })();
    return stopping;
  };

  const port = (https.address() as AddressInfo).port;
  const metricsPort = (health.address() as AddressInfo).port;
  return { address, port, metricsPort, policy, metrics, logger, certificates, readiness, shutdown };
}

/** node:http's client errors, the transport failures that happen before express sees a request. */
const CLIENT_ERRORS: Readonly<Record<string, ErrorCode>> = {
  ERR_HTTP_REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
  HPE_HEADER_OVERFLOW: 'HEADERS_TOO_LARGE',
};

/**
 * A request that node:http gave up on (headers or body not in within their timeouts, or bytes
 * that are not HTTP): answered as node:http would by default, but in JSON with a code, counted
 * and logged. The socket is closed after it: what is left on it cannot be trusted.
 */
function answerClientError(
  err: NodeJS.ErrnoException,
  socket: Socket,
  metrics: Metrics,
  logger: Logger,
): void {
  // The client went away, or a response is already on the wire: nobody is left to answer.
  const answered =
    (socket as Socket & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent ===
    true;
  if (err.code === 'ECONNRESET' || !socket.writable || answered) {
    socket.destroy();
    return;
  }
  const code = CLIENT_ERRORS[err.code ?? ''];
  const failure = code !== undefined ? createError(code) : createError('BAD_HTTP', err.message);
  recordTransportFailure(metrics, logger, failure, { remoteAddress: socket.remoteAddress });
  const body = JSON.stringify({ error: { code: failure.code, message: failure.message } });
  const head =
    `HTTP/1.1 ${failure.status} ${STATUS_CODES[failure.status] ?? ''}\r\nContent-Type: application/json; charset=utf-8\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n`;
  socket.end(head + body, () => socket.destroy());
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

/**
 * SIGTERM (kubelet) or SIGINT (Ctrl-C): graceful shutdown, then `exit` with its code. A second
 * signal exits at once.
 */
export function handleSignals(
  target: NodeJS.EventEmitter,
  server: RunningServer,
  exit: (code: number) => void,
): void {
  let received = 0;
  const onSignal = (signal: string) => {
    received++;
    if (received === 1) {
      server.shutdown(signal).then(exit, (err: unknown) => {
        server.logger.error({ err }, 'shutdown failed');
        exit(1);
      });
    } else {
      server.logger.warn({ signal }, 'second signal: exiting now');
      exit(1);
    }
  };
  target.on('SIGTERM', () => onSignal('SIGTERM'));
  target.on('SIGINT', () => onSignal('SIGINT'));
}
