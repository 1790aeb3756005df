import type { Rule } from '../context';

/**
 * Identity: never the root group through supplementary groups.
 * - `0` is removed from `supplementalGroups`: a UID-1000 process in group 0 reads and writes
 *   whatever the root group owns (a hostPath to the runtime socket, `root:root 0660`, is the node).
 * - `supplementalGroupsPolicy: Strict` where the operator turns it on (hardening.
 *   supplementalGroupsPolicy: strict): the kubelet otherwise also adds the groups the image's
 *   /etc/group gives the run UID, group 0 included, without the pod saying so. Off by default,
 *   because a kubelet whose runtime lacks it (containerd < 2.0) refuses every pod that sets it.
 * Pod level only, on creation, and only where some container is hardened (see fs-group.ts).
 */
export const supplementalGroups: Rule = (ctx) => {
  if (!ctx.podLevelMutable || ctx.targets.length === 0) return;
  const groups = ctx.podSecurityContext()?.supplementalGroups;
  if (Array.isArray(groups) && groups.includes(0)) {
    const kept = groups.filter((g) => g !== 0);
    const sc = ctx.writablePodSecurityContext();
    if (kept.length > 0) sc.supplementalGroups = kept;
    else delete sc.supplementalGroups;
    ctx.changes.push({
      rule: 'supplementalGroups',
      target: { kind: 'pod' },
      field: 'securityContext.supplementalGroups',
      from: groups,
      to: kept,
      removed: ['0'],
    });
  }
  if (ctx.policy.settings.supplementalGroupsPolicy !== 'strict') return;
  const policy = ctx.podSecurityContext()?.supplementalGroupsPolicy;
  if (policy === 'Strict') return;
  ctx.writablePodSecurityContext().supplementalGroupsPolicy = 'Strict';
  ctx.record(
    'supplementalGroupsPolicy',
    { kind: 'pod' },
    'securityContext.supplementalGroupsPolicy',
    policy,
    'Strict',
  );
};
