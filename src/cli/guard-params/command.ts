/**
 * `pod-hardener guard-params`: the guard's ConfigMap (`pod-hardener-guard`) written from the
 * webhook's configuration, so the two never drift apart by hand.
 *
 * The guard (manifests/components/guard) is a ValidatingAdmissionPolicy; the API server evaluates
 * it in CEL and cannot read config.yaml, so it reads the operator's exceptions from this ConfigMap
 * as RE2 regular expressions, each matched against the whole value (`^(?:…)$`). A guard stricter
 * than the webhook rejects, while the webhook is down, pods the webhook deliberately leaves alone;
 * a looser one admits pods the webhook would have hardened. The expressions here decide exactly
 * what the webhook's policy decides (test/unit/cli/guard-params.test.ts checks it on generated
 * settings, the shipped ConfigMap against the shipped config.yaml, and the e2e tier applies the
 * output to a real API server).
 */
import YAML from 'yaml';
import { normalizeCapability } from '../../engine/capabilities';
import type { PolicySettings } from '../../engine/policy';
import { EXIT, parseOptions, type Command } from '../command';
import { policyFor } from '../configured-policy';

export const GUARD_CONFIGMAP = 'pod-hardener-guard';

export interface GuardParams {
  /** Namespaces where the skip annotations are honoured (`request.namespace`). */
  skipNamespaces: string;
  /** Operator-exempt containers, matched against `<container name>=<image>`. */
  exemptContainers: string;
  /** Capabilities the allowlist annotations may keep (trimmed, upper case, without CAP_). */
  capabilityCeiling: string;
}

type Exceptions = Pick<PolicySettings, 'skipNamespaces' | 'exemptContainers' | 'capabilityCeiling'>;

/**
 * The guard's expressions for the webhook's exceptions. An empty list gives the empty
 * expression, which matches only the empty string: no namespace, container or capability.
 */
export function guardParams(settings: Exceptions): GuardParams {
  const anyOf = (parts: readonly string[]) => parts.join('|');
  return {
    skipNamespaces: anyOf(settings.skipNamespaces.map(globExpression)),
    exemptContainers: anyOf(
      settings.exemptContainers.map(
        (rule) =>
          `${rule.name === undefined ? '.*' : globExpression(rule.name)}=${rule.image === undefined ? '.*' : globExpression(rule.image)}`,
      ),
    ),
    capabilityCeiling: settings.capabilityCeiling.includes('*')
      ? '.*'
      : anyOf(settings.capabilityCeiling.map((c) => escapeRe2(normalizeCapability(c)))),
  };
}

/** The ConfigMap as YAML, ready for `kubectl apply -f -` or an overlay. */
export function guardParamsManifest(
  params: GuardParams,
  namespace: string,
  source: string,
): string {
  const doc = new YAML.Document({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: GUARD_CONFIGMAP, namespace },
    data: { ...params },
  });
  doc.commentBefore =
    ` The guard's copy of the webhook's exceptions, written by \`pod-hardener guard-params\` from ${source}.\n` +
    ' Apply it whenever the exceptions in the configuration change (see docs/security-model.md, "The guard").';
  return doc.toString({ lineWidth: 0 });
}

/** A `*` pattern of the configuration (engine/glob.ts) as an RE2 expression. */
function globExpression(pattern: string): string {
  return pattern.split('*').map(escapeRe2).join('.*');
}

/** Every RE2 metacharacter as a literal (RE2 reads a backslash before punctuation as the literal). */
function escapeRe2(text: string): string {
  return text.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

export const guardParamsCommand: Command = {
  summary: "the guard's ConfigMap for the configuration",
  usage: `pod-hardener guard-params [--config FILE] [--namespace NS]

Prints the ConfigMap ${GUARD_CONFIGMAP} that the guard (ValidatingAdmissionPolicy) reads: the
configuration's exceptions (skipNamespaces, exemptContainers, capabilityCeiling) as the regular
expressions the API server evaluates. Apply it whenever those change.
  --config         the webhook's configuration file
  -n, --namespace  namespace of the ConfigMap: the webhook's (default "pod-hardener")
`,
  // Every command's run is asynchronous; this one has nothing to wait for.
  // eslint-disable-next-line @typescript-eslint/require-await
  async run(args, io) {
    const v = parseOptions(args, {
      config: { type: 'string' },
      namespace: { type: 'string', short: 'n' },
    });
    const { policy, file } = policyFor(v.config, io);
    io.stdout(
      guardParamsManifest(
        guardParams(policy.settings),
        v.namespace ?? 'pod-hardener',
        file ?? 'the built-in defaults',
      ),
    );
    return EXIT.ok;
  },
};
