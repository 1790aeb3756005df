import { changeText, targetShort, targetText } from '../engine/describe';
import { isException, noticeText } from '../engine/notices';
import type { Change, Notice } from '../engine/types';
import { AuditKeys } from '../names';
import type { Mode } from './types';

/**
 * The API server may truncate single warnings over 256 characters and drops what passes a
 * total of about 4 KiB; we stay under both and say where the rest is.
 */
const MAX_WARNING = 250;
const MAX_WARNINGS_TOTAL = 3800;

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 3)}...`;
}

/**
 * A fix ends with the way out that always works (the skip annotation or the operator's
 * exemption, naming the container), so a long one loses its middle instead: a container name
 * as long as Kubernetes allows still leaves that end whole.
 */
const FIX_TAIL = 110;
function clipMiddle(text: string, max: number): string {
  if (text.length <= max) return text;
  return `${text.slice(0, max - FIX_TAIL - 5)} ... ${text.slice(-FIX_TAIL)}`;
}

/** One warning per change and per notice (two for what may stop working), as kubectl shows them. */
export function warningsFor(
  mode: Mode,
  changes: readonly Change[],
  notices: readonly Notice[],
): string[] {
  const prefix =
    mode === 'audit' ? 'pod-hardener (audit only, nothing changed): would change' : 'pod-hardener:';
  // What may stop the workload comes first: when the warnings are cut short, it must not be.
  const risks = notices.filter((n) => n.kind === 'mayStopWorking');
  const others = notices.filter((n) => n.kind !== 'mayStopWorking');
  // Made one at a time, and only until the budget is spent: a pod with thousands of containers
  // has tens of thousands of changes, and only the first fit.
  const said = (n: Notice) =>
    noticeText(n).map((text, line) =>
      (line === 0 ? clip : clipMiddle)(
        `pod-hardener: ${targetText(n.target)}: ${text}`,
        MAX_WARNING,
      ),
    );
  function* lines(): Generator<string> {
    for (const n of risks) yield* said(n);
    for (const c of changes)
      yield clip(`${prefix} ${targetText(c.target)}: ${changeText(c)}`, MAX_WARNING);
    for (const n of others) yield* said(n);
  }
  const out: string[] = [];
  let total = 0;
  let i = 0;
  for (const text of lines()) {
    if (total + text.length > MAX_WARNINGS_TOTAL) {
      // Counted only here: most reviews never reach the budget.
      const all =
        risks.reduce((n, r) => n + noticeText(r).length, 0) + changes.length + others.length;
      out.push(`pod-hardener: ${all - i} more; see the pod-hardener audit annotations and logs`);
      break;
    }
    out.push(text);
    total += text.length;
    i++;
  }
  return out;
}

/** Compact summary for the API server audit log (keys are prefixed there with the webhook's name). */
export function auditAnnotationsFor(
  mode: Mode,
  decision: string,
  summary: string,
  notices: readonly Notice[],
): Record<string, string> {
  const out: Record<string, string> = { [AuditKeys.mode]: mode, [AuditKeys.decision]: decision };
  if (summary !== '') out[AuditKeys.changes] = clip(summary, 2000);
  const exceptions = notices
    .filter((n) => isException(n.kind))
    .map((n) => `${n.kind}@${targetShort(n.target)}`);
  if (exceptions.length > 0)
    out[AuditKeys.exceptions] = clip([...new Set(exceptions)].join(','), 1000);
  return out;
}
