import type { Rule } from '../context';
import { valueText } from '../describe';
import { isJsonObject } from '../json';
import type { Container, Json } from '../types';

/**
 * The container's mounts with Bidirectional propagation. The API server allows that propagation
 * only on privileged containers ("Bidirectional mount propagation is available only to privileged
 * containers"), and volumeMounts are outside what pod-hardener may change.
 */
export function bidirectionalMounts(container: Container): string[] {
  const mounts: unknown = container.volumeMounts;
  if (!Array.isArray(mounts)) return [];
  const paths: string[] = [];
  for (const m of mounts as unknown[])
    if (isJsonObject(m) && m.mountPropagation === 'Bidirectional')
      paths.push(valueText((m.mountPath ?? m.name) as Json));
  return paths;
}

/**
 * Privilege: `privileged: true` becomes false. No annotation can keep it; a Bidirectional mount
 * does, since the API server would refuse the pod without it (calico-node's init container, CSI
 * node plugins): the container stays privileged, and a notice names the two ways out.
 */
export const privileged: Rule = (ctx) => {
  for (const t of ctx.targets) {
    const sc = t.container.securityContext;
    if (sc?.privileged !== true) continue;
    const bidirectional = bidirectionalMounts(t.container);
    if (bidirectional.length > 0) {
      ctx.notices.push({
        kind: 'privilegedKept',
        target: t.ref,
        message:
          `privileged kept: the mount of ${bidirectional.join(', ')} uses Bidirectional propagation, which the API server allows only on privileged containers; ` +
          'remove that propagation, or exempt the container by name and image in the operator configuration (exceptions.exemptContainers)',
      });
      continue;
    }
    sc.privileged = false;
    ctx.record('privileged', t.ref, 'securityContext.privileged', true, false);
  }
};
