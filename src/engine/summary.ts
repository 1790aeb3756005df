import { changeShort, targetShort } from './describe';
import type { Change } from './types';

/**
 * The value of the pod-hardener.io/hardened annotation, so `kubectl get pod -o yaml` explains
 * itself: groups of `what [targets]` separated by `; `, for example
 * `runAsUser=1000 [pod]; allowPrivilegeEscalation=false [app,sidecar]`.
 *
 * When the webhook is invoked again (reinvocation after a sidecar injector), the new changes are
 * merged into what the annotation already says, so it keeps describing the whole pod.
 */
export function summarize(existing: string | undefined, changes: readonly Change[]): string {
  const groups = new Map<string, Set<string>>();
  const add = (what: string, targets: string[]) => {
    let set = groups.get(what);
    if (!set) groups.set(what, (set = new Set()));
    targets.forEach((t) => set!.add(t));
  };
  for (const part of (existing ?? '').split('; ')) {
    if (part.trim() === '') continue;
    const m = /^(.*) \[([^\]]*)\]$/.exec(part);
    if (m) add(m[1], m[2].split(',').filter(Boolean));
    else add(part, []);
  }
  for (const change of changes) add(changeShort(change), [targetShort(change.target)]);
  return [...groups].map(([what, targets]) => (targets.size ? `${what} [${[...targets].join(',')}]` : what)).join('; ');
}
