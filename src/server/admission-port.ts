/**
 * The admission port: HTTPS for the API server, with the timeouts that bound a slow client, the
 * connection tracking that graceful shutdown needs, and node:http's client errors answered in
 * JSON. It has no certificate until the certificate source loads one (setSecureContext).
 */
import type { RequestListener } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { Socket } from 'node:net';
import type { TlsOptions } from 'node:tls';
import type { Config } from '../config/schema';
import { answerClientError } from './client-errors';
import { ConnectionTracker } from './connections';
import type { Logger } from './logging';
import type { Metrics } from './metrics';

export interface AdmissionPortOptions {
  app: RequestListener;
  server: Config['server'];
  metrics: Metrics;
  logger: Logger;
}

export interface AdmissionPort {
  https: Server;
  connections: ConnectionTracker;
  /** The TLS options every certificate's context keeps. */
  tlsOptions: TlsOptions;
}

export function createAdmissionPort(o: AdmissionPortOptions): AdmissionPort {
  const s = o.server;
  const { logger, metrics } = o;
  // HTTP/1.1 only (the API server speaks it to non-loopback webhooks), TLS 1.2 or later.
  // No certificate yet: handshakes fail until the source loads one, and /readyz says so.
  const tlsOptions = { minVersion: 'TLSv1.2' as const, ALPNProtocols: ['http/1.1'] };
  const https = createServer(
    {
      ...tlsOptions,
      requestTimeout: s.requestTimeoutSeconds * 1000,
      headersTimeout: s.headersTimeoutSeconds * 1000,
      // How often the two timeouts above are enforced (default 30 s would let a slowloris
      // client hold a socket for headersTimeout + 30 s).
      connectionsCheckingInterval: 1000,
    },
    o.app,
  );
  https.keepAliveTimeout = s.keepAliveTimeoutSeconds * 1000;
  const connections = new ConnectionTracker(https);
  https.on('tlsClientError', (err) => logger.debug({ err: err.message }, 'TLS handshake failed'));
  https.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) =>
    answerClientError(err, socket, metrics, logger),
  );

  return { https, connections, tlsOptions };
}
