/**
 * `pod-hardener policy`: the configuration as the objects of policy mode (a
 * MutatingAdmissionPolicy and its binding, the guard, the audit policy), printed as YAML for
 * `kubectl apply -f -`; `--check-cluster` says whether the current cluster can run them.
 */
import { renderPolicyMode } from '../../policy/render';
import { checkCluster } from '../../policy/cluster-check';
import { toYamlDocuments } from '../../policy/documents';
import { EXIT, parseOptions, type Command } from '../command';
import { policyFor } from '../configured-policy';

export const policyModeCommand: Command = {
  summary: 'the configuration as MutatingAdmissionPolicy objects (no webhook; Kubernetes >= 1.36)',
  usage: `pod-hardener policy [--config FILE] [--namespace NS] [--name NAME]
pod-hardener policy --check-cluster [--kubeconfig FILE] [--context NAME]

Prints the objects of policy mode as YAML: the MutatingAdmissionPolicy that hardens pods in
namespaces labelled pod-hardener.io/enabled=true, its binding, the guard and the audit policy
(namespaces labelled audit). Apply with: pod-hardener policy | kubectl apply -f -
  --config         the webhook's configuration file (same keys, same defaults)
  -n, --namespace  the install's namespace, never matched (default "pod-hardener")
  --name           prefix of the objects' names (default "pod-hardener")
  --check-cluster  read the API server's version and discovery: exit 0 when it runs policy mode
                   (kube-apiserver >= 1.36 serving admissionregistration.k8s.io/v1
                   MutatingAdmissionPolicy), else 1 with the reason
  --kubeconfig, --context   the cluster for --check-cluster (as kubectl)
`,
  async run(args, io) {
    const v = parseOptions(args, {
      config: { type: 'string' },
      namespace: { type: 'string', short: 'n' },
      name: { type: 'string' },
      'check-cluster': { type: 'boolean' },
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
    });
    if (v['check-cluster']) {
      const { connect } = await import('../scan/kube-client');
      let result;
      try {
        const { api } = connect({
          ...(v.kubeconfig !== undefined ? { kubeconfig: v.kubeconfig } : {}),
          ...(v.context !== undefined ? { context: v.context } : {}),
          env: io.env,
          requestTimeoutMs: 10_000,
        });
        result = await checkCluster((path) => api.get(path));
      } catch (err) {
        io.stderr(`pod-hardener policy: cannot read the cluster: ${(err as Error).message}\n`);
        return EXIT.error;
      }
      (result.ok ? io.stdout : io.stderr)(
        result.lines.map((l) => `pod-hardener policy: ${l}\n`).join(''),
      );
      return result.ok ? EXIT.ok : EXIT.changes;
    }
    const { policy, file } = policyFor(v.config, io);
    const objects = renderPolicyMode(policy.settings, {
      ...(v.namespace !== undefined ? { namespace: v.namespace } : {}),
      ...(v.name !== undefined ? { name: v.name } : {}),
    });
    io.stdout(
      toYamlDocuments(
        objects,
        `pod-hardener in policy mode (Kubernetes >= 1.36), written by \`pod-hardener policy\` from ${file ?? 'the built-in defaults'}.`,
      ),
    );
    return EXIT.ok;
  },
};
