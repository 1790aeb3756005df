/**
 * The Grafana dashboard: every query parses with promtool (with the dashboard's variables put
 * in), reads only metrics that the webhook or the API server export (the http tier scrapes the
 * webhook, the e2e tier the API server), and ships in the chart and the monitoring component.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import {
  APISERVER_SAMPLES,
  DASHBOARD_FILE,
  dashboardQueries,
  metricNames,
  PROMETHEUS_SAMPLES,
  readDashboard,
  substituteVariables,
} from '../../support/dashboard';
import {
  BUILD_TIMEOUT_MS,
  goTool,
  helmTemplate,
  kustomizeWith,
  REPO,
  run,
  writeTemp,
} from '../../support/tools';
import { readDoc, section } from '../../support/markdown';

const DOC = 'docs/operations.md';
const MAP_API = 'admissionregistration.k8s.io/v1/MutatingAdmissionPolicy';
const CHART_COPY = 'charts/pod-hardener/files/grafana-dashboard.json';

let promtool: string;
beforeAll(() => {
  promtool = goTool('promtool');
  goTool('helm');
}, BUILD_TIMEOUT_MS);

/** promtool's verdict on expressions, each as a recording rule of its own file. */
function promtoolCheck(exprs: string[]): { status: number | null; output: string } {
  const rules = writeTemp(
    'dashboard-rules.yaml',
    YAML.stringify({
      groups: [
        { name: 'dashboard', rules: exprs.map((expr, i) => ({ record: `dashboard:q${i}`, expr })) },
      ],
    }),
  );
  const r = run(promtool, ['check', 'rules', '--lint=none', rules]);
  return { status: r.status, output: r.stdout + r.stderr };
}

describe('grafana dashboard queries', () => {
  const queries = dashboardQueries();

  test('the dashboard has its panels, each with at least one query', () => {
    expect(queries.length).toBeGreaterThan(20);
    const titles = new Set(queries.map((q) => q.panel));
    for (const wanted of [
      /Reviews per second by mode and decision/,
      /Review latency/,
      /errors by code/i,
      /Transport failures/,
      /API server: webhook calls failed/,
      /API server: webhook call latency/,
      /Exceptions honoured and denied/,
      /certificate expires/i,
      /Image identity lookups/,
      /MutatingAdmissionPolicy checks/,
      /Guard and audit policy findings/,
    ])
      expect([...titles].some((t) => wanted.test(t))).toBe(true);
  });

  test('every query parses with promtool once the variables are put in', () => {
    const exprs = queries.map((q) => substituteVariables(q.expr));
    const r = promtoolCheck(exprs);
    expect(r.output).toMatch(new RegExp(`SUCCESS: ${exprs.length} rules found`));
    expect(r.status).toBe(0);
  });

  test('promtool refuses a broken query (the check can fail)', () => {
    const broken = substituteVariables(queries[0].expr).replace(/\)\)$/, ')');
    const r = promtoolCheck([broken]);
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/parse error|unclosed/i);
  });

  test("every metric read is the webhook's (pod_hardener_*), a listed API server one, or up", () => {
    const used = new Set<string>();
    for (const q of queries) {
      const names = metricNames(q.expr);
      expect({ panel: q.panel, names: names.length > 0 }).toEqual({ panel: q.panel, names: true });
      for (const n of names) used.add(n);
    }
    const foreign = [...used].filter(
      (n) =>
        !n.startsWith('pod_hardener_') &&
        !APISERVER_SAMPLES.includes(n) &&
        !PROMETHEUS_SAMPLES.includes(n),
    );
    expect(foreign).toEqual([]);
    // The list the e2e tier checks holds only names the dashboard reads.
    expect(APISERVER_SAMPLES.filter((n) => !used.has(n))).toEqual([]);
  });

  test('metricNames finds names and not labels, functions or keywords', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (le, name) (rate(a_bucket{name=~"x{y}"}[5m]))) or on (name) b_total{c="d"} > bool 1',
      ),
    ).toEqual(['a_bucket', 'b_total']);
  });
});

