import type { Rule } from '../context';
import { capabilities } from './capabilities';
import { confinement } from './confinement';
import { fsGroup } from './fs-group';
import { allowPrivilegeEscalation } from './privilege-escalation';
import { privileged } from './privileged';
import { runAsGroup } from './run-as-group';
import { runAsNonRoot } from './run-as-non-root';
import { runAsUser } from './run-as-user';
import { seccompProfile } from './seccomp-profile';
import { supplementalGroups } from './supplemental-groups';
import { unprivilegedPorts } from './unprivileged-ports';
import { userNamespaces } from './user-namespaces';

/**
 * The rules in the order they run. Order matters: fsGroup follows runAsGroup (it uses the run
 * group); allowPrivilegeEscalation and unprivilegedPorts follow capabilities (they must see the
 * kept capabilities; the former also the final privileged flag); userNamespaces comes last, so
 * the UIDs and GIDs it checks against the user namespace's range are the hardened ones.
 */
export const RULES: readonly Rule[] = [
  runAsUser,
  runAsGroup,
  runAsNonRoot,
  fsGroup,
  supplementalGroups,
  privileged,
  capabilities,
  allowPrivilegeEscalation,
  seccompProfile,
  unprivilegedPorts,
  userNamespaces,
  confinement,
];
