import type { Rule, RuleContext } from '../context';
import { targetText, valueText } from '../describe';
import { containerTarget, eachContainer } from '../pod';
import { isJsonObject } from '../json';
import { MAX_USERNS_ID } from '../policy';

/**
 * Volume kinds that work in a user namespace. The kubelet asks the runtime for an idmapped
 * mount of every volume of such a pod; where the filesystem cannot be idmapped, the container
 * fails to start. These are written by the kubelet itself on its own directory (configMap,
 * secret, downwardAPI, projected, emptyDir: the node requirement, Linux >= 6.3 for tmpfs),
 * mounted by the runtime from an image, or claims of storage the operator provisions
 * (persistentVolumeClaim, ephemeral, csi; an NFS-backed class without idmap support is the
 * operator's to know, and a pod opts out with `hostUsers: true`). Every other kind (hostPath:
 * node files with the node's owners on a filesystem nobody checked; nfs: no idmapped mounts in
 * the Linux NFS client; the legacy in-tree plugins) leaves the pod as it is.
 */
export const IDMAPPABLE_VOLUMES: ReadonlySet<string> = new Set([
  'configMap',
  'secret',
  'downwardAPI',
  'projected',
  'emptyDir',
  'persistentVolumeClaim',
  'ephemeral',
  'csi',
  'image',
]);

/** Why a pod cannot run in a user namespace, each naming what is in the way; empty when it can. */
function obstacles(ctx: RuleContext): string[] {
  const spec = ctx.pod.spec!;
  const out: string[] = [];
  // The API server refuses hostUsers: false beside any host namespace.
  for (const field of ['hostNetwork', 'hostPID', 'hostIPC'] as const)
    if (spec[field] === true) out.push(`the pod uses ${field}`);

  if (Array.isArray(spec.volumes)) {
    for (const volume of spec.volumes) {
      if (!isJsonObject(volume)) continue;
      // A volume without a source is defaulted to emptyDir by the API server.
      const kind = Object.keys(volume).find((k) => k !== 'name' && volume[k] != null) ?? 'emptyDir';
      if (!IDMAPPABLE_VOLUMES.has(kind))
        out.push(
          `volume "${valueText(volume.name)}" is ${kind}, not known to support idmapped mounts`,
        );
    }
  }

  for (const { list, container } of eachContainer(ctx.pod)) {
    const devices = container.volumeDevices;
    // Raw block devices can be neither idmapped nor chowned: the API server refuses them.
    if (Array.isArray(devices) && devices.length > 0) {
      const names = devices.map((d) => (isJsonObject(d) ? valueText(d.name) : '?')).join(',');
      out.push(`${targetText(containerTarget(list, container))} uses volumeDevices (${names})`);
    }
  }

  const ids: [string, unknown][] = [];
  const podSc = spec.securityContext;
  if (podSc) {
    for (const f of ['runAsUser', 'runAsGroup', 'fsGroup'] as const)
      ids.push([`pod ${f}`, podSc[f]]);
    const groups = podSc.supplementalGroups;
    if (Array.isArray(groups)) for (const g of groups) ids.push(['pod supplementalGroups', g]);
  }
  for (const { container } of eachContainer(ctx.pod)) {
    for (const f of ['runAsUser', 'runAsGroup'] as const)
      ids.push([`${valueText(container.name)} ${f}`, container.securityContext?.[f]]);
  }
  for (const [what, id] of ids) {
    if (typeof id === 'number' && id > MAX_USERNS_ID)
      out.push(`${what} ${id} is beyond the ${MAX_USERNS_ID} IDs a user namespace maps`);
  }
  return out;
}

/** The first reasons, and how many more: a pod can have thousands of volumes in the way. */
function someReasons(reasons: readonly string[]): string {
  const shown = reasons.slice(0, 5).join('; ');
  return reasons.length > 5 ? `${shown}; and ${reasons.length - 5} more` : shown;
}

/**
 * User namespaces (opt-in): `hostUsers: false`, so that UID 0 and UID 1000 in the containers are
 * unprivileged, unique UIDs on the node and an escaped process owns nothing there. Only where
 * the pod does not choose itself (`hostUsers` set either way is kept: `true` is how a pod opts
 * out) and can run that way; otherwise the pod is left as it is and a notice says what is in the
 * way. Containers left untouched (skip-containers, exempt) are in the user namespace too: a
 * container that must stay root is then root inside only, which is the layer's point.
 * Pod level only, on creation; runs last, so the IDs it checks are the hardened ones.
 */
export const userNamespaces: Rule = (ctx) => {
  if (ctx.policy.settings.userNamespaces !== 'on' || !ctx.podLevelMutable) return;
  const spec = ctx.pod.spec!;
  if (spec.hostUsers != null) return;
  const reasons = obstacles(ctx);
  if (reasons.length > 0) {
    ctx.notices.push({
      kind: 'userNamespacesNotSet',
      target: { kind: 'pod' },
      message: `hostUsers not set to false: ${someReasons(reasons)}`,
    });
    return;
  }
  spec.hostUsers = false;
  ctx.record('userNamespaces', { kind: 'pod' }, 'hostUsers', undefined, false);
};
