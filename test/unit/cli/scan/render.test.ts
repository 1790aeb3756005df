/**
 * scan's outputs: the table a person reads, and the JSON/YAML report whose schema scripts rely
 * on (pinned here key by key, and against docs/scan.md, which documents it).
 */
import YAML from 'yaml';
import { analyze } from '../../../../src/cli/scan/analyze';
import { render } from '../../../../src/cli/scan/render';
import {
  REPORT_KIND,
  SCHEMA_VERSION,
  summarize,
  type ScanReport,
} from '../../../../src/cli/scan/report-schema';
import { elidedMismatch, readDoc, section } from '../../../support/markdown';
import { policyWith } from '../../../support/policy';
import { HARDENED_SPEC, shopNamespace, storedPod } from '../../../support/stored-pods';

/** The page that documents the JSON report, key by key. */
const SCAN_DOC = 'docs/scan.md';

function report(
  namespaces = [shopNamespace(), { ...shopNamespace(), name: 'kube-system' }],
): ScanReport {
  const ns = analyze(namespaces, {
    policy: policyWith({ skipNamespaces: ['*'] }),
    webhookNamespace: 'pod-hardener',
  });
  return {
    schemaVersion: SCHEMA_VERSION,
    kind: REPORT_KIND,
    context: 'e2e',
    server: 'https://127.0.0.1:6443',
    config: null,
    webhookNamespace: 'pod-hardener',
    summary: summarize(ns),
    namespaces: ns,
  };
}

