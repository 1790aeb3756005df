import { changeShort, targetShort } from './describe';
import type { Change } from './types';

/**
 * The longest summary a pod may carry in for merging. A summary pod-hardener wrote lists each
 * kind of change once with the containers it touched, a few KiB for the largest real pods; a
 * longer value did not come from pod-hardener, and merging it would only carry it along.
 */
export const MAX_MERGED_SUMMARY = 64 * 1024;

/**
 * The value of the pod-hardener.io/hardened annotation, so `kubectl get pod -o yaml` explains
 * itself: groups of `what [targets]` separated by `; `, for example
 * `runAsUser=1000 [pod]; allowPrivilegeEscalation=false [app,sidecar]`. The same text is the
 * `changes` audit annotation.
 *
 * When the webhook is invoked again (reinvocation after a sidecar injector), the new changes are
 * merged into what the annotation already says, so it keeps describing the whole pod. The
 * webhook cannot tell that value from one the pod author wrote, so the merge is a report, never
 * a decision: nothing is read from it, it is kept only up to MAX_MERGED_SUMMARY (see
 * hardenedAnnotation), and merging costs time linear in its length (groups and targets are
 * looked up in a Map and Sets, never searched in arrays).
 */
export function summarize(existing: string | undefined, changes: readonly Change[]): string {
  const groups = new Map<string, Set<string>>();
  const add = (what: string, target: string | undefined) => {
    let targets = groups.get(what);
    if (targets === undefined) groups.set(what, (targets = new Set()));
    if (target !== undefined) targets.add(target);
  };
  if (existing) {
    for (const part of existing.split('; ')) {
      if (part.trim() === '') continue;
      const open = part.lastIndexOf(' [');
      if (open < 0 || !part.endsWith(']')) {
        add(part, undefined);
        continue;
      }
      const what = part.slice(0, open);
      add(what, undefined);
      for (const t of part.slice(open + 2, -1).split(',')) if (t) add(what, t);
    }
  }
  for (const change of changes) add(changeShort(change), targetShort(change.target));
  const out: string[] = [];
  for (const [what, targets] of groups)
    out.push(targets.size > 0 ? `${what} [${[...targets].join(',')}]` : what);
  return out.join('; ');
}
