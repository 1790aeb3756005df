/**
 * The review function and the wrappers that the transport composes around it:
 *
 *   withLogging(withMetrics(withErrorBoundary(withTransportFailures(reviewAdmission))))
 *
 * Every answer the admission port gives, a transport failure (415, 413, 400 bad JSON, 503
 * overload) or a thrown exception included, comes out of this one function, so logging and
 * metrics see all of them without the transport calling either (kubewebhook's
 * NewMeasuredWebhook, Kyverno's handler decorators).
 */
import { errorOutcome, type Mode, type ReviewOutcome } from '../admission/review';
import type { Policy } from '../engine/policy';
import { ErrorCodes, type ErrorCode } from '../names';

export type ReviewFn = (body: unknown, mode: Mode, policy: Policy) => ReviewOutcome;

/**
 * Passed as the body when the transport already knows the answer (the body could not be read or
 * parsed, or the server is overloaded), so that answer flows through the same wrappers.
 */
export class TransportFailure {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    readonly message: string,
  ) {}
}

export function withTransportFailures(review: ReviewFn): ReviewFn {
  return (body, mode, policy) =>
    body instanceof TransportFailure ? errorOutcome(body.status, body.code, body.message, mode) : review(body, mode, policy);
}

/**
 * An exception in one review becomes a 500 for that review only, echoing the uid when the body
 * has one (controller-runtime turns a handler panic into an errored response the same way).
 */
export function withErrorBoundary(review: ReviewFn): ReviewFn {
  return (body, mode, policy) => {
    try {
      return review(body, mode, policy);
    } catch (err) {
      const message = `internal error: ${err instanceof Error ? err.message : String(err)}`;
      return errorOutcome(500, ErrorCodes.internal, message, mode, uidOf(body));
    }
  };
}

/** `request.uid` of an AdmissionReview-like body, when it is a string. */
export function uidOf(body: unknown): string | undefined {
  const request = (body as { request?: unknown } | null | undefined)?.request;
  const uid = (request as { uid?: unknown } | null | undefined)?.uid;
  return typeof uid === 'string' && uid !== '' ? uid : undefined;
}
