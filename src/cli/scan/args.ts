/**
 * The arguments of `pod-hardener scan`, read with the tool's one option parser (command.ts). Flags mean what they mean
 * to kubectl (`--kubeconfig`, `--context`, `-n`, `-A`, `--chunk-size`, `--request-timeout`),
 * except `-l`: it selects *namespaces* by label, since the question scan answers is which
 * namespaces may be opted in.
 */
import { parseOptions, positiveInteger, UsageError } from '../command';

export const OUTPUTS = ['table', 'json', 'yaml'] as const;
export type Output = (typeof OUTPUTS)[number];

/** Which namespaces: the named ones, those matching a label selector, all, or the context's. */
export type NamespaceChoice =
  | { kind: 'named'; names: string[] }
  | { kind: 'selector'; selector: string }
  | { kind: 'all' }
  | { kind: 'context' };

export interface ScanArgs {
  kubeconfig?: string;
  context?: string;
  namespaces: NamespaceChoice;
  config?: string;
  output: Output;
  /** The namespace the webhook runs in: excluded by the shipped namespaceSelector, as kube-system is. */
  webhookNamespace: string;
  /** Items per list request (`limit`); the rest comes with `continue`. */
  chunkSize: number;
  requestTimeoutMs: number;
  /** `--image-identity`: images looked up as the webhook does (docs/image-identity.md). */
  imageIdentity?: boolean;
}

export const DEFAULT_WEBHOOK_NAMESPACE = 'pod-hardener';
/** kubectl's default page size: small enough for the API server, large enough to be few requests. */
export const DEFAULT_CHUNK_SIZE = 500;
const DEFAULT_TIMEOUT_SECONDS = 30;

export const SCAN_USAGE = `pod-hardener scan [-n NS ... | -l SELECTOR | -A] [--config FILE] [-o table|json|yaml]
                    [--kubeconfig FILE] [--context NAME] [--webhook-namespace NS]
                    [--chunk-size N] [--request-timeout SECONDS] [--image-identity]

Reads the pods that exist in the cluster (read-only) and says, grouped by the workload that owns
them, what the webhook's hardening would change when each is next created, which exceptions
apply, and what may stop working. Runs the webhook's own engine with the webhook's configuration.
  -n, --namespace      a namespace to scan (repeat for more); default: the context's namespace
  -l, --selector       scan the namespaces whose labels match this selector (e.g. team=shop)
  -A, --all-namespaces scan every namespace
  --config             the webhook's configuration file (POD_HARDENER_* environment variables apply too)
  -o, --output         table (default), json or yaml (the JSON schema is in docs/scan.md)
  --kubeconfig         kubeconfig file (default: $KUBECONFIG, ~/.kube/config, in-cluster)
  --context            kubeconfig context (default: the current one)
  --webhook-namespace  where the webhook runs, never sent to it (default "${DEFAULT_WEBHOOK_NAMESPACE}")
  --chunk-size         items per list request (default ${DEFAULT_CHUNK_SIZE})
  --request-timeout    seconds to wait for each API answer (default ${DEFAULT_TIMEOUT_SECONDS})
  --image-identity     keep each image's numeric USER, read from the registries --config's
                       imageIdentity.registries allows (docs/image-identity.md)

Needs list on pods, replicasets, deployments, statefulsets, daemonsets, jobs and cronjobs, and
get/list on namespaces: the ClusterRole pod-hardener-scan (manifests/components/scan-rbac).

Exit status: 0 nothing would change; 1 at least one pod would be changed (or refused) by the
webhook; 2 error (arguments, configuration, kubeconfig, API server unreachable or refusing).
`;

const OPTIONS = {
  kubeconfig: { type: 'string' },
  context: { type: 'string' },
  namespace: { type: 'string', short: 'n', multiple: true },
  selector: { type: 'string', short: 'l' },
  'all-namespaces': { type: 'boolean', short: 'A' },
  config: { type: 'string' },
  output: { type: 'string', short: 'o', choices: OUTPUTS },
  'webhook-namespace': { type: 'string' },
  'chunk-size': { type: 'string' },
  'request-timeout': { type: 'string' },
  'image-identity': { type: 'boolean' },
} as const;

/** Throws UsageError with a message for a person (no stack, one line). */
export function parseScanArgs(argv: readonly string[]): ScanArgs {
  const values = parseOptions(argv, OPTIONS);
  const names = values.namespace ?? [];
  const chosen = [
    names.length > 0 && '-n',
    values.selector !== undefined && '-l',
    values['all-namespaces'] && '-A',
  ].filter(Boolean);
  let namespaces: NamespaceChoice = { kind: 'context' };
  if (values.selector !== undefined && names.length === 0) {
    // -A -l is what -l means already: every namespace, filtered by the selector.
    namespaces = { kind: 'selector', selector: values.selector };
  } else if (chosen.length > 1) {
    throw new UsageError(`${chosen.join(' and ')}: choose one way to pick namespaces`);
  } else if (names.length > 0) {
    namespaces = { kind: 'named', names: [...new Set(names)] };
  } else if (values['all-namespaces']) {
    namespaces = { kind: 'all' };
  }

  const timeout = values['request-timeout'];
  return {
    ...(values.kubeconfig !== undefined ? { kubeconfig: values.kubeconfig } : {}),
    ...(values.context !== undefined ? { context: values.context } : {}),
    namespaces,
    ...(values.config !== undefined ? { config: values.config } : {}),
    output: values.output ?? 'table',
    webhookNamespace: values['webhook-namespace'] ?? DEFAULT_WEBHOOK_NAMESPACE,
    chunkSize:
      values['chunk-size'] === undefined
        ? DEFAULT_CHUNK_SIZE
        : positiveInteger('--chunk-size', values['chunk-size'], { max: 10000 }),
    requestTimeoutMs:
      1000 *
      (timeout === undefined
        ? DEFAULT_TIMEOUT_SECONDS
        : positiveInteger('--request-timeout', timeout.replace(/s$/, ''), { max: 3600 })),
    ...(values['image-identity'] === true ? { imageIdentity: true } : {}),
  };
}
