/*
 * What the operator decides (the `hardening` and `exceptions` parts of the configuration), in
 * the engine's own terms: config/ builds these settings from its schema (where each setting is
 * defined, with its default and its checks) and depends on the engine, never the reverse. A
 * type-level check in config/schema.ts keeps the schema and this interface in step.
 */
import { normalizeCapability } from './capabilities';
import { compileGlob, compileGlobs } from './glob';

/** A container exempt from hardening: by name, image or both, each a `*` pattern. */
export interface ExemptContainer {
  name?: string;
  image?: string;
}

export interface PolicySettings {
  runAsUser: number;
  runAsGroup: number;
  runAsNonRoot: boolean;
  fsGroup: boolean;
  seccompProfile: boolean;
  /** `auto` or `never` (the schema refuses anything else). */
  unprivilegedPorts: string;
  /** `off` or `on`. */
  userNamespaces: string;
  /** `off` or `strict`: supplementalGroupsPolicy: Strict (see supplemental-groups.ts). */
  supplementalGroupsPolicy: string;
  capabilityCeiling: readonly string[];
  skipNamespaces: readonly string[];
  exemptContainers: readonly ExemptContainer[];
}

/**
 * The highest UID/GID a pod's user namespace maps with the kubelet's default of 65536 IDs per
 * pod (userNamespaces.idsPerPod): a process given one beyond it cannot start. The configuration
 * refuses such a runAsUser or runAsGroup with userNamespaces "on".
 */
export const MAX_USERNS_ID = 65535;

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
