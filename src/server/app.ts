/**
 * The admission transport: the express app served on the HTTPS port. It owns the limits and the
 * reporting of failures that happen before a review (controller-runtime's webhook/http.go);
 * everything it answers goes through the review pipeline, so it is logged and counted.
 *
 *   request                                   HTTP  body
 *   POST /mutate, /audit, a review            200   AdmissionReview response (patch, warnings)
 *   body not JSON                             400   BAD_JSON, AdmissionReview-shaped error
 *   JSON but not an AdmissionReview, bad pod  400   NOT_ADMISSION_REVIEW / BAD_POD (uid if known)
 *   body over server.maxBodyBytes             413   BODY_TOO_LARGE (connection then closed)
 *   Content-Type not application/json        415   BAD_CONTENT_TYPE
 *   server.maxInFlight reviews in flight      503   OVERLOADED, at once: no queue that would eat
 *                                                   the API server's timeout; it applies the
 *                                                   webhook's failurePolicy instead
 *   exception inside a review                 500   INTERNAL, uid echoed; the server keeps serving
 *   other method on /mutate or /audit         405   NOT_FOUND-coded JSON, Allow: POST
 *   any other path                            404   NOT_FOUND JSON
 *
 * Only 200 is read by the API server; every other status counts as a failed call and follows
 * failurePolicy. No response is ever an HTML error page.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { errorOutcome, type Mode } from '../admission/review';
import type { Policy } from '../engine/policy';
import { ErrorCodes } from '../names';
import type { Logger } from './logging';
import type { Metrics } from './metrics';
import { TransportFailure, uidOf, type ReviewFn } from './pipeline';

export interface Lifecycle {
  /** Set when shutdown starts: every response then carries `Connection: close`. */
  draining: boolean;
}

export interface AdmissionAppOptions {
  /** The wrapped pipeline (logging, metrics, error boundary, transport failures). */
  review: ReviewFn;
  policy: { readonly current: Policy };
  maxInFlight: number;
  maxBodyBytes: number;
  metrics: Metrics;
  lifecycle: Lifecycle;
  logger: Logger;
}

export const ADMISSION_PATHS: Readonly<Record<string, Mode>> = { '/mutate': 'enforce', '/audit': 'audit' };

export function createAdmissionApp(o: AdmissionAppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag'); // hashing every response body buys nothing for a POST API
  app.set('json spaces', 0);

  let inFlight = 0;
  const parseJson = express.json({ limit: o.maxBodyBytes, strict: false, type: () => true });

  const send = (res: Response, status: number, body: unknown) => {
    if (res.headersSent) return;
    res.status(status).type('application/json').send(JSON.stringify(body));
  };

  // kubernetes #127335: the API server keeps reusing keep-alive connections to a terminating
  // pod; once shutdown starts, every response closes its connection.
  app.use((_req, res, next) => {
    if (o.lifecycle.draining) res.setHeader('Connection', 'close');
    next();
  });

  for (const [path, mode] of Object.entries(ADMISSION_PATHS)) {
    app.post(path, (req, res) => {
      const answer = (body: unknown) => {
        let outcome;
        try {
          outcome = o.review(body, mode, o.policy.current);
        } catch (err) {
          // Only reachable if a wrapper itself failed: answer without the pipeline.
          o.logger.error({ err, path }, 'review pipeline failed');
          outcome = errorOutcome(500, ErrorCodes.internal, `internal error: ${(err as Error)?.message ?? String(err)}`, mode, uidOf(body));
        }
        send(res, outcome.status, outcome.body);
      };

      if (inFlight >= o.maxInFlight) {
        answer(new TransportFailure(503, ErrorCodes.overloaded, `${o.maxInFlight} reviews already in flight (server.maxInFlight); refused at once so the API server applies failurePolicy instead of waiting for its timeout`));
        return;
      }
      inFlight++;
      o.metrics.inFlight.inc();
      res.once('close', () => {
        inFlight--;
        o.metrics.inFlight.dec();
      });

      // false: a body of another type. null: no body at all, which the review reports as such.
      if (req.is('application/json') === false) {
        const got = req.headers['content-type'];
        answer(new TransportFailure(415, ErrorCodes.badContentType, `Content-Type must be application/json, got ${got === undefined ? 'none' : JSON.stringify(got)}`));
        return;
      }
      parseJson(req, res, (err?: unknown) => {
        if (err === undefined || err === null) {
          answer(req.body);
          return;
        }
        const failure = bodyFailure(err as BodyError, o.maxBodyBytes);
        // The rest of an oversized body is still on the socket: close rather than drain megabytes.
        if (failure.status === 413) res.setHeader('Connection', 'close');
        answer(failure);
      });
    });
    app.all(path, (req, res) => {
      res.setHeader('Allow', 'POST');
      send(res, 405, { error: { code: ErrorCodes.notFound, message: `${req.method} ${path} is not supported; send the AdmissionReview with POST` } });
    });
  }

  app.use((req: Request, res: Response) => {
    send(res, 404, { error: { code: ErrorCodes.notFound, message: `no route for ${req.method} ${req.path}; admission endpoints are POST /mutate and POST /audit` } });
  });

  // Last resort for anything thrown outside a review (express would otherwise render HTML).
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    o.logger.error({ err, path: req.path }, 'unhandled error in the admission app');
    send(res, 500, { error: { code: ErrorCodes.internal, message: 'internal error' } });
  });
  return app;
}

interface BodyError {
  type?: string;
  message?: string;
  status?: number;
}

/** body-parser's error types, each to a status, a code and a message that says what to fix. */
function bodyFailure(err: BodyError, limit: number): TransportFailure {
  switch (err.type) {
    case 'entity.too.large':
      return new TransportFailure(413, ErrorCodes.bodyTooLarge, `request body is larger than ${limit} bytes (server.maxBodyBytes)`);
    case 'entity.parse.failed':
      return new TransportFailure(400, ErrorCodes.badJson, `request body is not valid JSON: ${err.message}`);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new TransportFailure(415, ErrorCodes.badContentType, err.message ?? 'unsupported encoding');
    default:
      return new TransportFailure(err.status && err.status >= 400 && err.status < 500 ? err.status : 400, ErrorCodes.badJson, `cannot read the request body: ${err.message}`);
  }
}
