import type { Rule } from '../context';
import { capabilities } from './capabilities';
import { fsGroup } from './fs-group';
import { allowPrivilegeEscalation } from './privilege-escalation';
import { privileged } from './privileged';
import { runAsGroup } from './run-as-group';
import { runAsNonRoot } from './run-as-non-root';
import { runAsUser } from './run-as-user';
import { seccompProfile } from './seccomp-profile';

/**
 * The rules in the order they run. Order matters in two places: fsGroup follows runAsGroup (it
 * uses the run group), and allowPrivilegeEscalation follows privileged and capabilities (it
 * must see the final privileged flag and the kept capabilities).
 */
export const RULES: readonly Rule[] = [
  runAsUser,
  runAsGroup,
  runAsNonRoot,
  fsGroup,
  privileged,
  capabilities,
  allowPrivilegeEscalation,
  seccompProfile,
];
