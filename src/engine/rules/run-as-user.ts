import { ensureInherited, isNonRootId, type Rule } from '../context';

/** Identity: the effective UID of every container is non-root; unset or 0 becomes the policy UID. */
export const runAsUser: Rule = (ctx) =>
  ensureInherited(ctx, 'runAsUser', 'runAsUser', isNonRootId, () => ctx.policy.settings.runAsUser);
