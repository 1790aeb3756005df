import type { ReviewOutcome, ReviewRecord } from '../../../src/admission/review';
import { compilePolicy } from '../../../src/engine/policy';
import { DEFAULT_POLICY } from '../../../src/config/schema';
import { recordTransportFailure } from '../../../src/server/app';
import { createLogger, reviewLogFields, withLogging } from '../../../src/server/logging';
import { createMetrics, withMetrics } from '../../../src/server/metrics';
import type { ReviewFn } from '../../../src/server/pipeline';
import {
  asPodHardenerError,
  createError,
  ERRORS,
  ErrorCodes,
  PodHardenerError,
  TRANSPORT_ERRORS,
  type ErrorCode,
} from '../../../src/errors';
import { LogCapture, metricValue } from '../../support/http';

const policy = compilePolicy(DEFAULT_POLICY);

const record = (extra: Partial<ReviewRecord> = {}): ReviewRecord => ({
  uid: 'u-1',
  namespace: 'team',
  pod: 'web-7d9c6b5f8d-',
  owner: 'ReplicaSet/web-7d9c6b5f8d',
  operation: 'CREATE',
  mode: 'enforce',
  decision: 'patched',
  changes: [
    { rule: 'runAsUser', target: { kind: 'pod' }, field: 'securityContext.runAsUser', to: 1000 },
    {
      rule: 'capabilities.add',
      target: { kind: 'container', list: 'containers', name: 'app' },
      field: 'securityContext.capabilities.add',
      removed: ['NET_ADMIN'],
    },
    {
      rule: 'capabilities.drop',
      target: { kind: 'container', list: 'initContainers', name: 'init' },
      field: 'securityContext.capabilities.drop',
    },
  ],
  notices: [
    {
      kind: 'skipContainers',
      target: { kind: 'container', list: 'containers', name: 'debug' },
      message: 'skipped',
    },
    {
      kind: 'capabilityAboveCeiling',
      target: { kind: 'container', list: 'containers', name: 'app' },
      message: 'NET_ADMIN above the ceiling',
    },
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
    expect(
      metricValue(text, 'pod_hardener_reviews_total', { mode: 'enforce', decision: 'patched' }),
    ).toBe(2);
    expect(
      metricValue(text, 'pod_hardener_reviews_total', { mode: 'audit', decision: 'patched' }),
    ).toBe(0);
    expect(
      metricValue(text, 'pod_hardener_review_duration_seconds_count', { mode: 'enforce' }),
    ).toBe(2);
    expect(
      metricValue(text, 'pod_hardener_changes_total', { rule: 'runAsUser', mode: 'enforce' }),
    ).toBe(2);
    expect(
      metricValue(text, 'pod_hardener_changes_total', {
        rule: 'capabilities.add',
        mode: 'enforce',
      }),
    ).toBe(2);
    expect(
      metricValue(text, 'pod_hardener_changes_total', { rule: 'runAsUser', mode: 'audit' }),
    ).toBe(0);
    expect(metricValue(text, 'pod_hardener_exceptions_total', { kind: 'skipContainers' })).toBe(2);
    expect(
      metricValue(text, 'pod_hardener_exceptions_denied_total', { kind: 'capabilityAboveCeiling' }),
    ).toBe(2);
    expect(text).not.toMatch(/kind="windowsPod"/);
    expect(text).toMatch(
      /pod_hardener_review_duration_seconds_bucket\{le="0.0001",mode="enforce"\}/,
    );
  });

  test('review errors by code; audit changes carry their mode', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const fail = (code: ErrorCode, status: number) =>
      withMetrics(
        fixed({
          status,
          body: {},
          record: {
            mode: 'audit',
            decision: status >= 500 ? 'error' : 'invalid',
            changes: [],
            notices: [],
            errorCode: code,
          },
        }),
        metrics,
      )(null, 'audit', policy);
    fail(ErrorCodes.NOT_ADMISSION_REVIEW, 400);
    fail(ErrorCodes.INTERNAL, 500);
    fail(ErrorCodes.INTERNAL, 500);
    withMetrics(
      fixed({ status: 200, body: {}, record: record({ mode: 'audit', decision: 'wouldPatch' }) }),
      metrics,
    )(null, 'audit', policy);
    const text = await metrics.registry.metrics();
    expect(metricValue(text, 'pod_hardener_errors_total', { code: 'NOT_ADMISSION_REVIEW' })).toBe(
      1,
    );
    expect(metricValue(text, 'pod_hardener_errors_total', { code: 'INTERNAL' })).toBe(2);
    expect(
      metricValue(text, 'pod_hardener_reviews_total', { mode: 'audit', decision: 'error' }),
    ).toBe(2);
    expect(
      metricValue(text, 'pod_hardener_reviews_total', { mode: 'audit', decision: 'invalid' }),
    ).toBe(1);
    expect(
      metricValue(text, 'pod_hardener_reviews_total', { mode: 'audit', decision: 'wouldPatch' }),
    ).toBe(1);
    expect(
      metricValue(text, 'pod_hardener_changes_total', { rule: 'runAsUser', mode: 'audit' }),
    ).toBe(1);
    expect(
      metricValue(text, 'pod_hardener_changes_total', { rule: 'runAsUser', mode: 'enforce' }),
    ).toBe(0);
  });

  test('series exist at zero from the start', async () => {
    const text = await createMetrics({ defaultMetrics: false }).registry.metrics();
    for (const line of [
      'pod_hardener_reviews_total{mode="enforce",decision="patched"} 0',
      'pod_hardener_reviews_total{mode="audit",decision="wouldPatch"} 0',
      'pod_hardener_transport_failures_total{status="413",code="BODY_TOO_LARGE"} 0',
      'pod_hardener_transport_failures_total{status="408",code="REQUEST_TIMEOUT"} 0',
      'pod_hardener_certificate_reloads_total{result="error"} 0',
      'pod_hardener_config_reloads_total{result="success"} 0',
      'pod_hardener_rejected_overload_total 0',
      'pod_hardener_in_flight_reviews 0',
    ])
      expect(text).toContain(line);
  });

  test('certificate expiry: seconds left, counted at each scrape; NaN before any certificate', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    // prom-client spells it "Nan"; Prometheus reads NaN in any case.
    expect(await metrics.registry.metrics()).toMatch(
      /^pod_hardener_certificate_expires_in_seconds nan$/im,
    );
    const inDays = (days: number) => Date.now() / 1000 + days * 86400;
    metrics.certificateNotAfter.set(inDays(7));
    const left = metricValue(
      await metrics.registry.metrics(),
      'pod_hardener_certificate_expires_in_seconds',
    );
    expect(left).toBeGreaterThan(7 * 86400 - 60);
    expect(left).toBeLessThanOrEqual(7 * 86400);
    metrics.certificateNotAfter.set(inDays(-1));
    expect(
      metricValue(await metrics.registry.metrics(), 'pod_hardener_certificate_expires_in_seconds'),
    ).toBeLessThan(-86400 + 60);
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
      level: 'info',
      msg: 'review',
      uid: 'u-1',
      namespace: 'team',
      pod: 'web-7d9c6b5f8d-',
      owner: 'ReplicaSet/web-7d9c6b5f8d',
      operation: 'CREATE',
      mode: 'enforce',
      decision: 'patched',
      status: 200,
      changes: [
        'runAsUser@pod',
        'capabilities.add@container/app',
        'capabilities.drop@initContainer/init',
      ],
      noticeCount: 3,
      notices: [
        'skipContainers@container/debug',
        'capabilityAboveCeiling@container/app',
        'windowsPod@pod',
      ],
    });
    expect(typeof logs.lines[0].latencyMs).toBe('number');
    expect(logs.lines[0]).not.toHaveProperty('errorCode');
  });

  test('4xx warn, 5xx errors, with the error code and message', () => {
    const logs = new LogCapture();
    const logger = createLogger('info', logs);
    const run = (status: number, code: ErrorCode) =>
      withLogging(
        fixed({
          status,
          body: {},
          record: {
            mode: 'enforce',
            decision: 'error',
            changes: [],
            notices: [],
            errorCode: code,
            error: 'why',
          },
        }),
        logger,
      )(null, 'enforce', policy);
    run(400, ErrorCodes.BAD_POD);
    run(500, ErrorCodes.INTERNAL);
    expect(logs.lines.map((l) => [l.level, l.errorCode, l.error])).toEqual([
      ['warn', 'BAD_POD', 'why'],
      ['error', 'INTERNAL', 'why'],
    ]);
  });

  test('the level from the configuration filters review lines', () => {
    const logs = new LogCapture();
    withLogging(fixed({ status: 200, body: {}, record: record() }), createLogger('warn', logs))(
      {},
      'enforce',
      policy,
    );
    expect(logs.lines).toEqual([]);
  });

  test('latency is rounded to microseconds', () => {
    expect(reviewLogFields(record(), 200, 1.23456789).latencyMs).toBe(1.235);
  });
});

