/**
 * The alert rules (manifests/components/monitoring/prometheusrule.yaml, which the chart shares):
 * `promtool check rules`, then `promtool test rules` with, for every alert, series that must make
 * it fire and series that must not. The same cases run against the chart's rendering for another
 * release, namespace and webhook timeout, so the chart's substitutions are tested too.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import {
  BUILD_TIMEOUT_MS,
  goTool,
  helmTemplate,
  REPO,
  runOk,
  writeTemp,
} from '../../support/tools';
import { headings, readDoc } from '../../support/markdown';

/** Where the runbooks are: each alert's runbook_url is this file's heading for the alert. */
const RUNBOOK_DOC = 'docs/operations.md';

interface Target {
  job: string;
  namespace: string;
  guard: string;
  timeoutSeconds: number;
}

interface Series {
  series: string;
  values: string;
}

interface Case {
  alert: string;
  what: string;
  series: (t: Target) => Series[];
  evalTime: string;
  /** The labels of each alert that must be firing at evalTime (none: it must not fire). */
  firing: (t: Target) => Record<string, string>[];
}

const ENFORCE = 'enforce.pod-hardener.io';
const sel = (t: Target, extra = '') =>
  `{job="${t.job}",namespace="${t.namespace}",pod="p-1"${extra}}`;
// The API server's webhook latency buckets (k8s.io/apiserver admission metrics).
const BUCKETS = ['0.005', '0.025', '0.1', '0.5', '1', '2.5', '10', '25', '+Inf'];
/** A latency histogram: `perMinute` calls, `upTo[le]` of them at most `le` seconds. */
const histogram = (name: string, perMinute: number, upTo: Record<string, number>): Series[] =>
  BUCKETS.map((le) => ({
    series: `apiserver_admission_webhook_admission_duration_seconds_bucket{name="${name}",type="admit",operation="CREATE",rejected="false",le="${le}"}`,
    values: `0+${upTo[le] ?? perMinute}x30`,
  }));

