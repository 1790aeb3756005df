/**
 * The operator's settings as the policies carry them: CEL literals in the policies' first
 * variables, never a parameter object. The Helm chart writes the same variables from its values
 * (templates/_helpers.tpl), so a policy file can be re-parameterized by replacing them by name.
 */
import { normalizeCapability } from '../engine/capabilities';
import type { PolicySettings } from '../engine/policy';
import { celString, escapeRe2, globExpression, globsExpression } from './cel';

export interface Variable {
  name: string;
  expression: string;
}

export interface GuardParams {
  /** Namespaces where the skip annotations are honoured (`request.namespace`). */
  skipNamespaces: string;
  /** Operator-exempt containers, matched against `<container name>=<image>`. */
  exemptContainers: string;
  /** Capabilities the allowlist annotations may keep (trimmed, upper case, without CAP_). */
  capabilityCeiling: string;
}

export type Exceptions = Pick<
  PolicySettings,
  'skipNamespaces' | 'exemptContainers' | 'capabilityCeiling'
>;

/**
 * The operator's exceptions as RE2 expressions, each matched against the whole value
 * (`^(?:...)$`). They decide exactly what the webhook's policy decides: a guard stricter than
 * the webhook rejects, while the webhook is down, pods it deliberately leaves alone; a looser one
 * admits pods it would have hardened. An empty list gives the empty expression, which matches
 * only the empty string: no namespace, container or capability.
 */
export function guardParams(settings: Exceptions): GuardParams {
  return {
    skipNamespaces: globsExpression(settings.skipNamespaces),
    exemptContainers: settings.exemptContainers
      .map(
        (rule) =>
          `${rule.name === undefined ? '.*' : globExpression(rule.name)}=${rule.image === undefined ? '.*' : globExpression(rule.image)}`,
      )
      .join('|'),
    capabilityCeiling: settings.capabilityCeiling.includes('*')
      ? '.*'
      : settings.capabilityCeiling.map((c) => escapeRe2(normalizeCapability(c))).join('|'),
  };
}

/** The parameters as the policy's first variables: CEL string literals. */
export function paramVariables(params: GuardParams): Variable[] {
  return (['skipNamespaces', 'exemptContainers', 'capabilityCeiling'] as const).map((name) => ({
    name,
    expression: celString(params[name]),
  }));
}

/**
 * Every setting the mutating policy needs, as variables: the guard's three expressions and the
 * hardening values and switches.
 */
export function settingsVariables(settings: PolicySettings): Variable[] {
  // Read loosely: the setting is newer than some configurations the renderer is given.
  const strict =
    (settings as { supplementalGroupsPolicy?: string }).supplementalGroupsPolicy === 'strict';
  return [
    ...paramVariables(guardParams(settings)),
    { name: 'runAsUser', expression: String(settings.runAsUser) },
    { name: 'runAsGroup', expression: String(settings.runAsGroup) },
    { name: 'runAsNonRoot', expression: String(settings.runAsNonRoot) },
    { name: 'fsGroup', expression: String(settings.fsGroup) },
    { name: 'seccompProfile', expression: String(settings.seccompProfile) },
    { name: 'unprivilegedPorts', expression: String(settings.unprivilegedPorts === 'auto') },
    { name: 'userNamespaces', expression: String(settings.userNamespaces === 'on') },
    { name: 'supplementalGroupsStrict', expression: String(strict) },
  ];
}
