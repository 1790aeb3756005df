import type { ReviewOutcome, ReviewRecord } from '../../../src/admission/review';
import { compilePolicy } from '../../../src/engine/policy';
import { DEFAULT_POLICY } from '../../../src/engine/defaults';
import { createLogger, reviewLogFields, withLogging } from '../../../src/server/logging';
import { createMetrics, withMetrics } from '../../../src/server/metrics';
import { TransportFailure, uidOf, withErrorBoundary, withTransportFailures, type ReviewFn } from '../../../src/server/pipeline';
import { ErrorCodes } from '../../../src/names';
import { LogCapture, metricValue } from '../../support/http';

const policy = compilePolicy(DEFAULT_POLICY);

const record = (extra: Partial<ReviewRecord> = {}): ReviewRecord => ({
  uid: 'u-1', namespace: 'team', pod: 'web', operation: 'CREATE', mode: 'enforce', decision: 'patched',
  changes: [
    { rule: 'runAsUser', target: { kind: 'pod' }, field: 'securityContext.runAsUser', to: 1000 },
    { rule: 'capabilities.add', target: { kind: 'container', list: 'containers', name: 'app' }, field: 'securityContext.capabilities.add', removed: ['NET_ADMIN'] },
    { rule: 'capabilities.drop', target: { kind: 'container', list: 'initContainers', name: 'init' }, field: 'securityContext.capabilities.drop' },
  ],
  notices: [
    { kind: 'skipContainers', target: { kind: 'container', list: 'containers', name: 'debug' }, message: 'skipped' },
    { kind: 'capabilityAboveCeiling', target: { kind: 'container', list: 'containers', name: 'app' }, message: 'NET_ADMIN above the ceiling' },
    { kind: 'windowsPod', target: { kind: 'pod' }, message: 'windows' },
  ],
  ...extra,
});

const fixed = (outcome: ReviewOutcome) => jest.fn((..._args: Parameters<ReviewFn>) => outcome);

describe('withMetrics', () => {
  test('counts the review, its changes, exceptions honoured and denied; returns the outcome untouched', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const outcome: ReviewOutcome = { status: 200, body: { x: 1 }, record: record() };
    const inner = fixed(outcome);
    const wrapped = withMetrics(inner, metrics);
    expect(wrapped('body', 'enforce', policy)).toBe(outcome);
    expect(inner).toHaveBeenCalledWith('body', 'enforce', policy);
    wrapped('body', 'enforce', policy);
    const text = await metrics.registry.metrics();
    expect(metricValue(text, 'pod_hardener_reviews_total', { mode: 'enforce', decision: 'patched' })).toBe(2);
    expect(metricValue(text, 'pod_hardener_reviews_total', { mode: 'audit', decision: 'patched' })).toBe(0);
    expect(metricValue(text, 'pod_hardener_review_duration_seconds_count', { mode: 'enforce' })).toBe(2);
    expect(metricValue(text, 'pod_hardener_changes_total', { rule: 'runAsUser' })).toBe(2);
    expect(metricValue(text, 'pod_hardener_changes_total', { rule: 'capabilities.add' })).toBe(2);
    expect(metricValue(text, 'pod_hardener_exceptions_total', { kind: 'skipContainers' })).toBe(2);
    expect(metricValue(text, 'pod_hardener_exceptions_denied_total', { kind: 'capabilityAboveCeiling' })).toBe(2);
    expect(text).not.toMatch(/kind="windowsPod"/);
    expect(text).toMatch(/pod_hardener_review_duration_seconds_bucket\{le="0.0001",mode="enforce"\}/);
  });

  test('errors by code; an overload also counts as rejected', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const fail = (code: (typeof ErrorCodes)[keyof typeof ErrorCodes], status: number) =>
      withMetrics(fixed({ status, body: {}, record: { mode: 'audit', decision: status >= 500 ? 'error' : 'invalid', changes: [], notices: [], errorCode: code } }), metrics)(null, 'audit', policy);
    fail(ErrorCodes.badJson, 400);
    fail(ErrorCodes.overloaded, 503);
    fail(ErrorCodes.overloaded, 503);
    const text = await metrics.registry.metrics();
    expect(metricValue(text, 'pod_hardener_errors_total', { code: 'BAD_JSON' })).toBe(1);
    expect(metricValue(text, 'pod_hardener_errors_total', { code: 'OVERLOADED' })).toBe(2);
    expect(metricValue(text, 'pod_hardener_rejected_overload_total')).toBe(2);
    expect(metricValue(text, 'pod_hardener_reviews_total', { mode: 'audit', decision: 'error' })).toBe(2);
    expect(metricValue(text, 'pod_hardener_reviews_total', { mode: 'audit', decision: 'invalid' })).toBe(1);
  });

  test('series exist at zero from the start', async () => {
    const text = await createMetrics({ defaultMetrics: false }).registry.metrics();
    for (const line of [
      'pod_hardener_reviews_total{mode="enforce",decision="patched"} 0',
      'pod_hardener_certificate_reloads_total{result="error"} 0',
      'pod_hardener_config_reloads_total{result="success"} 0',
      'pod_hardener_rejected_overload_total 0',
      'pod_hardener_in_flight_reviews 0',
    ]) expect(text).toContain(line);
  });

  test('certificate expiry: seconds left, counted at each scrape; NaN before any certificate', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    // prom-client spells it "Nan"; Prometheus reads NaN in any case.
    expect(await metrics.registry.metrics()).toMatch(/^pod_hardener_certificate_expires_in_seconds nan$/im);
    const inDays = (days: number) => Date.now() / 1000 + days * 86400;
    metrics.certificateNotAfter.set(inDays(7));
    const left = metricValue(await metrics.registry.metrics(), 'pod_hardener_certificate_expires_in_seconds');
    expect(left).toBeGreaterThan(7 * 86400 - 60);
    expect(left).toBeLessThanOrEqual(7 * 86400);
    metrics.certificateNotAfter.set(inDays(-1));
    expect(metricValue(await metrics.registry.metrics(), 'pod_hardener_certificate_expires_in_seconds')).toBeLessThan(-86400 + 60);
  });
});

