/**
 * The admission transport: the express app served on the HTTPS port, and the only dispatcher of
 * its requests. It owns the limits and answers, logs and counts every failure that happens
 * before a review (controller-runtime's webhook/http.go and its instrumented handler); the
 * review function only ever sees a parsed JSON body.
 *
 *   request                                   HTTP  body (code)
 *   POST /mutate, /audit, a review            200   AdmissionReview response (patch, warnings)
 *   JSON but not an AdmissionReview, bad pod  400   AdmissionReview error, uid if known (review)
 *   exception inside a review                 500   AdmissionReview error, uid echoed (review)
 *   empty body                                400   EMPTY_BODY
 *   body not JSON                             400   BAD_JSON
 *   body over server.maxBodyBytes             413   BODY_TOO_LARGE, connection then closed
 *   Content-Type not application/json         415   BAD_CONTENT_TYPE
 *   Content-Encoding other than identity      415   BAD_CONTENT_ENCODING
 *   server.maxInFlight reviews in flight      503   OVERLOADED, at once: no queue that would eat
 *                                                   the API server's timeout; it applies the
 *                                                   webhook's failurePolicy instead
 *   headers or body not in within timeouts    408   REQUEST_TIMEOUT (server.ts), connection closed
 *   not HTTP, or headers too large            400   BAD_HTTP / 431 HEADERS_TOO_LARGE (server.ts)
 *   other method on /mutate or /audit         405   METHOD_NOT_ALLOWED, Allow: POST
 *   any other path                            404   NOT_FOUND
 *   a fault in the transport itself           500   INTERNAL; the server keeps serving
 *
 * A POST to an admission path gets every failure as an AdmissionReview-shaped answer (the API
 * server logs its message); anything else `{"error":{"code","message"}}`. Never an HTML error page. The status
 * and message of each code come from one table, src/errors.ts.
 */
import { IncomingMessage, ServerResponse, type RequestListener } from 'node:http';
import express, {
  type ErrorRequestHandler,
  type Express,
  type NextFunction,
  type RequestHandler,
} from 'express';
import { errorReviewBody, type Mode } from '../admission/review';
import type { Policy } from '../engine/policy';
import type { ImageUser } from '../engine/types';
import { asPodHardenerError, createError, PodHardenerError } from '../errors';
import type { Logger } from './logging';
import type { Metrics } from './metrics';
import { readJsonBody } from './body';
import type { ReviewFn } from './pipeline';
import type { ImageUsersStep } from './image-identity';

export interface Lifecycle {
  /** Set when shutdown starts: every response then carries `Connection: close`. */
  draining: boolean;
}

export interface AdmissionAppOptions {
  /** The wrapped review function (logging, metrics). */
  review: ReviewFn;
  policy: { readonly current: Policy };
  maxInFlight: number;
  maxBodyBytes: number;
  metrics: Metrics;
  lifecycle: Lifecycle;
  logger: Logger;
  /** Image identity, when on: the images' users, looked up before the review (image-identity.ts). */
  imageUsers?: ImageUsersStep;
}

export const ADMISSION_PATHS: Readonly<Record<string, Mode>> = {
  '/mutate': 'enforce',
  '/audit': 'audit',
};

/** A response the transport sends: JSON, with the connection closed when it must be. */
export interface Answer {
  (res: ServerResponse, status: number, body: unknown): void;
}

/**
 * The one place a response of the admission port gets its headers. `Connection: close` is
 * decided here, when the answer goes out rather than when the request came in: once shutdown
 * starts, the API server keeps reusing its keep-alive connections to a terminating pod
 * (kubernetes/kubernetes#127335), so every answer then closes its connection, a review that
 * arrived before shutdown included; and after a 413 the rest of the oversized body is still on
 * the socket, so closing beats draining megabytes.
 *
 * node:http's writeHead rather than express's res.send: send looks up the MIME type, re-parses
 * the Content-Type it just set and checks freshness, on every review, for a POST API that needs
 * none of it.
 */
export function answerWith(lifecycle: Lifecycle): Answer {
  return (res, status, body) => {
    if (res.headersSent) return;
    const text = JSON.stringify(body);
    const headers: Record<string, string | number> = {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(text),
    };
    if (lifecycle.draining || status === 413) headers.Connection = 'close';
    res.writeHead(status, headers);
    res.end(text);
  };
}

/** Counts and logs a request the transport answered without a review: by status and code. */
export function recordTransportFailure(
  metrics: Metrics,
  logger: Logger,
  err: PodHardenerError,
  fields: Record<string, unknown>,
): void {
  metrics.transportFailures.inc({ status: String(err.status), code: err.code });
  if (err.code === 'OVERLOADED') metrics.rejectedOverload.inc();
  const level = err.status >= 500 && err.status !== 503 ? 'error' : 'warn';
  logger[level](
    { ...fields, status: err.status, errorCode: err.code, error: err.message },
    'request refused',
  );
}

/**
 * The request listener of the HTTPS port: the express app, called as a middleware with a last
 * callback of its own. Called without one, express builds a finalhandler for every request, an
 * HTML error page generator that the error boundary below never lets it use.
 */
