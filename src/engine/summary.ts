import { changeShort, targetShort } from './describe';
import type { Change } from './types';

/**
 * The value of the pod-hardener.io/hardened annotation, so `kubectl get pod -o yaml` explains
 * itself: groups of `what [targets]` separated by `; `, for example
 * `runAsUser=1000 [pod]; allowPrivilegeEscalation=false [app,sidecar]`. The same text is the
 * `changes` audit annotation.
 *
 * When the webhook is invoked again (reinvocation after a sidecar injector), the new changes are
 * merged into what the annotation already says, so it keeps describing the whole pod.
 *
 * Runs on every review that changes something: plain loops and small arrays (a pod has a
 * handful of groups and targets), no regular expression on the common path.
 */
export function summarize(existing: string | undefined, changes: readonly Change[]): string {
  const whats: string[] = [];
  const targets: string[][] = [];
  const add = (what: string, target: string | undefined) => {
    let i = whats.indexOf(what);
    if (i < 0) {
      i = whats.push(what) - 1;
      targets.push([]);
    }
    if (target !== undefined && !targets[i].includes(target)) targets[i].push(target);
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
  let out = '';
  for (let i = 0; i < whats.length; i++) {
    if (i > 0) out += '; ';
    out += targets[i].length ? `${whats[i]} [${targets[i].join(',')}]` : whats[i];
  }
  return out;
}
