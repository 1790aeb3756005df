/**
 * Structured JSON logs (pino): one line per review, plus lifecycle lines (start, certificate and
 * configuration reloads, shutdown).
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import type { ReviewRecord } from '../admission/review';
import { targetKey } from '../engine/describe';
import type { LogLevel } from '../config/schema';
import { logTime } from './log-time';
import type { ReviewFn } from './pipeline';

export type { Logger } from 'pino';

// "level":"info" rather than 30: readable in kubectl logs and by every log pipeline. One object
// per level, made once: pino calls the formatter on every line.
const LEVEL_FIELDS: Record<string, { level: string }> = Object.fromEntries(
  Object.keys(pino.levels.values).map((label) => [label, { level: label }]),
);

/** How many changes and notices one log line names; the counts are always whole. */
const MAX_LOGGED = 200;

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: 'pod-hardener' },
    // pino's isoTime, formatted once a second instead of once a line (log-time.ts).
    timestamp: logTime,
    formatters: { level: (label) => LEVEL_FIELDS[label] ?? { level: label } },
  };
  return destination ? pino(options, destination) : pino(options);
}

/** The fields of the one log line of a review. */
export function reviewLogFields(
  record: ReviewRecord,
  status: number,
  latencyMs: number,
): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    uid: record.uid,
    namespace: record.namespace,
    pod: record.pod,
    owner: record.owner,
    operation: record.operation,
    mode: record.mode,
    decision: record.decision,
    status,
    // `runAsUser@pod`, `capabilities.add@container/app`: greppable, one entry per change, the
    // first MAX_LOGGED of each (a hostile pod can have tens of thousands; the counts say so).
    changeCount: record.changes.length,
    changes: record.changes.slice(0, MAX_LOGGED).map((c) => `${c.rule}@${targetKey(c.target)}`),
    noticeCount: record.notices.length,
    notices: record.notices.slice(0, MAX_LOGGED).map((n) => `${n.kind}@${targetKey(n.target)}`),
    latencyMs: Math.round(latencyMs * 1000) / 1000,
  };
  if (record.errorCode !== undefined) {
    fields.errorCode = record.errorCode;
    fields.error = record.error;
  }
  return fields;
}

/** Logs every review: info when answered 2xx, warn for 4xx (and overload), error for 5xx. */
export function withLogging(review: ReviewFn, logger: Logger): ReviewFn {
  return (...args) => {
    const start = process.hrtime.bigint();
    const outcome = review(...args);
    const latencyMs = Number(process.hrtime.bigint() - start) / 1e6;
    const level =
      outcome.status >= 500 && outcome.status !== 503
        ? 'error'
        : outcome.status >= 400
          ? 'warn'
          : 'info';
    // The fields are only built when the line is written (at warn, a 200 is not): building them
    // is a measurable part of a review's CPU.
    if (logger.isLevelEnabled(level))
      logger[level](reviewLogFields(outcome.record, outcome.status, latencyMs), 'review');
    return outcome;
  };
}
