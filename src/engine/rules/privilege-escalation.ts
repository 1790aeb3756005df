import { normalizeCapability, SYS_ADMIN } from '../capabilities';
import type { Rule } from '../context';

/**
 * Privilege: allowPrivilegeEscalation false on every container, except beside a kept SYS_ADMIN:
 * the API server rejects `allowPrivilegeEscalation: false` with CAP_SYS_ADMIN, and SYS_ADMIN in
 * any spelling grants what escalation would. Runs after privileged.ts, so no container is still
 * privileged here (the other combination the API server rejects).
 */
export const allowPrivilegeEscalation: Rule = (ctx) => {
  for (const t of ctx.targets) {
    const sc = ctx.writableSecurityContext(t.container);
    if (sc.allowPrivilegeEscalation === false) continue;
    const add = sc.capabilities?.add;
    if (Array.isArray(add) && add.some((c) => normalizeCapability(c as string) === SYS_ADMIN)) {
      ctx.notices.push({
        kind: 'escalationNotForced',
        target: t.ref,
        message:
          'allowPrivilegeEscalation not set to false: SYS_ADMIN is kept, and the API server rejects the two together',
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
