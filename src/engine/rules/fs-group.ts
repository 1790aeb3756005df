import { effective, isNonRootId, type Rule, type RuleContext } from '../context';
import type { Json } from '../types';

/**
 * Volume kinds the kubelet writes itself and mounts read-only: fsGroup is not needed for a
 * non-root process to read them. Every other kind (emptyDir, persistentVolumeClaim, ephemeral,
 * CSI, ...) may need to be written by the container.
 */
export const READ_ONLY_KINDS: readonly string[] = [
  'configMap',
  'secret',
  'downwardAPI',
  'projected',
];

function hasWritableVolume(volumes: Json | undefined): boolean {
  if (!Array.isArray(volumes)) return false;
  return volumes.some(
    (v) =>
      typeof v === 'object' &&
      v !== null &&
      !Array.isArray(v) &&
      !READ_ONLY_KINDS.some((k) => v[k] != null),
  );
}

/**
 * The group volumes are given to: the group the hardened containers run as, when they all agree
 * (a Deployment whose image runs as 1001:2001 gets fsGroup 2001, which its process already has),
 * else the configured run group. Runs after run-as-group.ts, so every effective group is non-zero.
 */
export function runGroup(ctx: RuleContext): number {
  let agreed: number | undefined;
  for (const t of ctx.targets) {
    const gid = effective(ctx, t.container, 'runAsGroup');
    if (!isNonRootId(gid) || (agreed !== undefined && gid !== agreed))
      return ctx.policy.settings.runAsGroup;
    agreed = gid as number;
  }
  return agreed ?? ctx.policy.settings.runAsGroup;
}

/**
 * Identity: volumes are never given to the root group, and writable volumes get a group the
 * containers run as.
 * - `fsGroup: 0` becomes the run group: group 0 owns what root owns on the node's files and
 *   volumes, and every container of the pod would carry it as a supplementary group.
 * - Where the pod has writable volumes and sets no fsGroup, fsGroup = the run group with
 *   fsGroupChangePolicy OnRootMismatch, so a process moved off root can still write them
 *   (hardening.fsGroup).
 * Pod level only, on creation, and only where some container is hardened: fsGroup reaches every
 * container, so on a pod whose containers are all left untouched it is not ours to change.
 */
export const fsGroup: Rule = (ctx) => {
  if (!ctx.podLevelMutable || ctx.targets.length === 0) return;
  const podSc = ctx.podSecurityContext();
  const current = podSc?.fsGroup;
  if (current === 0) {
    const group = runGroup(ctx);
    ctx.writablePodSecurityContext().fsGroup = group;
    ctx.record('fsGroup', { kind: 'pod' }, 'securityContext.fsGroup', 0, group);
    return;
  }
  if (!ctx.policy.settings.fsGroup || current != null) return;
  if (!hasWritableVolume(ctx.pod.spec!.volumes)) return;
  const group = runGroup(ctx);
  const sc = ctx.writablePodSecurityContext();
  sc.fsGroup = group;
  ctx.record('fsGroup', { kind: 'pod' }, 'securityContext.fsGroup', undefined, group);
  if (sc.fsGroupChangePolicy == null) {
    sc.fsGroupChangePolicy = 'OnRootMismatch';
    ctx.record(
      'fsGroup',
      { kind: 'pod' },
      'securityContext.fsGroupChangePolicy',
      undefined,
      'OnRootMismatch',
    );
  }
};
