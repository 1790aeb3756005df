import { ensureInherited, isNonRootId, type Rule } from '../context';

/**
 * Identity: the effective GID of every container is not 0; unset or 0 becomes the image's
 * numeric group where image identity found `USER uid:gid`, else the policy GID.
 */
export const runAsGroup: Rule = (ctx) =>
  ensureInherited(
    ctx,
    'runAsGroup',
    'runAsGroup',
    isNonRootId,
    () => ctx.policy.settings.runAsGroup,
    (t) => (t.imageUser?.found ? t.imageUser.gid : undefined),
  );