describe('grafana dashboard objects', () => {
  test('the chart holds the same bytes as manifests/ (copy the manifests file to the chart)', () => {
    expect(readFileSync(join(REPO, CHART_COPY), 'utf8')).toBe(
      readFileSync(join(REPO, DASHBOARD_FILE), 'utf8'),
    );
  });

  const dashboards = (objects: any[]) =>
    objects.filter((o) => o.kind === 'ConfigMap' && o.metadata.name.endsWith('grafana-dashboard'));

  test('the chart renders no dashboard unless asked', () => {
    expect(dashboards(helmTemplate({}))).toEqual([]);
    expect(dashboards(helmTemplate({ monitoring: { serviceMonitor: { enabled: true } } }))).toEqual(
      [],
    );
  });

  test.each(['webhook', 'policy'])(
    'mode %s: the chart renders the dashboard ConfigMap with the sidecar label',
    (mode) => {
      const [cm, ...rest] = dashboards(
        helmTemplate(
          { mode, monitoring: { grafanaDashboard: { enabled: true } } },
          // Policy mode renders only where the cluster serves MutatingAdmissionPolicy.
          { extraArgs: ['--kube-version', '1.36.5', '--api-versions', MAP_API] },
        ),
      );
      expect(rest).toEqual([]);
      expect(cm.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
      expect(cm.data['pod-hardener.json']).toBe(readFileSync(join(REPO, DASHBOARD_FILE), 'utf8'));
      expect(JSON.parse(cm.data['pod-hardener.json'])).toEqual(readDashboard());
    },
  );

  test('the sidecar label, namespace, labels and annotations are configurable', () => {
    const [cm] = dashboards(
      helmTemplate({
        monitoring: {
          grafanaDashboard: {
            enabled: true,
            sidecarLabel: 'example.com/dashboard',
            sidecarLabelValue: 'yes',
            namespace: 'monitoring',
            labels: { team: 'platform' },
            annotations: { grafana_folder: 'Admission' },
          },
        },
      }),
    );
    expect(cm.metadata.namespace).toBe('monitoring');
    expect(cm.metadata.labels).toMatchObject({ 'example.com/dashboard': 'yes', team: 'platform' });
    expect(cm.metadata.labels.grafana_dashboard).toBeUndefined();
    expect(cm.metadata.annotations).toEqual({ grafana_folder: 'Admission' });
  });

  test('the monitoring component ships the same dashboard with the sidecar label', () => {
    const [cm, ...rest] = dashboards(kustomizeWith('.', ['monitoring']));
    expect(rest).toEqual([]);
    expect(cm.metadata.labels).toMatchObject({ grafana_dashboard: '1' });
    expect(cm.data['pod-hardener.json']).toBe(readFileSync(join(REPO, DASHBOARD_FILE), 'utf8'));
  });
});

describe('grafana dashboard documentation', () => {
  test(`${DOC}, "Grafana dashboard", has a row for each panel, in order`, () => {
    const text = section(readDoc(DOC), 'Grafana dashboard', DOC);
    const documented = [...text.matchAll(/^\| ([^|]+?) \|/gm)]
      .map((m) => m[1])
      .filter((t) => t !== 'panel' && !/^-+$/.test(t));
    const panels = readDashboard()
      .panels.filter((p: any) => p.type !== 'row')
      .map((p: any) => p.title);
    expect(documented).toEqual(panels);
  });

  test('each alert the documentation relates to a panel is one the rules raise', () => {
    const text = section(readDoc(DOC), 'Grafana dashboard', DOC);
    const rules = readFileSync(
      join(REPO, 'manifests/components/monitoring/prometheusrule.yaml'),
      'utf8',
    );
    const named = [...text.matchAll(/\[(PodHardener\w+)\]\(#(\w+)\)/g)];
    expect(named.length).toBeGreaterThan(5);
    for (const [, alert, anchor] of named) {
      expect(rules).toContain(`alert: ${alert}`);
      expect(anchor).toBe(alert.toLowerCase());
    }
  });
});
