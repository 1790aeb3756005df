/**
 * The three outputs of scan. JSON and YAML are the report as it is (report-schema.ts is the schema);
 * the table is for a person: one row per workload, then what would change, what may stop
 * working and which exceptions apply, for each workload with something to say. Pods of one
 * workload that would get the same changes are shown once.
 */
import YAML from 'yaml';
import type { Output } from './args';
import type { NamespaceEntry, PodEntry, ScanReport, WorkloadEntry } from './report-schema';

export function render(report: ScanReport, output: Output): string {
  switch (output) {
    case 'json':
      return `${JSON.stringify(report, null, 2)}\n`;
    case 'yaml':
      // No anchors: a script reading the YAML must see every value where it belongs.
      return YAML.stringify(report, { aliasDuplicateObjects: false, lineWidth: 0 });
    case 'table':
      return table(report);
  }
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;
const label = (w: { kind: string; name: string }) => `${w.kind}/${w.name}`;

function columns(rows: readonly string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return (
    rows
      .map((r) =>
        r
          .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i] + 2)))
          .join('')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}

function changeCell(w: WorkloadEntry): string {
  const n = w.pods.length;
  const count = (v: PodEntry['verdict']) => w.pods.filter((p) => p.verdict === v).length;
  const parts: string[] = [];
  const change = count('change');
  if (change > 0) parts.push(change === n ? 'yes' : `${change} of ${n}`);
  if (count('refused') > 0) parts.push(`${count('refused')} refused`);
  if (count('skipped') > 0)
    parts.push(count('skipped') === n ? 'skipped' : `${count('skipped')} skipped`);
  return parts.length > 0 ? parts.join(', ') : 'no';
}

const distinct = (values: Iterable<string>) => [...new Set(values)];

function riskCell(w: WorkloadEntry): string {
  const kinds = distinct(w.pods.flatMap((p) => p.risks.map((r) => r.kind)));
  return kinds.length > 0 ? kinds.join(',') : '-';
}

function exceptionCell(w: WorkloadEntry): string {
  const kinds = distinct(
    w.pods.flatMap((p) => p.exceptions.map((e) => (e.honoured ? e.kind : `${e.kind}(denied)`))),
  );
  return kinds.length > 0 ? kinds.join(',') : '-';
}

function overview(namespaces: readonly NamespaceEntry[]): string {
  const rows = [
    ['NAMESPACE', 'MODE', 'OWNER', 'PODS', 'WOULD CHANGE', 'MAY STOP WORKING', 'EXCEPTIONS'],
  ];
  for (const ns of namespaces) {
    if (ns.mode === 'excluded') {
      const pods = ns.workloads.reduce((n, w) => n + w.pods.length, 0);
      rows.push([
        ns.name,
        ns.mode,
        `(${plural(ns.workloads.length, 'owner')})`,
        String(pods),
        'not reached',
        '-',
        '-',
      ]);
      continue;
    }
    for (const w of ns.workloads)
      rows.push([
        ns.name,
        ns.mode,
        label(w),
        String(w.pods.length),
        changeCell(w),
        riskCell(w),
        exceptionCell(w),
      ]);
  }
  return columns(rows);
}

/** The pod level first, then each container in the order it first appears (sort is stable). */
function byTarget<T extends { target: string }>(rows: readonly T[]): T[] {
  const order = new Map<string, number>([['pod', 0]]);
  for (const r of rows) if (!order.has(r.target)) order.set(r.target, order.size);
  return [...rows].sort((a, b) => order.get(a.target)! - order.get(b.target)!);
}

/** What a pod's entry says, without its name: pods with the same text are shown together. */
function podLines(p: PodEntry): string[] {
  const lines: string[] = [];
  const section = (title: string, items: string[]) => {
    if (items.length > 0) lines.push(`${title}:`, ...items.map((i) => `  ${i}`));
  };
  if (p.verdict === 'skipped') lines.push('skipped: admitted as it is');
  if (p.verdict === 'refused') lines.push(`refused: ${p.error ?? ''}`);
  section(
    'would change',
    byTarget(p.changes).map((c) => `${c.target}: ${c.text}`),
  );
  section(
    'may stop working',
    p.risks.flatMap((r) => [`${r.target}: ${r.reason}`, `${r.target}: fix: ${r.fix}`]),
  );
  section(
    'exceptions',
    p.exceptions.map((e) => `${e.target}: ${e.honoured ? '' : 'denied: '}${e.message}`),
  );
  section(
    'notes',
    p.notes.map((n) => `${n.target}: ${n.message}`),
  );
  return lines;
}

function names(pods: readonly PodEntry[]): string {
  const shown = pods.slice(0, 3).map((p) => p.name);
  return pods.length > 3 ? `${shown.join(', ')} and ${pods.length - 3} more` : shown.join(', ');
}

function workloadDetails(w: WorkloadEntry): string[] {
  const variants = new Map<string, { lines: string[]; pods: PodEntry[] }>();
  for (const p of w.pods) {
    const lines = podLines(p);
    const key = lines.join('\n');
    const v = variants.get(key);
    if (v) v.pods.push(p);
    else variants.set(key, { lines, pods: [p] });
  }
  if ([...variants.keys()].every((k) => k === '')) return [];
  const via = w.via.length > 0 ? ` (via ${w.via.map(label).join(', ')})` : '';
  const out = [`  ${label(w)}${via}, ${plural(w.pods.length, 'pod')}`];
  for (const v of variants.values()) {
    const lines = v.lines.length > 0 ? v.lines : ['nothing to change'];
    if (variants.size > 1)
      out.push(
        `    ${plural(v.pods.length, 'pod')} (${names(v.pods)}):`,
        ...lines.map((l) => `      ${l}`),
      );
    else out.push(...lines.map((l) => `    ${l}`));
  }
  return out;
}

function summaryLine(report: ScanReport): string {
  const s = report.summary;
  const parts = [
    `${plural(s.namespaces, 'namespace')}, ${plural(s.workloads, 'owner')}, ${plural(s.pods, 'pod')}`,
    `${s.podsToChange} would change (${plural(s.workloadsToChange, 'owner')}), ${s.podsWithRisks} may stop working, ${s.podsSkipped} skipped, ${s.podsRefused} refused`,
  ];
  const excluded = report.namespaces.filter((n) => n.mode === 'excluded').map((n) => n.name);
  if (excluded.length > 0)
    parts.push(
      `${s.podsNotReached} not reached (${excluded.join(', ')}: never sent to the webhook)`,
    );
  return `${parts.join('; ')}.\n`;
}

function table(report: ScanReport): string {
  if (report.namespaces.length === 0) return `No namespace to scan.\n${summaryLine(report)}`;
  let out = overview(report.namespaces);
  for (const ns of report.namespaces) {
    if (ns.mode === 'excluded') continue;
    const details = ns.workloads.flatMap(workloadDetails);
    out += `\n${ns.name}: ${ns.reason}\n`;
    out +=
      details.length > 0
        ? `${details.join('\n')}\n`
        : `  ${ns.workloads.length === 0 ? 'no pods' : 'nothing to change'}\n`;
  }
  return `${out}\n${summaryLine(report)}`;
}
