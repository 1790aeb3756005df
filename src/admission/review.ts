import { hardenPod } from '../engine/harden-pod';
import type { Policy } from '../engine/policy';
import type { HardenScope, ImageUser, Pod } from '../engine/types';
import { asPodHardenerError, reasonOf, type PodHardenerError } from '../errors';
import { ADMISSION_API_VERSION, ADMISSION_KIND } from '../names';
import { decodeReview, type AdmissionRequest } from './decode';
import { auditAnnotationsFor, warningsFor } from './report';
import type { Decision, Mode, ReviewOutcome, ReviewRecord } from './types';

export type { Decision, Mode, ReviewOutcome, ReviewRecord } from './types';

/*
 * What each outcome of a review looks like on the wire (the API server only reads a 200
 * response; any other status counts as failing to call the webhook and follows the
 * configuration's failurePolicy). Failures before a review (body, content type, overload) are
 * the transport's: server/app.ts has their table.
 *
 *   outcome                                   HTTP  response
 *   pod hardened                              200   allowed, patchType JSONPatch, patch, warnings
 *   audit mode, enforce would patch           200   allowed, no patch, warnings (wouldPatch)
 *   nothing to change, skipped                200   allowed, no patch, warnings
 *   not a pod, or an UPDATE other than        200   allowed, no patch
 *     pods/ephemeralcontainers
 *   JSON that is not an AdmissionReview       400   NOT_ADMISSION_REVIEW (uid if known)
 *   request.object not a valid pod            400   BAD_POD, uid
 *   unsafe patch (a bug, never sent)          500   UNSAFE_PATCH, uid
 *   any other exception                       500   INTERNAL, uid
 */

const RESOURCE_PODS = 'pods';
const SUBRESOURCE_EPHEMERAL = 'ephemeralcontainers';

function scopeOf(request: AdmissionRequest): HardenScope | undefined {
  const sub = request.subResource ?? '';
  if (request.operation === 'CREATE' && sub === '') return { kind: 'create' };
  if (request.operation === 'UPDATE' && sub === SUBRESOURCE_EPHEMERAL) {
    const old = (request.oldObject as Pod | undefined)?.spec?.ephemeralContainers;
    const existing = new Set(
      Array.isArray(old)
        ? old.map((c) => c?.name).filter((n): n is string => typeof n === 'string')
        : [],
    );
    return { kind: 'ephemeral', existingEphemeral: existing };
  }
  return undefined;
}

function isPodRequest(request: AdmissionRequest): boolean {
  return (
    (request.kind?.kind ?? '') === 'Pod' &&
    (request.kind?.group ?? '') === '' &&
    (request.resource?.resource ?? '') === RESOURCE_PODS
  );
}

function podName(request: AdmissionRequest): string | undefined {
  const meta = (request.object as Pod | undefined)?.metadata;
  const name = request.name || meta?.name || meta?.generateName;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

/**
 * `Kind/name` of the pod's controller (the ownerReference with `controller: true`; at most one
 * exists): a Deployment's pods are all named by their ReplicaSet, so logs can be grepped across
 * replicas by it, when the pod's own name is still a generateName prefix.
 */
function ownerOf(object: unknown): string | undefined {
  const refs = (object as Pod | undefined)?.metadata?.ownerReferences;
  if (!Array.isArray(refs)) return undefined;
  for (const ref of refs as unknown[]) {
    const r = ref as { controller?: unknown; kind?: unknown; name?: unknown } | null;
    if (r?.controller === true && typeof r.kind === 'string' && typeof r.name === 'string')
      return `${r.kind}/${r.name}`;
  }
  return undefined;
}

function reviewBody(response: Record<string, unknown>): unknown {
  return { apiVersion: ADMISSION_API_VERSION, kind: ADMISSION_KIND, response };
}

/** The AdmissionReview that answers a failure: the uid when known, and why, as a metav1.Status. */
export function errorReviewBody(err: PodHardenerError): unknown {
  return reviewBody({
    uid: err.uid ?? '',
    allowed: false,
    status: {
      status: 'Failure',
      code: err.status,
      reason: reasonOf(err.status),
      message: `pod-hardener ${err.code}: ${err.message}`,
    },
  });
}

/**
 * One AdmissionReview (parsed JSON) in, the HTTP status and body out. Never throws: this is the
 * review's one error boundary, where anything thrown inside it becomes an answer that still
 * echoes the uid when it could be read (controller-runtime turns a handler panic into an
 * errored response the same way). The offline tool relies on it too.
 */
export function reviewAdmission(
  body: unknown,
  mode: Mode,
  policy: Policy,
  imageUsers?: ReadonlyMap<string, ImageUser>,
): ReviewOutcome {
  const record: ReviewRecord = { mode, decision: 'ignored', changes: [], notices: [] };
  try {
    return review(body, policy, record, imageUsers);
  } catch (thrown) {
    const err = asPodHardenerError(thrown).withUid(record.uid);
    const decision: Decision = err.status >= 500 ? 'error' : 'invalid';
    return {
      status: err.status,
      body: errorReviewBody(err),
      record: { ...record, decision, errorCode: err.code, error: err.message },
    };
  }
}

/** The review proper; fills `record` as it learns, so a failure halfway still reports what was known. */
function review(
  body: unknown,
  policy: Policy,
  record: ReviewRecord,
  imageUsers: ReadonlyMap<string, ImageUser> | undefined,
): ReviewOutcome {
  const request = decodeReview(body);
  record.uid = request.uid;
  record.namespace = request.namespace || undefined;
  record.operation = request.operation;
  const allow = (extra: Record<string, unknown> = {}): ReviewOutcome => ({
    status: 200,
    body: reviewBody({ uid: request.uid, allowed: true, ...extra }),
    record,
  });

  const scope = isPodRequest(request) ? scopeOf(request) : undefined;
  if (!scope) return allow();
  const object = request.object;
  record.pod = podName(request);
  record.owner = ownerOf(object);
  // The request's namespace is the API server's; the object's own is only a fallback, and only
  // when it is a string (a body can put anything there).
  const own = (object as Pod | undefined)?.metadata?.namespace;
  const namespace = request.namespace || (typeof own === 'string' ? own : '');
  const result = hardenPod(object, policy, {
    scope,
    namespace,
    oldObject: request.oldObject,
    ...(imageUsers && { imageUsers }),
  });
  if (result.error) throw result.error;
  record.changes = result.changes;
  record.notices = result.notices;
  const changes = result.changes.length > 0;
  record.decision = result.skipped
    ? 'skipped'
    : !changes
      ? 'unchanged'
      : record.mode === 'enforce'
        ? 'patched'
        : 'wouldPatch';

  const extra: Record<string, unknown> = {};
  if (record.decision === 'patched') {
    const patch = result.patch;
    if (patch.length > 0) {
      extra.patchType = 'JSONPatch';
      extra.patch = Buffer.from(JSON.stringify(patch)).toString('base64');
    } else {
      record.decision = 'unchanged';
    }
  }
  const warnings = warningsFor(record.mode, result.changes, result.notices);
  if (warnings.length > 0) extra.warnings = warnings;
  extra.auditAnnotations = auditAnnotationsFor(
    record.mode,
    record.decision,
    result.summary,
    result.notices,
  );
  return allow(extra);
}
