import type { Rule } from '../context';

/** Privilege: `privileged: true` becomes false. No annotation can keep it. */
export const privileged: Rule = (ctx) => {
  for (const t of ctx.targets) {
    const sc = t.container.securityContext;
    if (sc?.privileged !== true) continue;
    sc.privileged = false;
    ctx.record('privileged', t.ref, 'securityContext.privileged', true, false);
  }
};
