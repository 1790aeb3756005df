import type { Change, Notice } from '../engine/types';
import type { ErrorCode } from '../errors';

/** `enforce` patches the pod (POST /mutate); `audit` only says what it would change (POST /audit). */
export const MODES = ['enforce', 'audit'] as const;
export type Mode = (typeof MODES)[number];

/**
 * patched: a patch was returned. wouldPatch: audit mode, and enforce would have patched.
 * unchanged: nothing to change. skipped: the pod opted out. ignored: not a pod creation or
 * ephemeral-container update. invalid: HTTP 4xx. error: an internal failure, HTTP 500.
 */
export const DECISIONS = [
  'patched',
  'wouldPatch',
  'unchanged',
  'skipped',
  'ignored',
  'invalid',
  'error',
] as const;
export type Decision = (typeof DECISIONS)[number];

/** Everything logs and metrics need about one review. */
export interface ReviewRecord {
  uid?: string;
  namespace?: string;
  /** The pod's name, or its generateName when the API server has not named it yet. */
  pod?: string;
  /** The pod's controller (`ReplicaSet/web-7d9c6b5f8d`), from the ownerReference with controller: true. */
  owner?: string;
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
