import { ensureInherited, isNonRootId, type Rule } from '../context';

/**
 * Identity: the effective UID of every container is non-root; unset or 0 becomes the image's
 * numeric USER where image identity found one, else the policy UID (and a notice says why the
 * image's was not used).
 */
export const runAsUser: Rule = (ctx) =>
  ensureInherited(
    ctx,
    'runAsUser',
    'runAsUser',
    isNonRootId,
    () => ctx.policy.settings.runAsUser,
    (t) => {
      const image = t.imageUser;
      if (image === undefined) return undefined;
      if (image.found) return image.uid;
      ctx.notices.push({
        kind: 'imageIdentity',
        target: t.ref,
        message: `image USER not used (${image.reason}); runAsUser ${ctx.policy.settings.runAsUser} applies`,
      });
      return undefined;
    },
  );