export function createAdmissionApp(o: AdmissionAppOptions): RequestListener {
  // Typed as node:http's: the app keeps node's prototypes (below).
  const app = createExpressApp(o) as unknown as (
    req: IncomingMessage,
    res: ServerResponse,
    done: (err?: unknown) => void,
  ) => void;
  return (req, res) =>
    app(req, res, (err?: unknown) => {
      // Only reachable when the error boundary itself threw: no answer can be built any more.
      o.logger.error({ err, path: pathOf(req.url) }, 'the admission app could not answer');
      res.destroy();
    });
}

function createExpressApp(o: AdmissionAppOptions): Express {
  const app = express();
  // What express does by default and a POST API answered with JSON does not need: hashing every
  // body for an ETag, advertising itself, parsing query strings (the API server's `?timeout=10s`
  // is never read). No body parser is mounted: the body is read once, by body.ts.
  app.disable('x-powered-by');
  app.disable('etag');
  app.set('query parser', false);
  // express swaps the prototypes of every request and response to its own (req.get, res.send and
  // the like, none used here); the swap throws away V8's optimizations for both objects, and
  // node:http then handles them slowly for the rest of the request: measured, that alone cost
  // as much CPU per review as the review. With node's own prototypes the swap is a no-op; the
  // handlers below get node:http's request and response, as the types say.
  app.request = IncomingMessage.prototype as unknown as Express['request'];
  app.response = ServerResponse.prototype as unknown as Express['response'];

  const answer = answerWith(o.lifecycle);
  let inFlight = 0;

  for (const [path, mode] of Object.entries(ADMISSION_PATHS)) {
    app.post(
      path,
      node((req, res, next) => {
        if (inFlight >= o.maxInFlight) throw createError('OVERLOADED', o.maxInFlight);
        inFlight++;
        o.metrics.inFlight.inc();
        res.once('close', () => {
          inFlight--;
          o.metrics.inFlight.dec();
        });
        // A body of another type. No body at all is read, and answered as empty.
        if (hasBody(req) && !isJson(req.headers['content-type'])) {
          const got = req.headers['content-type'];
          throw createError('BAD_CONTENT_TYPE', got === undefined ? 'none' : JSON.stringify(got));
        }
        const run = (body: unknown, imageUsers?: ReadonlyMap<string, ImageUser>) => {
          let outcome;
          try {
            outcome = o.review(body, mode, o.policy.current, imageUsers);
          } catch (thrown) {
            // Not a boundary: this callback runs outside express's reach, so a throw is handed to
            // the one below (a review function never throws; a bug in one must not end the process).
            return next(thrown);
          }
          answer(res, outcome.status, outcome.body);
        };
        readJsonBody(req, o.maxBodyBytes, (err, body) => {
          if (err) return next(err);
          // Synchronous unless image identity has images to ask a registry about (it never
          // rejects; a bug that made it would still be answered by the boundary below).
          const lookup = o.imageUsers?.(body);
          if (lookup instanceof Promise) lookup.then((users) => run(body, users), next);
          else run(body, lookup);
        });
      }),
    );
    app.all(
      path,
      node((req, res) => {
        res.setHeader('Allow', 'POST');
        throw createError('METHOD_NOT_ALLOWED', req.method, path);
      }),
    );
  }

  app.use(
    node((req) => {
      throw createError('NOT_FOUND', req.method, pathOf(req.url));
    }),
  );

  // The transport's error boundary: express hands it every failure thrown or rejected above.
  const boundary = (
    thrown: unknown,
    req: IncomingMessage,
    res: ServerResponse,
    _next: NextFunction,
  ) => {
    const path = pathOf(req.url);
    const err = asPodHardenerError(thrown);
    const fields: Record<string, unknown> = { method: req.method, path };
    if (!(thrown instanceof PodHardenerError)) fields.err = thrown; // a fault: log it whole, stack included
    recordTransportFailure(o.metrics, o.logger, err, fields);
    const review =
      req.method === 'POST' &&
      Object.hasOwn(ADMISSION_PATHS, path.toLowerCase().replace(/\/$/, ''));
    answer(
      res,
      err.status,
      review ? errorReviewBody(err) : { error: { code: err.code, message: err.message } },
    );
  };
  app.use(boundary as unknown as ErrorRequestHandler);

  return app;
}

/** A handler of node:http's request and response (the app keeps node's prototypes, above). */
function node(
  handler: (req: IncomingMessage, res: ServerResponse, next: NextFunction) => unknown,
): RequestHandler {
  return handler;
}

/** The path of a request URL, without the query string (the API server appends `?timeout=10s`). */
function pathOf(url: string | undefined): string {
  const q = url?.indexOf('?') ?? -1;
  return q < 0 ? (url ?? '') : url!.slice(0, q);
}

/** type-is's test: a request has a body when it says how long it is or that it is chunked. */
function hasBody(req: IncomingMessage): boolean {
  return (
    req.headers['transfer-encoding'] !== undefined ||
    !Number.isNaN(Number.parseInt(req.headers['content-length'] ?? '', 10))
  );
}

/** `application/json`, with parameters (`; charset=utf-8`) or not, any case. */
function isJson(contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const semi = contentType.indexOf(';');
  return (
    (semi < 0 ? contentType : contentType.slice(0, semi)).trim().toLowerCase() ===
    'application/json'
  );
}
