import { ensureInherited, type Rule } from '../context';

/**
 * Identity: runAsNonRoot true, so the kubelet itself refuses a container that would run as UID 0.
 * Together with the numeric runAsUser of run-as-user.ts, images whose USER is a name still start.
 */
export const runAsNonRoot: Rule = (ctx) => {
  if (!ctx.policy.settings.runAsNonRoot) return;
  ensureInherited(
    ctx,
    'runAsNonRoot',
    'runAsNonRoot',
    (v) => v === true,
    () => true,
  );
};
