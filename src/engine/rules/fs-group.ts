import { isNonRootId, type Rule } from '../context';
import type { Json } from '../types';

/**
 * Volume kinds the kubelet writes itself and mounts read-only: fsGroup is not needed for a
 * non-root process to read them. Every other kind (emptyDir, persistentVolumeClaim, ephemeral,
 * CSI, ...) may need to be written by the container.
 */
const READ_ONLY_KINDS = ['configMap', 'secret', 'downwardAPI', 'projected'];

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
 * Identity: fsGroup = the run group, with fsGroupChangePolicy OnRootMismatch, when the pod has
 * writable volumes and sets no fsGroup, so a process moved off root can still write them.
 * Pod-level only: not applicable where the pod level may not change.
 */
export const fsGroup: Rule = (ctx) => {
  if (!ctx.policy.settings.fsGroup || !ctx.podLevelMutable) return;
  const podSc = ctx.podSecurityContext();
  if (podSc?.fsGroup != null || !hasWritableVolume(ctx.pod.spec!.volumes)) return;
  const group = isNonRootId(podSc?.runAsGroup)
    ? (podSc!.runAsGroup as number)
    : ctx.policy.settings.runAsGroup;
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
