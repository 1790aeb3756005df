/**
 * The second port, plain HTTP: probes and metrics. It carries no admission traffic, so a
 * kubelet or Prometheus needs no certificate to reach it, and the admission endpoints are never
 * reachable without TLS.
 *
 *   GET /healthz  200 while the process runs (liveness: restart only if this stops answering)
 *   GET /readyz   200 once a certificate is loaded and until shutdown starts, else 503 + reason
 *   GET /metrics  Prometheus text format
 */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import type { Logger } from './logging';

export interface Readiness {
  ready: boolean;
  reason: string;
}

export function createHealthServer(o: {
  registry: Registry;
  readiness: () => Readiness;
  logger: Logger;
}): Server {
  const server = createServer({ headersTimeout: 10000, requestTimeout: 30000 }, (req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const text = (status: number, body: string) => {
      res.writeHead(status, {
        'Content-Type': 'text/plain; charset=utf-8',
        'Cache-Control': 'no-store',
      });
      res.end(req.method === 'HEAD' ? undefined : `${body}\n`);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      text(405, `${req.method} not allowed`);
      return;
    }
    switch (path) {
      case '/healthz':
        text(200, 'ok');
        return;
      case '/readyz': {
        const r = o.readiness();
        text(r.ready ? 200 : 503, r.ready ? 'ok' : `not ready: ${r.reason}`);
        return;
      }
      case '/metrics':
        o.registry.metrics().then(
          (body) => {
            res.writeHead(200, { 'Content-Type': o.registry.contentType });
            res.end(req.method === 'HEAD' ? undefined : body);
          },
          (err: unknown) => {
            o.logger.error({ err }, 'collecting metrics failed');
            text(500, 'collecting metrics failed');
          },
        );
        return;
      default:
        text(404, `not found: ${path}; try /healthz, /readyz, /metrics`);
    }
  });
  server.keepAliveTimeout = 65000;
  return server;
}
