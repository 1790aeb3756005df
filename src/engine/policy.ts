/*
 * What the operator decides (the `hardening` and `exceptions` parts of the configuration): the
 * type comes from the configuration schema, the one place each setting is defined. A type-only
 * import: the engine still loads nothing of config/ at run time.
 */
import type { PolicySettings } from '../config/schema';

import { normalizeCapability } from './capabilities';
import { compileGlob, compileGlobs } from './glob';

export type { PolicySettings } from '../config/schema';

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
