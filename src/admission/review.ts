import { harden } from '../engine/harden';
import { InvalidPodError } from '../engine/pod-shape';
import type { Policy } from '../engine/policy';
import type { HardenScope, Pod } from '../engine/types';
import { ADMISSION_API_VERSION, ADMISSION_KIND, ErrorCodes, type ErrorCode } from '../names';
import { decodeReview, InvalidReviewError, type AdmissionRequest } from './decode';
import { createPatch, UnsafePatchError } from './patch';
import { auditAnnotationsFor, warningsFor } from './report';
import type { Decision, Mode, ReviewOutcome, ReviewRecord } from './types';

export type { Decision, Mode, ReviewOutcome, ReviewRecord } from './types';

/*
 * What each outcome looks like on the wire (the API server only reads a 200 response; any other
 * status counts as failing to call the webhook and follows the configuration's failurePolicy):
 *
 *   outcome                                   HTTP  response
 *   pod hardened                              200   allowed, patchType JSONPatch, patch, warnings
 *   nothing to change, skipped, audit mode    200   allowed, no patch, warnings
 *   not a pod, or an UPDATE other than        200   allowed, no patch
 *     pods/ephemeralcontainers
 *   body not an AdmissionReview / bad pod     400   AdmissionReview with status message (uid if known)
 *   body over the limit                       413   (transport, server/)
 *   wrong content type                        415   (transport, server/)
 *   too many reviews in flight                503   (transport, server/)
 *   internal error, unsafe patch              500   AdmissionReview with uid and status message
 */

const RESOURCE_PODS = 'pods';
const SUBRESOURCE_EPHEMERAL = 'ephemeralcontainers';

function scopeOf(request: AdmissionRequest): HardenScope | undefined {
  const sub = request.subResource ?? '';
  if (request.operation === 'CREATE' && sub === '') return { kind: 'create' };
  if (request.operation === 'UPDATE' && sub === SUBRESOURCE_EPHEMERAL) {
    const old = (request.oldObject as Pod | undefined)?.spec?.ephemeralContainers;
    const existing = new Set(Array.isArray(old) ? old.map((c) => c?.name).filter((n): n is string => typeof n === 'string') : []);
    return { kind: 'ephemeral', existingEphemeral: existing };
  }
  return undefined;
}

function isPodRequest(request: AdmissionRequest): boolean {
  return (request.kind?.kind ?? '') === 'Pod' && (request.kind?.group ?? '') === '' && (request.resource?.resource ?? '') === RESOURCE_PODS;
}

function podName(request: AdmissionRequest): string | undefined {
  const meta = (request.object as Pod | undefined)?.metadata;
  const name = request.name || meta?.name || meta?.generateName;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

function reviewBody(response: Record<string, unknown>): unknown {
  return { apiVersion: ADMISSION_API_VERSION, kind: ADMISSION_KIND, response };
}

const REASONS: Record<number, string> = {
  400: 'BadRequest', 413: 'RequestEntityTooLarge', 415: 'UnsupportedMediaType', 429: 'TooManyRequests',
  500: 'InternalError', 503: 'ServiceUnavailable',
};

/** A failure answered with an AdmissionReview that carries the uid when known, and says why. */
export function errorOutcome(status: number, code: ErrorCode, message: string, mode: Mode, uid?: string): ReviewOutcome {
  const response: Record<string, unknown> = {
    uid: uid ?? '',
    allowed: false,
    status: { status: 'Failure', code: status, reason: REASONS[status] ?? 'InternalError', message: `pod-hardener ${code}: ${message}` },
  };
  const decision: Decision = status >= 500 ? 'error' : 'invalid';
  return { status, body: reviewBody(response), record: { uid, mode, decision, changes: [], notices: [], errorCode: code, error: message } };
}

/**
 * One AdmissionReview in, the HTTP status and body out. Never throws: every failure becomes an
 * outcome that still echoes the uid when it could be read.
 */
export function reviewAdmission(body: unknown, mode: Mode, policy: Policy): ReviewOutcome {
  let request: AdmissionRequest;
  try {
    request = decodeReview(body);
  } catch (err) {
    if (err instanceof InvalidReviewError) return errorOutcome(400, ErrorCodes.notAdmissionReview, err.message, mode, err.uid);
    return errorOutcome(500, ErrorCodes.internal, String(err), mode);
  }

  const record: ReviewRecord = {
    uid: request.uid,
    namespace: request.namespace || undefined,
    pod: undefined,
    operation: request.operation,
    mode,
    decision: 'ignored',
    changes: [],
    notices: [],
  };
  const allow = (extra: Record<string, unknown> = {}): ReviewOutcome => ({
    status: 200,
    body: reviewBody({ uid: request.uid, allowed: true, ...extra }),
    record,
  });

  try {
    const scope = isPodRequest(request) ? scopeOf(request) : undefined;
    if (!scope) return allow();
    record.pod = podName(request);
    const object = request.object;
    const namespace = request.namespace || ((object as Pod | undefined)?.metadata?.namespace as string | undefined) || '';
    const result = harden(object, policy, { scope, namespace });
    record.changes = result.changes;
    record.notices = result.notices;
    record.decision = result.skipped ? 'skipped' : result.changes.length > 0 && mode === 'enforce' ? 'patched' : 'unchanged';

    const extra: Record<string, unknown> = {};
    if (record.decision === 'patched') {
      const patch = createPatch(object, result.pod);
      if (patch.length > 0) {
        extra.patchType = 'JSONPatch';
        extra.patch = Buffer.from(JSON.stringify(patch)).toString('base64');
      } else {
        record.decision = 'unchanged';
      }
    }
    const warnings = warningsFor(mode, result.changes, result.notices);
    if (warnings.length > 0) extra.warnings = warnings;
    extra.auditAnnotations = auditAnnotationsFor(mode, record.decision, result.summary, result.notices);
    return allow(extra);
  } catch (err) {
    const fail = (status: number, code: ErrorCode, message: string): ReviewOutcome => {
      const outcome = errorOutcome(status, code, message, mode, request.uid);
      outcome.record = { ...record, ...outcome.record, changes: record.changes, notices: record.notices };
      return outcome;
    };
    if (err instanceof InvalidPodError) return fail(400, ErrorCodes.badPod, `request.object is not a valid Pod: ${err.message}`);
    if (err instanceof UnsafePatchError) return fail(500, ErrorCodes.unsafePatch, err.message);
    return fail(500, ErrorCodes.internal, err instanceof Error ? err.message : String(err));
  }
}