describe('withLogging', () => {
  test('one line per review with the compact fields', () => {
    const logs = new LogCapture();
    const outcome: ReviewOutcome = { status: 200, body: {}, record: record() };
    const wrapped = withLogging(fixed(outcome), createLogger('info', logs));
    expect(wrapped({}, 'enforce', policy)).toBe(outcome);
    expect(logs.lines).toHaveLength(1);
    expect(logs.lines[0]).toMatchObject({
      level: 'info', msg: 'review', uid: 'u-1', namespace: 'team', pod: 'web', operation: 'CREATE', mode: 'enforce', decision: 'patched', status: 200,
      changes: ['runAsUser@pod', 'capabilities.add@container/app', 'capabilities.drop@initContainer/init'],
      noticeCount: 3,
      notices: ['skipContainers@container/debug', 'capabilityAboveCeiling@container/app', 'windowsPod@pod'],
    });
    expect(typeof logs.lines[0]!.latencyMs).toBe('number');
    expect(logs.lines[0]).not.toHaveProperty('errorCode');
  });

  test('4xx and overload warn, 5xx errors, with the error code and message', () => {
    const logs = new LogCapture();
    const logger = createLogger('info', logs);
    const run = (status: number, code: (typeof ErrorCodes)[keyof typeof ErrorCodes]) =>
      withLogging(fixed({ status, body: {}, record: { mode: 'enforce', decision: 'error', changes: [], notices: [], errorCode: code, error: 'why' } }), logger)(null, 'enforce', policy);
    run(400, ErrorCodes.badJson);
    run(503, ErrorCodes.overloaded);
    run(500, ErrorCodes.internal);
    expect(logs.lines.map((l) => [l.level, l.errorCode, l.error])).toEqual([
      ['warn', 'BAD_JSON', 'why'],
      ['warn', 'OVERLOADED', 'why'],
      ['error', 'INTERNAL', 'why'],
    ]);
  });

  test('the level from the configuration filters review lines', () => {
    const logs = new LogCapture();
    withLogging(fixed({ status: 200, body: {}, record: record() }), createLogger('warn', logs))({}, 'enforce', policy);
    expect(logs.lines).toEqual([]);
  });

  test('latency is rounded to microseconds', () => {
    expect(reviewLogFields(record(), 200, 1.23456789).latencyMs).toBe(1.235);
  });
});

describe('withErrorBoundary and transport failures', () => {
  test('an exception becomes a 500 that echoes the uid', () => {
    const wrapped = withErrorBoundary(() => {
      throw new Error('boom');
    });
    const out = wrapped({ request: { uid: 'abc' } }, 'enforce', policy);
    expect(out.status).toBe(500);
    expect(out.body).toMatchObject({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'abc', allowed: false } });
    expect(JSON.stringify(out.body)).toContain('internal error: boom');
    expect(out.record).toMatchObject({ uid: 'abc', decision: 'error', errorCode: 'INTERNAL' });
  });

  test('a thrown non-Error and a body without uid are handled too', () => {
    const out = withErrorBoundary(() => {
      throw 'string';
    })(null, 'audit', policy);
    expect(out.status).toBe(500);
    expect(out.record.mode).toBe('audit');
  });

  test('a TransportFailure body becomes its error outcome without calling the review', () => {
    const inner = jest.fn();
    const out = withTransportFailures(inner)(new TransportFailure(413, ErrorCodes.bodyTooLarge, 'too big'), 'enforce', policy);
    expect(inner).not.toHaveBeenCalled();
    expect(out.status).toBe(413);
    expect(out.record).toMatchObject({ errorCode: 'BODY_TOO_LARGE', decision: 'invalid', error: 'too big' });
  });

  test('uidOf reads request.uid only when it is a non-empty string', () => {
    expect(uidOf({ request: { uid: 'x' } })).toBe('x');
    for (const body of [null, undefined, 'x', [], { request: null }, { request: { uid: 5 } }, { request: { uid: '' } }]) expect(uidOf(body)).toBeUndefined();
  });
});