describe('table', () => {
  const text = render(report(), 'table');
  const lines = text.split('\n');

  it('one row per workload, with what would change, risks and exceptions', () => {
    expect(lines[0]).toMatch(
      /^NAMESPACE\s+MODE\s+OWNER\s+PODS\s+WOULD CHANGE\s+MAY STOP WORKING\s+EXCEPTIONS$/,
    );
    const row = (owner: string) =>
      lines.find((l) => l.startsWith('shop ') && l.includes(` ${owner} `))?.split(/\s{2,}/);
    expect(row('Deployment/web')).toEqual([
      'shop',
      'off',
      'Deployment/web',
      '2',
      'yes',
      'runsAsRoot',
      '-',
    ]);
    expect(row('Pod/hardened')).toEqual(['shop', 'off', 'Pod/hardened', '1', 'no', '-', '-']);
    expect(row('Pod/skipped')).toEqual([
      'shop',
      'off',
      'Pod/skipped',
      '1',
      'skipped',
      '-',
      'skipPod',
    ]);
    expect(row('DaemonSet/agent')).toEqual([
      'shop',
      'off',
      'DaemonSet/agent',
      '1',
      'yes',
      'hostNamespace,runsAsRoot,capabilitiesLost',
      'capabilityAllowlist',
    ]);
  });

  it('an excluded namespace is one row: not reached', () => {
    expect(lines.find((l) => l.startsWith('kube-system'))?.split(/\s{2,}/)).toEqual([
      'kube-system',
      'excluded',
      '(8 owners)',
      '9',
      'not reached',
      '-',
      '-',
    ]);
    expect(text).not.toMatch(/^kube-system:/m);
  });

  it('details per workload: pods with the same result shown once, pod level first', () => {
    const start = lines.indexOf('  Deployment/web (via ReplicaSet/web-7d9c6b5f8d), 2 pods');
    expect(start).toBeGreaterThan(0);
    expect(lines.slice(start + 1, start + 5)).toEqual([
      '    would change:',
      '      pod: runAsUser unset -> 1000',
      '      pod: runAsGroup unset -> 3000',
      '      pod: runAsNonRoot unset -> true',
    ]);
    expect(text.match(/Deployment\/web \(via/g)).toHaveLength(1);
    expect(text).toContain(
      'pod: sysctls: added net.ipv4.ip_unprivileged_port_start=0, so that non-root processes bind ports below 1024 (needed by web:80)',
    );
    expect(text).not.toContain('  Pod/hardened,');
  });

  it('pods of one workload that differ are shown per group, with their names', () => {
    const data = shopNamespace();
    const rs = data.refs.rs;
    data.pods = [
      storedPod('web-new', HARDENED_SPEC, { owner: rs }),
      storedPod('web-old', { containers: [{ name: 'web', image: 'nginx' }] }, { owner: rs }),
    ];
    const t = render(report([data]), 'table');
    expect(t).toContain('    1 pod (web-new):\n      nothing to change\n');
    expect(t).toContain('    1 pod (web-old):\n      would change:\n');
    expect(t).toMatch(/^shop\s+off\s+Deployment\/web\s+2\s+1 of 2\s/m);
  });

  it('ends with a summary', () => {
    expect(lines.at(-2)).toBe(
      '2 namespaces, 16 owners, 18 pods; 7 would change (6 owners), 7 may stop working, 1 skipped, 0 refused; 9 not reached (kube-system: never sent to the webhook).',
    );
  });

  it('says when there is nothing to scan', () => {
    expect(render(report([]), 'table')).toMatch(
      /^No namespace to scan\.\n0 namespaces, 0 owners, 0 pods; /,
    );
  });
});

describe(`the table example of ${SCAN_DOC}`, () => {
  // `$ kubectl harden scan -n shop` and what it prints, with elisions: the shop namespace of
  // test/support/stored-pods.ts, as a cluster's API server would return it.
  const example = /```\w*\n\$ kubectl harden scan -n shop\n([\s\S]*?)```/.exec(
    readDoc(SCAN_DOC),
  )?.[1];

  it('is on the page', () => expect(example).toBeDefined());

  it('is what scan prints for the shop namespace', () => {
    const printed = render(report([shopNamespace()]), 'table')
      .trimEnd()
      .split('\n');
    expect(elidedMismatch((example ?? '').trimEnd().split('\n'), printed)).toBeUndefined();
  });
});

describe('JSON and YAML', () => {
  it('JSON is the report, and YAML the same data', () => {
    const r = report();
    expect(JSON.parse(render(r, 'json'))).toEqual(r);
    expect(YAML.parse(render(r, 'yaml'))).toEqual(r);
  });

  it('YAML never uses anchors, even for values shared in memory', () => {
    const r = report();
    const shared = r.namespaces[1].workloads[0].via;
    r.namespaces[1].workloads[1].via = shared;
    const text = render(r, 'yaml');
    expect(text).not.toMatch(/[&*][a-z]+\d*$/m);
    expect(YAML.parse(text)).toEqual(JSON.parse(JSON.stringify(r)));
  });
});

describe('the JSON schema', () => {
  const r = JSON.parse(render(report(), 'json'));
  const shop = r.namespaces.find((n: any) => n.name === 'shop');
  const pods = shop.workloads.flatMap((w: any) => w.pods);
  const agent = pods.find((p: any) => p.name === 'agent-x1');
  const objects: Record<string, any> = {
    report: r,
    summary: r.summary,
    namespace: shop,
    workload: shop.workloads[0],
    pod: agent,
    change: agent.changes[0],
    exception: agent.exceptions[0],
    risk: agent.risks[0],
  };
  const keys: Record<string, string[]> = {
    report: [
      'schemaVersion',
      'kind',
      'context',
      'server',
      'config',
      'webhookNamespace',
      'summary',
      'namespaces',
    ],
    summary: [
      'namespaces',
      'workloads',
      'pods',
      'podsAnalysed',
      'podsToChange',
      'podsWithRisks',
      'podsSkipped',
      'podsRefused',
      'podsNotReached',
      'workloadsToChange',
    ],
    namespace: ['name', 'mode', 'label', 'reason', 'workloads'],
    workload: ['kind', 'name', 'via', 'pods'],
    pod: [
      'name',
      'uid',
      'phase',
      'verdict',
      'changes',
      'exceptions',
      'notes',
      'risks',
      'hardened',
      'error',
    ],
    change: ['rule', 'target', 'field', 'from', 'to', 'removed', 'text'],
    exception: ['kind', 'target', 'message', 'honoured'],
    risk: [
      'kind',
      'target',
      'reason',
      'fix',
      'port',
      'capabilities',
      'hostNamespaces',
      'volume',
      'path',
      'root',
    ],
  };

  it(`is version ${SCHEMA_VERSION}, kind ${REPORT_KIND}: a change of these keys needs a new schemaVersion`, () => {
    expect(r.schemaVersion).toBe(1);
    expect(r.kind).toBe('PodHardenerScan');
    for (const [name, object] of Object.entries(objects))
      expect([name, Object.keys(object)]).toEqual([name, keys[name]]);
    for (const p of pods) expect(Object.keys(p)).toEqual(keys.pod);
    for (const risk of pods.flatMap((p: any) => p.risks))
      expect(Object.keys(risk)).toEqual(keys.risk);
  });

  it(`every key is documented in ${SCAN_DOC}`, () => {
    const documented = section(readDoc(SCAN_DOC), 'The JSON report', SCAN_DOC);
    for (const [name, list] of Object.entries(keys))
      for (const key of list)
        expect([name, key, documented.includes(`\`${key}\``)]).toEqual([name, key, true]);
  });
});
