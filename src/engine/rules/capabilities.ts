import { valueText } from '../describe';
import { Annotations } from '../../names';
import { normalizeCapability } from '../capabilities';
import { effective, isNonRootId, type Rule } from '../context';

/**
 * Capabilities: `drop` contains ALL (existing entries kept), and `add` keeps only what is
 * allowlisted for the container within the operator's ceiling. Kept entries keep their spelling.
 * `ALL` is compared literally: Pod Security "restricted" looks for that exact string.
 *
 * A kept capability is named for what it is. Kubernetes gives containers no ambient
 * capabilities, so a process that does not run as root starts with an empty effective set: the
 * kept capability is only in its bounding set, where a binary carrying it as a file capability
 * (`setcap cap_net_bind_service+ep`) can pick it up at exec. Operators who allowlist a capability
 * for a process that now runs as UID 1000 need to know the allowlist alone does nothing.
 */
export const capabilities: Rule = (ctx) => {
  for (const t of ctx.targets) {
    const sc = ctx.writableSecurityContext(t.container);
    if (!sc.capabilities) sc.capabilities = {};
    const caps = sc.capabilities;

    if (Array.isArray(caps.add) && caps.add.length > 0) {
      const add = caps.add as string[];
      const kept = add.filter((c) => t.allowed.has(normalizeCapability(c)));
      const removed = add.filter((c) => !t.allowed.has(normalizeCapability(c)));
      if (removed.length > 0) {
        if (kept.length > 0) caps.add = kept;
        else delete caps.add;
        ctx.changes.push({
          rule: 'capabilities.add',
          target: t.ref,
          field: 'securityContext.capabilities.add',
          from: add,
          to: kept,
          removed,
        });
      }
      if (kept.length > 0) {
        ctx.notices.push({
          kind: 'capabilityAllowlist',
          target: t.ref,
          message: `keeps ${kept.join(',')} in capabilities.add (allowlisted by ${Annotations.allowedCapabilities} or ${Annotations.containerCapabilitiesPrefix}${t.ref.name})`,
        });
        const uid = effective(ctx, t.container, 'runAsUser');
        if (isNonRootId(uid)) {
          ctx.notices.push({
            kind: 'capabilityNotEffective',
            target: t.ref,
            message: `runs as UID ${valueText(uid)}: ${kept.join(',')} ${kept.length > 1 ? 'are' : 'is'} in its bounding set only, effective only through file capabilities on the binary (setcap)`,
          });
        }
      }
    }

    const drop = caps.drop;
    if (Array.isArray(drop) && drop.includes('ALL')) continue;
    caps.drop = Array.isArray(drop) ? [...drop, 'ALL'] : ['ALL'];
    ctx.record('capabilities.drop', t.ref, 'securityContext.capabilities.drop', drop, caps.drop);
  }
};
