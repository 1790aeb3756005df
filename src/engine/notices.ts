import type { Notice, NoticeKind } from './types';

/**
 * Which notices are exceptions, defined once for every view of them: the audit annotation
 * lists both kinds, the metrics count them apart (exceptions_total, exceptions_denied_total).
 */

/** An exception the operator's bounds allowed: something was left unhardened on purpose. */
export const HONOURED_EXCEPTIONS: ReadonlySet<NoticeKind> = new Set([
  'skipPod',
  'mirrorPod',
  'skipContainers',
  'exemptContainer',
  'capabilityAllowlist',
]);

/** An exception a pod author asked for beyond the operator's bounds, and did not get. */
export const DENIED_EXCEPTIONS: ReadonlySet<NoticeKind> = new Set([
  'skipDenied',
  'capabilityAboveCeiling',
]);

export function isException(kind: NoticeKind): boolean {
  return HONOURED_EXCEPTIONS.has(kind) || DENIED_EXCEPTIONS.has(kind);
}

/**
 * A notice as the lines a person reads: its message, then, for what may stop working, the change
 * that keeps it running. Two lines, not one: each view (warnings, `kubectl harden`) may cut a
 * long line, and the fix must survive that.
 */
export function noticeText(n: Notice): string[] {
  return n.fix === undefined ? [n.message] : [n.message, `fix: ${n.fix}`];
}
