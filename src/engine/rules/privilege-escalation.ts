import { normalizeCapability, SYS_ADMIN } from '../capabilities';
import type { Rule } from '../context';

/**
 * Privilege: allowPrivilegeEscalation false on every container, except where the API server
 * refuses the two together: beside `privileged: true` (kept by privileged.ts only for a
 * Bidirectional mount; this rule runs after it) and beside a kept SYS_ADMIN (the API server
 * tests CAP_SYS_ADMIN; SYS_ADMIN in any spelling grants what escalation would).
 */
export const allowPrivilegeEscalation: Rule = (ctx) => {
  for (const t of ctx.targets) {
    const sc = ctx.writableSecurityContext(t.container);
    if (sc.allowPrivilegeEscalation === false) continue;
    const add = sc.capabilities?.add;
    const why =
      sc.privileged === true
        ? 'the container stays privileged'
        : Array.isArray(add) && add.some((c) => normalizeCapability(c as string) === SYS_ADMIN)
          ? 'SYS_ADMIN is kept'
          : undefined;
    if (why !== undefined) {
      ctx.notices.push({
        kind: 'escalationNotForced',
        target: t.ref,
        message: `allowPrivilegeEscalation not set to false: ${why}, and the API server rejects the two together`,
      });
      continue;
    }
    const from = sc.allowPrivilegeEscalation;
    sc.allowPrivilegeEscalation = false;
    ctx.record(
      'allowPrivilegeEscalation',
      t.ref,
      'securityContext.allowPrivilegeEscalation',
      from,
      false,
    );
  }
};
