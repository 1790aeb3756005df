/**
 * What `--report` and `--check` print: views of the engine's change list, in the words of
 * engine/describe.ts, the same words as the webhook's warnings.
 */
import { changeText, targetText } from '../../engine/describe';
import { noticeText } from '../../engine/notices';
import type { Target } from '../../engine/types';
import type { ManifestNote, WorkloadResult } from './results';

export function workloadLabel(w: WorkloadResult): string {
  const name = w.name === '' ? '(no name)' : w.name;
  return `${w.kind} ${w.namespace}/${name}`;
}

export function workloadSource(w: WorkloadResult): string {
  if (w.line !== undefined) return `${w.source}:${w.line}`;
  return w.item !== undefined ? `${w.source} items[${w.item}]` : w.source;
}

function noteSource(n: ManifestNote): string {
  return n.line !== undefined ? `${n.source}:${n.line}` : n.source;
}

/**
 * The engine's words for a target, but for native sidecars: an init container with
 * restartPolicy: Always runs beside the app for the pod's whole life, and people call it a
 * sidecar container.
 */
function targetLabel(w: WorkloadResult, t: Target): string {
  if (t.kind !== 'pod' && t.list === 'initContainers' && w.sidecars.includes(t.name))
    return `sidecar container "${t.name}"`;
  return targetText(t);
}

const targetKey = (t: Target) => (t.kind === 'pod' ? '' : `${t.list}\0${t.name}`);

/** Rows grouped by target: the pod first, then containers in the order they first appear. */
function byTarget<T extends { target: Target }>(rows: readonly T[]): T[] {
  const order = new Map<string, number>([['', 0]]);
  const rank = (t: Target) => {
    const key = targetKey(t);
    if (!order.has(key)) order.set(key, order.size);
    return order.get(key)!;
  };
  return rows
    .map((row, i) => ({ row, i, rank: rank(row.target) }))
    .sort((a, b) => a.rank - b.rank || a.i - b.i)
    .map((r) => r.row);
}

/** Rows of one workload: its changes, then its notices, per target. */
function rowsOf(w: WorkloadResult): [target: string, text: string][] {
  const rows = byTarget([
    ...w.changes.map((c) => ({ target: c.target, text: changeText(c) })),
    ...w.notices.flatMap((n) =>
      noticeText(n).map((line, i) => ({
        target: n.target,
        text: i === 0 ? `note: ${line}` : line,
      })),
    ),
  ]);
  if (rows.length === 0) return [['-', 'nothing to change']];
  return rows.map((r) => [targetLabel(w, r.target), r.text]);
}

export interface Totals {
  workloads: number;
  changed: number;
  changes: number;
  skipped: number;
}

export function totals(workloads: readonly WorkloadResult[]): Totals {
  return {
    workloads: workloads.length,
    changed: workloads.filter((w) => w.changes.length > 0).length,
    changes: workloads.reduce((n, w) => n + w.changes.length, 0),
    skipped: workloads.filter((w) => w.skipped).length,
  };
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export function totalsLine(t: Totals): string {
  const unchanged = t.workloads - t.changed - t.skipped;
  return `${plural(t.workloads, 'workload')}: ${t.changed} to harden (${plural(t.changes, 'change')}), ${unchanged} already hardened, ${t.skipped} skipped`;
}

/** The `--report` table: one row per change or notice, grouped by workload and container. */
export function reportTable(
  workloads: readonly WorkloadResult[],
  notes: readonly ManifestNote[],
): string {
  const rows: string[][] = [['SOURCE', 'WORKLOAD', 'TARGET', 'CHANGE']];
  for (const w of workloads) {
    let previousTarget = '';
    rowsOf(w).forEach(([target, text], i) => {
      rows.push([
        i === 0 ? workloadSource(w) : '',
        i === 0 ? workloadLabel(w) : '',
        target === previousTarget ? '' : target,
        text,
      ]);
      previousTarget = target;
    });
  }
  const widths = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c].length)));
  const lines = rows.map((r) =>
    r
      .map((cell, c) => (c < 3 ? cell.padEnd(widths[c]) : cell))
      .join('   ')
      .trimEnd(),
  );
  lines.push('', totalsLine(totals(workloads)));
  for (const n of notes) lines.push(`${noteSource(n)}: ${n.message}`);
  return `${lines.join('\n')}\n`;
}

/** What `--check` prints when something would change: each workload, then each change. */
export function checkText(workloads: readonly WorkloadResult[]): string {
  const lines: string[] = [];
  for (const w of workloads) {
    if (w.changes.length === 0) continue;
    lines.push(`${workloadSource(w)}: ${workloadLabel(w)}: ${plural(w.changes.length, 'change')}`);
    for (const c of byTarget(w.changes))
      lines.push(`  ${targetLabel(w, c.target)}: ${changeText(c)}`);
  }
  lines.push(totalsLine(totals(workloads)));
  return `${lines.join('\n')}\n`;
}

/** Notices and notes for stderr, when the output itself is the manifests. */
export function noticeLines(
  workloads: readonly WorkloadResult[],
  notes: readonly ManifestNote[],
): string[] {
  return [
    ...workloads.flatMap((w) =>
      w.notices.flatMap((n) =>
        noticeText(n).map(
          (line) =>
            `${workloadSource(w)}: ${workloadLabel(w)}: ${targetLabel(w, n.target)}: ${line}`,
        ),
      ),
    ),
    ...notes.map((n) => `${noteSource(n)}: ${n.message}`),
  ];
}
