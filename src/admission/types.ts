import type { Change, Notice } from '../engine/types';
import type { ErrorCode } from '../names';

/** `enforce` patches the pod (POST /mutate); `audit` only says what it would change (POST /audit). */
export type Mode = 'enforce' | 'audit';

/**
 * patched: a patch was returned. unchanged: nothing to change (or audit mode). skipped: the pod
 * opted out. ignored: not a pod creation or ephemeral-container update. invalid: HTTP 4xx.
 * error: an internal failure, HTTP 500.
 */
export type Decision = 'patched' | 'unchanged' | 'skipped' | 'ignored' | 'invalid' | 'error';

/** Everything logs and metrics need about one review. */
export interface ReviewRecord {
  uid?: string;
  namespace?: string;
  pod?: string;
  operation?: string;
  mode: Mode;
  decision: Decision;
  changes: Change[];
  notices: Notice[];
  errorCode?: ErrorCode;
  error?: string;
}

export interface ReviewOutcome {
  status: number;
  body: unknown;
  record: ReviewRecord;
}
