import { ADMISSION_API_VERSION, ADMISSION_KIND } from '../names';
import { isJsonObject as isObject } from '../engine/json';
import { PodHardenerError } from '../errors';

/** The parts of an AdmissionRequest (admission.k8s.io/v1) that pod-hardener reads. */
export interface AdmissionRequest {
  uid: string;
  kind?: { group?: string; version?: string; kind?: string };
  resource?: { group?: string; version?: string; resource?: string };
  subResource?: string;
  operation?: string;
  namespace?: string;
  name?: string;
  object?: unknown;
  oldObject?: unknown;
  dryRun?: boolean;
}

/** The body is not an AdmissionReview we can answer: HTTP 400, with the uid when it was readable. */
export class InvalidReviewError extends PodHardenerError {
  constructor(message: string, uid?: string) {
    super('NOT_ADMISSION_REVIEW', message, uid);
    this.name = 'InvalidReviewError';
  }
}

const optionalString = (v: unknown) => v === undefined || v === null || typeof v === 'string';

/**
 * Checks the envelope only, by hand: a schema library over the whole review would walk the
 * whole pod on every request, a cost paid on every pod creation in the cluster, and the pod's own shape is checked by the
 * engine for exactly the fields it uses.
 */
export function decodeReview(body: unknown): AdmissionRequest {
  if (!isObject(body))
    throw new InvalidReviewError('body is not a JSON object; expected an AdmissionReview');
  if (body.apiVersion !== ADMISSION_API_VERSION || body.kind !== ADMISSION_KIND) {
    throw new InvalidReviewError(
      `expected apiVersion ${ADMISSION_API_VERSION} and kind ${ADMISSION_KIND}, got apiVersion ${JSON.stringify(body.apiVersion)} and kind ${JSON.stringify(body.kind)}`,
    );
  }
  const request = body.request;
  if (!isObject(request)) throw new InvalidReviewError('AdmissionReview has no request object');
  if (typeof request.uid !== 'string' || request.uid === '') {
    throw new InvalidReviewError('request.uid must be a non-empty string');
  }
  const uid = request.uid;
  for (const key of ['subResource', 'operation', 'namespace', 'name'] as const) {
    if (!optionalString(request[key]))
      throw new InvalidReviewError(`request.${key} must be a string`, uid);
  }
  for (const key of ['kind', 'resource'] as const) {
    if (request[key] !== undefined && request[key] !== null && !isObject(request[key])) {
      throw new InvalidReviewError(`request.${key} must be an object`, uid);
    }
  }
  return request as unknown as AdmissionRequest;
}