describe('transport failures', () => {
  test('counted by status and code, logged with both; an overload also counts as rejected', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const logs = new LogCapture();
    const logger = createLogger('info', logs);
    recordTransportFailure(metrics, logger, createError('BAD_JSON', 'Unexpected end'), {
      path: '/mutate',
    });
    recordTransportFailure(metrics, logger, createError('OVERLOADED', 2), { path: '/mutate' });
    recordTransportFailure(metrics, logger, createError('OVERLOADED', 2), { path: '/audit' });
    recordTransportFailure(metrics, logger, createError('INTERNAL', 'boom'), { path: '/mutate' });
    const text = await metrics.registry.metrics();
    expect(
      metricValue(text, 'pod_hardener_transport_failures_total', {
        status: '400',
        code: 'BAD_JSON',
      }),
    ).toBe(1);
    expect(
      metricValue(text, 'pod_hardener_transport_failures_total', {
        status: '503',
        code: 'OVERLOADED',
      }),
    ).toBe(2);
    expect(
      metricValue(text, 'pod_hardener_transport_failures_total', {
        status: '500',
        code: 'INTERNAL',
      }),
    ).toBe(1);
    expect(metricValue(text, 'pod_hardener_rejected_overload_total')).toBe(2);
    // Not reviews: they never reached one.
    expect(metricValue(text, 'pod_hardener_errors_total', { code: 'BAD_JSON' })).toBe(0);
    expect(logs.lines.map((l) => [l.level, l.msg, l.status, l.errorCode, l.path])).toEqual([
      ['warn', 'request refused', 400, 'BAD_JSON', '/mutate'],
      ['warn', 'request refused', 503, 'OVERLOADED', '/mutate'],
      ['warn', 'request refused', 503, 'OVERLOADED', '/audit'],
      ['error', 'request refused', 500, 'INTERNAL', '/mutate'],
    ]);
    expect(logs.lines[0].error).toBe('request body is not valid JSON: Unexpected end');
  });
});

