/**
 * The Grafana dashboard (manifests/components/monitoring/grafana-dashboard.json, which the chart
 * shares): its PromQL expressions with the dashboard variables put in, and the metric names they
 * read, for the tests that hold those names to what the webhook and the API server export.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from './tools';

export const DASHBOARD_FILE = 'manifests/components/monitoring/grafana-dashboard.json';

/**
 * What the API server exports that the dashboard reads, as sample names (histograms by their
 * _bucket and _count series). An e2e test scrapes a real kube-apiserver for each.
 */
export const APISERVER_SAMPLES = [
  'apiserver_admission_webhook_rejection_count',
  'apiserver_admission_webhook_fail_open_count',
  'apiserver_admission_webhook_admission_duration_seconds_bucket',
  'apiserver_admission_webhook_admission_duration_seconds_count',
  'apiserver_mutating_admission_policy_check_total',
  'apiserver_mutating_admission_policy_check_duration_seconds_bucket',
  'apiserver_validating_admission_policy_check_total',
];

/** Series Prometheus writes itself for each scrape target. */
export const PROMETHEUS_SAMPLES = ['up'];

export interface DashboardQuery {
  panel: string;
  expr: string;
}

export function readDashboard(): any {
  return JSON.parse(readFileSync(join(REPO, DASHBOARD_FILE), 'utf8'));
}

/** Every query of every panel (rows included), and the selectors of the query variables. */
export function dashboardQueries(dashboard = readDashboard()): DashboardQuery[] {
  const out: DashboardQuery[] = [];
  const walk = (panels: any[]) => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? []) out.push({ panel: p.title, expr: t.expr });
      walk(p.panels);
    }
  };
  walk(dashboard.panels);
  for (const v of dashboard.templating.list) {
    if (v.type !== 'query') continue;
    // label_values(SELECTOR, label) is Grafana's, not PromQL: its selector is.
    const m = /^label_values\((.*),\s*[a-zA-Z_]\w*\)$/.exec(v.query.query);
    if (!m)
      throw new Error(`variable ${v.name}: not label_values(selector, label): ${v.query.query}`);
    out.push({ panel: `variable ${v.name}`, expr: m[1] });
  }
  return out;
}

/** An expression as Prometheus receives it: Grafana's variables replaced by their defaults. */
export function substituteVariables(expr: string, dashboard = readDashboard()): string {
  const values: Record<string, string> = { __rate_interval: '5m' };
  for (const v of dashboard.templating.list) {
    if (v.type === 'textbox') values[v.name] = v.query;
    else if (v.type === 'query') values[v.name] = v.allValue;
  }
  return expr.replace(/\$\{?(\w+)\}?/g, (whole, name: string) => {
    if (!(name in values)) throw new Error(`unknown dashboard variable ${whole} in ${expr}`);
    return values[name];
  });
}

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'offset',
  'bool',
  'and',
  'or',
  'unless',
  'inf',
  'nan',
]);

/**
 * The metric names an expression reads: identifiers outside strings, label matchers, grouping
 * clauses and ranges that are not function calls or keywords. Our expressions name every
 * metric before a `{` selector, which this relies on and checks.
 */
export function metricNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ');
  const names = new Set<string>();
  for (const m of stripped.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const rest = stripped.slice(m.index + m[0].length);
    if (/^\s*\(/.test(rest) || KEYWORDS.has(m[0].toLowerCase())) continue;
    const before = stripped.slice(0, m.index);
    // Label names inside a selector's braces.
    if ((before.match(/\{/g) ?? []).length > (before.match(/\}/g) ?? []).length) continue;
    if (!/^\{/.test(rest)) throw new Error(`${m[0]} in ${expr}: a metric without a {selector}`);
    names.add(m[0]);
  }
  return [...names];
}

/** The sample names in a Prometheus text exposition. */
export function exposedSamples(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (m) out.add(m[1]);
  }
  return out;
}

/** The label names an expression matches on or groups by (`le` of histograms included). */
export function labelNames(expr: string): string[] {
  const noStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  const out = new Set<string>();
  for (const m of noStrings.matchAll(/\b(?:by|without|on|ignoring)\s*\(([^)]*)\)/g))
    for (const l of m[1].split(',')) if (l.trim()) out.add(l.trim());
  for (const m of noStrings.matchAll(/\{([^}]*)\}/g))
    for (const matcher of m[1].split(',')) {
      const name = /^\s*([a-zA-Z_]\w*)\s*(=~|!~|!=|=)/.exec(matcher);
      if (name) out.add(name[1]);
    }
  return [...out];
}

/** The label names each sample of a metric carries in a Prometheus text exposition. */
export function exposedLabels(text: string, sample: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${sample}{`)) continue;
    for (const m of line.slice(sample.length).matchAll(/([a-zA-Z_]\w*)="/g)) out.add(m[1]);
  }
  return out;
}

/** For each metric the dashboard reads: the label names its queries use with it. */
export function labelsByMetric(dashboard = readDashboard()): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const q of dashboardQueries(dashboard)) {
    const names = metricNames(q.expr);
    // Our queries read one metric each, so every label they name is that metric's.
    if (names.length !== 1) throw new Error(`${q.panel}: ${q.expr} reads ${names.length} metrics`);
    const labels = out.get(names[0]) ?? new Set<string>();
    for (const l of labelNames(q.expr)) labels.add(l);
    out.set(names[0], labels);
  }
  return out;
}

/** Labels Prometheus adds to every series of a target it scrapes through a ServiceMonitor. */
export const TARGET_LABELS = ['job', 'namespace', 'pod', 'instance'];
