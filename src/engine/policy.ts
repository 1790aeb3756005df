import { normalizeCapability } from './capabilities';
import { compileGlob, compileGlobs } from './glob';

export const UNPRIVILEGED_PORTS = ['auto', 'never'] as const;
export type UnprivilegedPorts = (typeof UNPRIVILEGED_PORTS)[number];
export const USER_NAMESPACES = ['off', 'on'] as const;
export type UserNamespaces = (typeof USER_NAMESPACES)[number];

/** What the operator decides (the `hardening` and `exceptions` parts of the configuration). */
export interface PolicySettings {
  runAsUser: number;
  runAsGroup: number;
  runAsNonRoot: boolean;
  fsGroup: boolean;
  seccompProfile: boolean;
  /** `auto`: the pod sysctl that lets non-root processes bind ports below 1024, where needed. */
  unprivilegedPorts: UnprivilegedPorts;
  /** `on`: `hostUsers: false` on pods that can run in a user namespace. */
  userNamespaces: UserNamespaces;
  /** Capabilities that annotations may keep; `*` allows any. */
  capabilityCeiling: string[];
  /** Namespaces (patterns with `*`) where the skip annotations are honoured. */
  skipNamespaces: string[];
  /** Containers always left untouched; a rule matches when every field it gives matches. */
  exemptContainers: { name?: string; image?: string }[];
}

/**
 * The settings compiled once at start (or config reload) into the form the engine uses on every
 * review: patterns into predicates, capability names normalized into a set.
 */
export interface Policy {
  readonly settings: Readonly<PolicySettings>;
  ceilingAllows(capability: string): boolean;
  skipAllowedIn(namespace: string): boolean;
  isExempt(name: string, image: string): boolean;
}

export function compilePolicy(settings: PolicySettings): Policy {
  const anyCapability = settings.capabilityCeiling.includes('*');
  const ceiling = new Set(settings.capabilityCeiling.map(normalizeCapability));
  const exemptRules = settings.exemptContainers.map((rule) => {
    const name = rule.name === undefined ? () => true : compileGlob(rule.name);
    const image = rule.image === undefined ? () => true : compileGlob(rule.image);
    return (n: string, i: string) => name(n) && image(i);
  });
  return Object.freeze({
    settings: Object.freeze({ ...settings }),
    ceilingAllows: (capability: string) => anyCapability || ceiling.has(capability),
    skipAllowedIn: compileGlobs(settings.skipNamespaces),
    isExempt: (name: string, image: string) => exemptRules.some((r) => r(name, image)),
  });
}