const CASES: Case[] = [
  {
    alert: 'PodHardenerDown',
    what: 'fires when every replica is down for 5 minutes',
    series: (t) => [{ series: `up${sel(t)}`, values: '0x20' }],
    evalTime: '10m',
    firing: (t) => [{ severity: 'critical', job: t.job, namespace: t.namespace }],
  },
  {
    alert: 'PodHardenerDown',
    what: 'fires when no replica is scraped at all',
    series: () => [{ series: 'up{job="something-else",namespace="x"}', values: '1x20' }],
    evalTime: '10m',
    firing: (t) => [{ severity: 'critical', job: t.job, namespace: t.namespace }],
  },
  {
    alert: 'PodHardenerDown',
    what: 'stays silent while one replica of two is up',
    series: (t) => [
      { series: `up${sel(t)}`, values: '1x20' },
      { series: `up{job="${t.job}",namespace="${t.namespace}",pod="p-2"}`, values: '0x20' },
    ],
    evalTime: '10m',
    firing: () => [],
  },
  {
    alert: 'PodHardenerAdmissionErrors',
    what: 'fires on an internal error',
    series: (t) => [
      {
        series: `pod_hardener_errors_total${sel(t, ',code="INTERNAL"')}`,
        values: '0 0 0 1 1 1 1 1',
      },
    ],
    evalTime: '5m',
    firing: (t) => [{ severity: 'warning', namespace: t.namespace, code: 'INTERNAL' }],
  },
  {
    alert: 'PodHardenerAdmissionErrors',
    what: 'stays silent on overload (its own alert) and on a flat counter',
    series: (t) => [
      { series: `pod_hardener_errors_total${sel(t, ',code="OVERLOADED"')}`, values: '0+5x10' },
      { series: `pod_hardener_errors_total${sel(t, ',code="BAD_JSON"')}`, values: '3x10' },
    ],
    evalTime: '8m',
    firing: () => [],
  },
  {
    alert: 'PodHardenerAdmissionErrors',
    what: "stays silent on another release's errors",
    series: () => [
      {
        series:
          'pod_hardener_errors_total{job="other",namespace="other",pod="p-1",code="INTERNAL"}',
        values: '0+1x10',
      },
    ],
    evalTime: '8m',
    firing: () => [],
  },
  {
    alert: 'PodHardenerWebhookCallsFailing',
    what: 'fires when the API server fails open on the enforce webhook',
    series: () => [
      {
        series: `apiserver_admission_webhook_fail_open_count{name="${ENFORCE}",type="admit"}`,
        values: '0+2x20',
      },
    ],
    evalTime: '15m',
    firing: () => [{ severity: 'critical', name: ENFORCE }],
  },
  {
    alert: 'PodHardenerWebhookCallsFailing',
    what: 'fires when failurePolicy Fail turns failed calls into rejections',
    series: () => [
      {
        series: `apiserver_admission_webhook_rejection_count{name="${ENFORCE}",type="admit",operation="CREATE",error_type="calling_webhook_error",rejection_code="0"}`,
        values: '0+1x20',
      },
    ],
    evalTime: '15m',
    firing: () => [{ severity: 'critical', name: ENFORCE }],
  },
  {
    alert: 'PodHardenerWebhookCallsFailing',
    what: "stays silent on other webhooks' failures and on answered calls",
    series: () => [
      {
        series:
          'apiserver_admission_webhook_fail_open_count{name="sidecar.example.com",type="admit"}',
        values: '0+2x20',
      },
      {
        series: `apiserver_admission_webhook_rejection_count{name="${ENFORCE}",type="admit",operation="CREATE",error_type="no_error",rejection_code="403"}`,
        values: '0+1x20',
      },
    ],
    evalTime: '15m',
    firing: () => [],
  },
  {
    alert: 'PodHardenerLatencyNearTimeout',
    what: 'fires when half the calls take between 2.5 and 10 s (p99 ~9.9 s)',
    series: () =>
      histogram(ENFORCE, 100, { '0.005': 0, '0.025': 0, '0.1': 0, '0.5': 0, '1': 0, '2.5': 50 }),
    evalTime: '20m',
    firing: () => [{ severity: 'warning', name: ENFORCE }],
  },
  {
    alert: 'PodHardenerLatencyNearTimeout',
    what: 'fires at p99 ~5.3 s only when that is above 80 % of timeoutSeconds',
    series: () =>
      histogram(ENFORCE, 1000, { '0.005': 0, '0.025': 0, '0.1': 0, '0.5': 0, '1': 0, '2.5': 984 }),
    evalTime: '20m',
    firing: (t) => (5.3 > 0.8 * t.timeoutSeconds ? [{ severity: 'warning', name: ENFORCE }] : []),
  },
  {
    alert: 'PodHardenerLatencyNearTimeout',
    what: 'stays silent when calls take milliseconds',
    series: () => histogram(ENFORCE, 100, { '0.005': 90 }),
    evalTime: '20m',
    firing: () => [],
  },
  {
    alert: 'PodHardenerOverloaded',
    what: 'fires on 503s for 5 minutes',
    series: (t) => [{ series: `pod_hardener_rejected_overload_total${sel(t)}`, values: '0+10x20' }],
    evalTime: '15m',
    firing: (t) => [{ severity: 'warning', namespace: t.namespace }],
  },
  {
    alert: 'PodHardenerOverloaded',
    what: 'stays silent on a burst that stopped',
    series: (t) => [
      {
        series: `pod_hardener_rejected_overload_total${sel(t)}`,
        values: '0 50 50 50 50 50 50 50 50 50 50 50 50 50 50 50 50 50 50 50',
      },
    ],
    evalTime: '15m',
    firing: () => [],
  },
  {
    alert: 'PodHardenerCertificateExpiresSoon',
    what: 'fires with less than 7 days left',
    series: (t) => [
      { series: `pod_hardener_certificate_expires_in_seconds${sel(t)}`, values: '600000-60x30' },
    ],
    evalTime: '20m',
    firing: (t) => [{ severity: 'warning', namespace: t.namespace, pod: 'p-1' }],
  },
  {
    alert: 'PodHardenerCertificateExpiresSoon',
    // Before a certificate has loaded the gauge is NaN, which compares false; promtool's series
    // notation has no NaN to show it with.
    what: 'stays silent with 8 days left',
    series: (t) => [
      { series: `pod_hardener_certificate_expires_in_seconds${sel(t)}`, values: '691200-60x30' },
    ],
    evalTime: '20m',
    firing: () => [],
  },
  {
    alert: 'PodHardenerConfigReloadFailing',
    what: 'fires on a refused reload',
    series: (t) => [
      {
        series: `pod_hardener_config_reloads_total${sel(t, ',result="error"')}`,
        values: '0 0 1 1 1 1 1',
      },
    ],
    evalTime: '5m',
    firing: (t) => [{ severity: 'warning', namespace: t.namespace, pod: 'p-1' }],
  },
  {
    alert: 'PodHardenerConfigReloadFailing',
    what: 'stays silent on successful reloads',
    series: (t) => [
      {
        series: `pod_hardener_config_reloads_total${sel(t, ',result="success"')}`,
        values: '0 0 1 2 3 4 5',
      },
      { series: `pod_hardener_config_reloads_total${sel(t, ',result="error"')}`, values: '0x6' },
    ],
    evalTime: '5m',
    firing: () => [],
  },
  {
    alert: 'PodHardenerGuardDenials',
    what: 'fires when the guard denies',
    series: (t) => [
      {
        series: `apiserver_validating_admission_policy_check_total{policy="${t.guard}",policy_binding="${t.guard}",error_type="no_error",enforcement_action="deny"}`,
        values: '0 0 2 2 2 2',
      },
    ],
    evalTime: '4m',
    firing: (t) => [{ severity: 'warning', policy: t.guard }],
  },
  {
    alert: 'PodHardenerGuardDenials',
    what: "stays silent on the guard's admissions and on other policies' denials",
    series: (t) => [
      {
        series: `apiserver_validating_admission_policy_check_total{policy="${t.guard}",policy_binding="${t.guard}",error_type="no_error",enforcement_action="allow"}`,
        values: '0+10x6',
      },
      {
        series:
          'apiserver_validating_admission_policy_check_total{policy="other",policy_binding="other",error_type="no_error",enforcement_action="deny"}',
        values: '0+1x6',
      },
    ],
    evalTime: '4m',
    firing: () => [],
  },
];