describe('the error table', () => {
  test('every code has a status and a message; createError fills the message in order', () => {
    for (const [code, { status, message }] of Object.entries(ERRORS)) {
      expect(ErrorCodes[code as ErrorCode]).toBe(code);
      expect(status).toBeGreaterThanOrEqual(400);
      expect(message.length).toBeGreaterThan(0);
    }
    const err = createError('METHOD_NOT_ALLOWED', 'GET', '/mutate');
    expect(err).toBeInstanceOf(PodHardenerError);
    expect(err).toMatchObject({
      code: 'METHOD_NOT_ALLOWED',
      status: 405,
      message: 'GET /mutate is not supported; send the AdmissionReview with POST',
    });
    expect(createError('EMPTY_BODY').status).toBe(400);
    expect(err.withUid('u').uid).toBe('u');
    expect(TRANSPORT_ERRORS).toEqual(
      expect.arrayContaining([
        'BAD_JSON',
        'EMPTY_BODY',
        'BODY_TOO_LARGE',
        'BAD_CONTENT_TYPE',
        'REQUEST_TIMEOUT',
        'OVERLOADED',
      ]),
    );
    expect(TRANSPORT_ERRORS).not.toContain('BAD_POD');
  });

  test('anything thrown becomes an error of the table', () => {
    const known = createError('BAD_JSON', 'x');
    expect(asPodHardenerError(known)).toBe(known);
    expect(asPodHardenerError(new Error('boom'))).toMatchObject({
      code: 'INTERNAL',
      status: 500,
      message: 'internal error: boom',
    });
    expect(asPodHardenerError('string')).toMatchObject({
      code: 'INTERNAL',
      message: 'internal error: string',
    });
  });
});
