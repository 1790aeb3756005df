import { ensureInherited, type Rule } from '../context';
import type { Json } from '../types';

/** RuntimeDefault and Localhost confine syscalls; absent and Unconfined do not. */
const confined = (v: Json | undefined): boolean =>
  typeof v === 'object' &&
  v !== null &&
  !Array.isArray(v) &&
  (v.type === 'RuntimeDefault' || v.type === 'Localhost');

/** Syscalls: seccompProfile RuntimeDefault where none is set; Unconfined becomes RuntimeDefault. */
export const seccompProfile: Rule = (ctx) => {
  if (!ctx.policy.settings.seccompProfile) return;
  ensureInherited(ctx, 'seccompProfile', 'seccompProfile', confined, () => ({
    type: 'RuntimeDefault',
  }));
};