type Rule = { alert: string; annotations: Record<string, string> };

/** The groups of a PrometheusRule as a plain rules file for promtool. */
function rulesFile(prometheusRule: { spec: { groups: { rules: Rule[] }[] } }): string {
  return writeTemp('rules.yaml', YAML.stringify({ groups: prometheusRule.spec.groups }));
}

/** promtool compares annotations after template expansion; ours only use $labels. */
const expand = (text: string, labels: Record<string, string>) =>
  text.replace(/\{\{ \$labels\.(\w+) \}\}/g, (_, name: string) => labels[name] ?? '');

function promtoolTests(rules: string, groups: { rules: Rule[] }[], target: Target): string {
  const annotationsOf = new Map(
    groups.flatMap((g) => g.rules.map((r) => [r.alert, r.annotations] as const)),
  );
  return YAML.stringify({
    rule_files: [rules],
    evaluation_interval: '1m',
    tests: CASES.map((c) => ({
      name: `${c.alert} ${c.what}`,
      interval: '1m',
      input_series: c.series(target),
      alert_rule_test: [
        {
          eval_time: c.evalTime,
          alertname: c.alert,
          exp_alerts: c.firing(target).map((labels) => ({
            exp_labels: labels,
            exp_annotations: Object.fromEntries(
              Object.entries(annotationsOf.get(c.alert) ?? {}).map(([k, v]) => [
                k,
                expand(v, labels),
              ]),
            ),
          })),
        },
      ],
    })),
  });
}

const shipped = YAML.parse(
  readFileSync(join(REPO, 'manifests', 'components', 'monitoring', 'prometheusrule.yaml'), 'utf8'),
);

let promtool: string;
beforeAll(() => {
  promtool = goTool('promtool');
  goTool('helm');
}, BUILD_TIMEOUT_MS);

describe('alert rules', () => {
  test('every alert of the rules has cases that make it fire and cases that must not', () => {
    const alerts = shipped.spec.groups
      .flatMap((g: { rules: Rule[] }) => g.rules.map((r) => r.alert))
      .sort();
    const target: Target = {
      job: 'pod-hardener',
      namespace: 'pod-hardener',
      guard: 'pod-hardener-guard',
      timeoutSeconds: 5,
    };
    expect(
      [...new Set(CASES.filter((c) => c.firing(target).length > 0).map((c) => c.alert))].sort(),
    ).toEqual(alerts);
    expect(
      [...new Set(CASES.filter((c) => c.firing(target).length === 0).map((c) => c.alert))].sort(),
    ).toEqual(alerts);
  });

  test.each<[string, () => { spec: { groups: { rules: Rule[] }[] } }, Target]>([
    [
      'the shipped rules',
      () => shipped,
      {
        job: 'pod-hardener',
        namespace: 'pod-hardener',
        guard: 'pod-hardener-guard',
        timeoutSeconds: 5,
      },
    ],
    [
      "the chart's rules for release ph in namespace security, timeoutSeconds 10",
      () =>
        helmTemplate(
          { monitoring: { prometheusRule: { enabled: true } }, webhook: { timeoutSeconds: 10 } },
          { release: 'ph', namespace: 'security' },
        ).find((o) => o.kind === 'PrometheusRule') as any,
      {
        job: 'ph-pod-hardener',
        namespace: 'security',
        guard: 'ph-pod-hardener-guard',
        timeoutSeconds: 10,
      },
    ],
  ])('%s: promtool check rules and promtool test rules', (_what, load, target) => {
    const rule = load();
    const rules = rulesFile(rule);
    expect(runOk(promtool, ['check', 'rules', rules])).toMatch(/SUCCESS: \d+ rules found/);
    const tests = writeTemp('tests.yaml', promtoolTests(rules, rule.spec.groups, target));
    expect(runOk(promtool, ['test', 'rules', tests])).toMatch(/SUCCESS/);
  });

  test(`each alert has a severity, a summary, and a runbook_url to its section of ${RUNBOOK_DOC}`, () => {
    const anchors = headings(readDoc(RUNBOOK_DOC)).map((h) => h.anchor);
    for (const r of shipped.spec.groups.flatMap((g: { rules: any[] }) => g.rules)) {
      expect([r.alert, r.labels.severity]).toEqual([
        r.alert,
        expect.stringMatching(/^(critical|warning)$/),
      ]);
      expect(r.annotations.summary).toBeTruthy();
      expect(r.annotations.runbook_url).toBe(
        `https://github.com/pod-hardener/pod-hardener/blob/main/${RUNBOOK_DOC}#${r.alert.toLowerCase()}`,
      );
      expect({ alert: r.alert, runbook: anchors.includes(r.alert.toLowerCase()) }).toEqual({
        alert: r.alert,
        runbook: true,
      });
    }
  });
});
