/**
 * Every error pod-hardener answers with, defined once: its code, its HTTP status and its message
 * (fastify's lib/errors.js). Responses, logs and metrics carry the code; nothing else chooses a
 * status or spells a message. `%s` in a message is filled, in order, by the arguments given to
 * `createError`.
 *
 * Only a 200 is read by the API server; every other status counts as a failed webhook call and
 * follows the webhook's failurePolicy, so each message says what to fix.
 */
export const ERRORS = {
  // The transport (server/): answered before any review, counted by status and code.
  NOT_FOUND: {
    layer: 'transport',
    status: 404,
    message: 'no route for %s %s; admission endpoints are POST /mutate and POST /audit',
  },
  METHOD_NOT_ALLOWED: {
    layer: 'transport',
    status: 405,
    message: '%s %s is not supported; send the AdmissionReview with POST',
  },
  BAD_HTTP: { layer: 'transport', status: 400, message: 'the request is not valid HTTP/1.1: %s' },
  HEADERS_TOO_LARGE: {
    layer: 'transport',
    status: 431,
    message: 'the request headers are larger than the server accepts',
  },
  EMPTY_BODY: {
    layer: 'transport',
    status: 400,
    message: 'request body is empty; expected an AdmissionReview',
  },
  BAD_JSON: { layer: 'transport', status: 400, message: 'request body is not valid JSON: %s' },
  BAD_CONTENT_TYPE: {
    layer: 'transport',
    status: 415,
    message: 'Content-Type must be application/json, got %s',
  },
  BAD_CONTENT_ENCODING: {
    layer: 'transport',
    status: 415,
    message: 'Content-Encoding %s is not supported; send the AdmissionReview uncompressed',
  },
  BODY_TOO_LARGE: {
    layer: 'transport',
    status: 413,
    message: 'request body is larger than %s bytes (server.maxBodyBytes)',
  },
  REQUEST_TIMEOUT: {
    layer: 'transport',
    status: 408,
    message:
      'the request was not received in time (server.headersTimeoutSeconds for its headers, server.requestTimeoutSeconds for all of it)',
  },
  // Refused at once rather than queued: a queue would eat the API server's timeout, while a 503
  // makes it apply failurePolicy now.
  OVERLOADED: {
    layer: 'transport',
    status: 503,
    message:
      '%s reviews already in flight (server.maxInFlight); refused at once so the API server applies failurePolicy instead of waiting for its timeout',
  },
  // The review (admission/review.ts): the body was JSON. Counted as reviews, by decision and code.
  NOT_ADMISSION_REVIEW: { layer: 'review', status: 400, message: '%s' },
  BAD_POD: { layer: 'review', status: 400, message: 'request.object is not a valid Pod: %s' },
  UNSAFE_PATCH: { layer: 'review', status: 500, message: '%s' },
  // Also the transport's answer to a fault of its own: whatever threw, the server keeps serving.
  INTERNAL: { layer: 'review', status: 500, message: 'internal error: %s' },
} as const satisfies Record<
  string,
  { layer: 'transport' | 'review'; status: number; message: string }
>;

export type ErrorCode = keyof typeof ERRORS;

/** The codes the transport answers with, each a series of the transport failure metric. */
export const TRANSPORT_ERRORS = (Object.keys(ERRORS) as ErrorCode[]).filter(
  (code) => ERRORS[code].layer === 'transport',
);

/** The code constants, for call sites and tests (`ErrorCodes.BAD_JSON === 'BAD_JSON'`). */
export const ErrorCodes = Object.freeze(
  Object.fromEntries(Object.keys(ERRORS).map((code) => [code, code])),
) as {
  readonly [C in ErrorCode]: C;
};

/** The reason phrase of each status, as Kubernetes' metav1.Status spells it. */
const REASONS: Readonly<Record<number, string>> = {
  400: 'BadRequest',
  404: 'NotFound',
  405: 'MethodNotAllowed',
  408: 'Timeout',
  413: 'RequestEntityTooLarge',
  415: 'UnsupportedMediaType',
  431: 'RequestHeaderFieldsTooLarge',
  500: 'InternalError',
  503: 'ServiceUnavailable',
};

export function reasonOf(status: number): string {
  return REASONS[status] ?? 'InternalError';
}

/** An error with a code from the table; `uid` when the failing request's uid was readable. */
export class PodHardenerError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly uid?: string,
  ) {
    super(message);
    this.name = 'PodHardenerError';
    this.status = ERRORS[code].status;
  }

  /** The same error, for the request with this uid. */
  withUid(uid: string | undefined): PodHardenerError {
    return uid === this.uid ? this : new PodHardenerError(this.code, this.message, uid);
  }
}

export function createError(code: ErrorCode, ...args: readonly unknown[]): PodHardenerError {
  let i = 0;
  const message = ERRORS[code].message.replace(/%s/g, () => String(args[i++]));
  return new PodHardenerError(code, message);
}

/** Any thrown value as an error of the table: a PodHardenerError as it is, anything else INTERNAL. */
export function asPodHardenerError(err: unknown): PodHardenerError {
  if (err instanceof PodHardenerError) return err;
  return createError('INTERNAL', err instanceof Error ? err.message : String(err));
}
