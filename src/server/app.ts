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
 *
 * Hot path (issue 6): a POST to exactly /mutate or /audit (query string allowed) is answered
 * before express's router, by the same handler the express routes use; express's routing,
 * request/response prototype swap and middleware chain cost as much CPU per review as the
 * hardening itself. Every other request (other spellings of the paths included) goes through
 * express as before.
 */
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { errorOutcome, type Mode } from '../admission/review';
import type { Policy } from '../engine/policy';
import { ErrorCodes } from '../names';
import type { Logger } from './logging';
import type { Metrics } from './metrics';
import { readJsonBody, type BodyResult } from './body';
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

/** The request listener of the HTTPS port: the admission hot path, then the express app. */
export function createAdmissionApp(o: AdmissionAppOptions): RequestListener {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag'); // hashing every response body buys nothing for a POST API
  app.set('json spaces', 0);

  let inFlight = 0;

  // node:http directly rather than res.status().type().send(): express's send looks up the MIME
  // type, re-parses the Content-Type it just set and checks freshness on every review (issue 6).
  const send = (res: ServerResponse, status: number, body: unknown) => {
    if (res.headersSent) return;
    // Decided when the answer goes out, not when the request came in: a review that arrived
    // before shutdown started but is answered after it must close its connection too.
    if (o.lifecycle.draining) res.setHeader('Connection', 'close');
    const text = JSON.stringify(body);
    res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  };

  // kubernetes #127335: the API server keeps reusing keep-alive connections to a terminating
  // pod; once shutdown starts, every response closes its connection.
  app.use((_req, res, next) => {
    if (o.lifecycle.draining) res.setHeader('Connection', 'close');
    next();
  });

  const admit = (req: IncomingMessage, res: ServerResponse, mode: Mode, path: string) => {
    if (o.lifecycle.draining) res.setHeader('Connection', 'close');
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

    // A body of another type. No body at all goes on: the review reports it as such.
    if (hasBody(req) && !isJson(req.headers['content-type'])) {
      const got = req.headers['content-type'];
      answer(new TransportFailure(415, ErrorCodes.badContentType, `Content-Type must be application/json, got ${got === undefined ? 'none' : JSON.stringify(got)}`));
      return;
    }
    readJsonBody(req, o.maxBodyBytes, (body) => {
      if (body.ok) {
        answer(body.value);
        return;
      }
      const failure = bodyFailure(body);
      // The rest of an oversized body is still on the socket: close rather than drain megabytes.
      if (failure.status === 413) res.setHeader('Connection', 'close');
      answer(failure);
    });
  };

  for (const [path, mode] of Object.entries(ADMISSION_PATHS)) {
    app.post(path, (req, res) => admit(req, res, mode, path));
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

  return (req, res) => {
    const path = req.method === 'POST' ? pathOf(req.url) : '';
    const mode = Object.hasOwn(ADMISSION_PATHS, path) ? ADMISSION_PATHS[path] : undefined;
    if (mode === undefined) {
      app(req, res);
      return;
    }
    try {
      admit(req, res, mode, path);
    } catch (err) {
      // What express's router would do with a throw: log it and answer 500, never crash.
      o.logger.error({ err, path: req.url }, 'unhandled error in the admission app');
      send(res, 500, { error: { code: ErrorCodes.internal, message: 'internal error' } });
    }
  };
}

/** The path of a request URL, without the query string (the API server appends `?timeout=10s`). */
function pathOf(url: string | undefined): string {
  const q = url?.indexOf('?') ?? -1;
  return q < 0 ? (url ?? '') : url!.slice(0, q);
}

/** type-is's test: a request has a body when it says how long it is or that it is chunked. */
function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || !Number.isNaN(Number.parseInt(req.headers['content-length'] ?? '', 10));
}

/** `application/json`, with parameters (`; charset=utf-8`) or not, any case. */
function isJson(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const semi = contentType.indexOf(';');
  return (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase() === 'application/json';
}

/** Why a body could not be read, to a status, a code and a message that says what to fix. */
function bodyFailure(failure: Extract<BodyResult, { ok: false }>): TransportFailure {
  switch (failure.kind) {
    case 'tooLarge':
      return new TransportFailure(413, ErrorCodes.bodyTooLarge, failure.message);
    case 'encoding':
      return new TransportFailure(415, ErrorCodes.badContentType, failure.message);
    default:
      return new TransportFailure(400, ErrorCodes.badJson, failure.message);
  }
}
