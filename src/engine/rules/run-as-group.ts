import { ensureInherited, isNonRootId, type Rule } from '../context';

/** Identity: the effective GID of every container is not 0; unset or 0 becomes the policy GID. */
export const runAsGroup: Rule = (ctx) =>
  ensureInherited(
    ctx,
    'runAsGroup',
    'runAsGroup',
    isNonRootId,
    () => ctx.policy.settings.runAsGroup,
  );
