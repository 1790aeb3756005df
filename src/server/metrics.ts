/**
 * Prometheus metrics, all prefixed `pod_hardener_`, on their own registry (one per server, so
 * tests can run several) plus the default Node process metrics, which keep their standard
 * unprefixed names (process_*, nodejs_*) so ready-made dashboards work.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ReviewRecord } from '../admission/review';
import { DECISIONS, MODES } from '../admission/types';
import { DENIED_EXCEPTIONS, HONOURED_EXCEPTIONS } from '../engine/notices';
import { ERRORS, TRANSPORT_ERRORS } from '../errors';
import type { ReviewFn } from './pipeline';

export const METRIC_PREFIX = 'pod_hardener_';

export interface Metrics {
  readonly registry: Registry;
  readonly reviews: Counter<'mode' | 'decision'>;
  readonly duration: Histogram<'mode'>;
  readonly changes: Counter<'rule' | 'mode'>;
  readonly exceptions: Counter<'kind'>;
  readonly exceptionsDenied: Counter<'kind'>;
  readonly errors: Counter<'code'>;
  readonly transportFailures: Counter<'status' | 'code'>;
  readonly inFlight: Gauge;
  readonly rejectedOverload: Counter;
  readonly certificateReloads: Counter<'result'>;
  readonly certificateNotAfter: Gauge;
  readonly certificateExpiresIn: Gauge;
  readonly configReloads: Counter<'result'>;
  readonly imageLookups: Counter<'outcome' | 'reason'>;
  readonly imageFetchDuration: Histogram<'result'>;
  readonly imageCredentialsErrors: Counter;
}

export function createMetrics(
  options: { registry?: Registry; defaultMetrics?: boolean } = {},
): Metrics {
  const registry = options.registry ?? new Registry();
  if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const p = METRIC_PREFIX;
  const certificateNotAfter = new Gauge({
    name: `${p}certificate_not_after_seconds`,
    help: 'Expiry of the serving certificate in use, as a Unix time.',
    registers,
  });
  const m: Metrics = {
    registry,
    reviews: new Counter({
      name: `${p}reviews_total`,
      help: `Admission reviews answered, by mode and decision (${DECISIONS.join(', ')}).`,
      labelNames: ['mode', 'decision'],
      registers,
    }),
    duration: new Histogram({
      name: `${p}review_duration_seconds`,
      help: 'Time spent computing one review (decode, harden, patch), excluding reading the body from the network.',
      labelNames: ['mode'],
      // A typical review takes well under a millisecond; the API server's budget is seconds.
      buckets: [
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
      ],
      registers,
    }),
    changes: new Counter({
      name: `${p}changes_total`,
      help: 'Values set, overridden or removed, by rule and mode (mode="audit": changes that would have been made).',
      labelNames: ['rule', 'mode'],
      registers,
    }),
    exceptions: new Counter({
      name: `${p}exceptions_total`,
      help: 'Exceptions honoured: skipPod, mirrorPod, skipContainers, exemptContainer, capabilityAllowlist.',
      labelNames: ['kind'],
      registers,
    }),
    exceptionsDenied: new Counter({
      name: `${p}exceptions_denied_total`,
      help: 'Exceptions asked for and refused by the operator bounds: skipDenied, capabilityAboveCeiling.',
      labelNames: ['kind'],
      registers,
    }),
    errors: new Counter({
      name: `${p}errors_total`,
      help: 'Reviews answered with an error, by error code.',
      labelNames: ['code'],
      registers,
    }),
    transportFailures: new Counter({
      name: `${p}transport_failures_total`,
      help: 'Admission-port requests answered before any review (unreadable body, wrong type, overload, timeout, wrong path), by HTTP status and error code.',
      labelNames: ['status', 'code'],
      registers,
    }),
    inFlight: new Gauge({
      name: `${p}in_flight_reviews`,
      help: 'Admission requests being read or reviewed now.',
      registers,
    }),
    rejectedOverload: new Counter({
      name: `${p}rejected_overload_total`,
      help: 'Admission requests refused at once because server.maxInFlight were in flight.',
      registers,
    }),
    certificateReloads: new Counter({
      name: `${p}certificate_reloads_total`,
      help: 'Serving certificate loads (the first one included), by result.',
      labelNames: ['result'],
      registers,
    }),
    certificateNotAfter,
    // Computed at each scrape from the expiry above, so dashboards and alerts need no time()
    // arithmetic. NaN (not 0) while no certificate has loaded: any comparison with NaN is false,
    // so a replica that is still starting never looks like one whose certificate has expired.
    certificateExpiresIn: new Gauge({
      name: `${p}certificate_expires_in_seconds`,
      help: 'Seconds until the serving certificate in use expires (negative once expired, NaN until one has loaded).',
      registers,
      async collect() {
        const notAfter = (await certificateNotAfter.get()).values[0]?.value ?? 0;
        this.set(notAfter > 0 ? notAfter - Date.now() / 1000 : Number.NaN);
      },
    }),
    configReloads: new Counter({
      name: `${p}config_reloads_total`,
      help: 'Configuration file reloads after a change on disk, by result.',
      labelNames: ['result'],
      registers,
    }),
    imageLookups: new Counter({
      name: `${p}image_identity_lookups_total`,
      help: 'Images whose USER a review asked for (image identity), by outcome: hit (cache), fetched (registry, within the budget), miss (not within the budget: defaults), failed (defaults; reason: not_allowed, unreachable, timeout, auth, not_found, http_error, bad_response, too_large, no_platform, busy, bad_reference).',
      labelNames: ['outcome', 'reason'],
      registers,
    }),
    imageFetchDuration: new Histogram({
      name: `${p}image_identity_fetch_duration_seconds`,
      help: 'Time one image lookup took at its registry (manifest, index, config), background lookups included, by result (ok or the failure reason).',
      labelNames: ['result'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    imageCredentialsErrors: new Counter({
      name: `${p}image_identity_credentials_errors_total`,
      help: 'Reads of the image identity credentials file that failed (lookups then go on anonymously).',
      registers,
    }),
  };
  // Series that exist from the start read 0 instead of being absent, so rate() and alerts work.
  for (const mode of MODES) {
    m.duration.zero({ mode });
    for (const decision of DECISIONS) m.reviews.inc({ mode, decision }, 0);
  }
  for (const code of TRANSPORT_ERRORS)
    m.transportFailures.inc({ status: String(ERRORS[code].status), code }, 0);
  for (const outcome of ['hit', 'fetched', 'miss']) m.imageLookups.inc({ outcome, reason: '' }, 0);
  for (const result of ['success', 'error']) {
    m.certificateReloads.inc({ result }, 0);
    m.configReloads.inc({ result }, 0);
  }
  return m;
}

/** Counts one answered review. */
export function recordReview(metrics: Metrics, record: ReviewRecord, seconds: number): void {
  metrics.reviews.inc({ mode: record.mode, decision: record.decision });
  metrics.duration.observe({ mode: record.mode }, seconds);
  // One inc per rule rather than per change: each inc hashes its labels, and a 30-container pod
  // has a hundred changes over a handful of rules.
  const byRule = new Map<string, number>();
  for (const change of record.changes) byRule.set(change.rule, (byRule.get(change.rule) ?? 0) + 1);
  for (const [rule, count] of byRule) metrics.changes.inc({ rule, mode: record.mode }, count);
  for (const notice of record.notices) {
    if (HONOURED_EXCEPTIONS.has(notice.kind)) metrics.exceptions.inc({ kind: notice.kind });
    else if (DENIED_EXCEPTIONS.has(notice.kind))
      metrics.exceptionsDenied.inc({ kind: notice.kind });
  }
  if (record.errorCode !== undefined) metrics.errors.inc({ code: record.errorCode });
}

export function withMetrics(review: ReviewFn, metrics: Metrics): ReviewFn {
  return (...args) => {
    const start = process.hrtime.bigint();
    const outcome = review(...args);
    recordReview(metrics, outcome.record, Number(process.hrtime.bigint() - start) / 1e9);
    return outcome;
  };
}
