/**
 * What a Helm release of the chart leaves in a cluster: every object whose name says
 * pod-hardener, namespaced ones in the release namespace and cluster-scoped ones, as
 * `kind.group/name`, sorted. Helm's own release records (`sh.helm.release.v1...` Secrets) are
 * kept in the list: after `helm uninstall` they must be gone too.
 */
const NAMESPACED =
  'deployments,services,configmaps,secrets,serviceaccounts,roles,rolebindings,poddisruptionbudgets';
const CLUSTER_SCOPED =
  'mutatingwebhookconfigurations,validatingadmissionpolicies,validatingadmissionpolicybindings,clusterroles,clusterrolebindings';

/** A kubectl of the cluster under test: the control plane's or the real node's. */
export type Kubectl = (args: string[]) => Promise<{ stdout: string }>;

export async function releaseObjects(kubectl: Kubectl, namespace: string): Promise<string[]> {
  const names = async (args: string[]) =>
    (await kubectl([...args, '-o', 'name'])).stdout
      .split('\n')
      .filter((line) => line.includes('pod-hardener'));
  return [
    ...(await names(['get', NAMESPACED, '-n', namespace])),
    ...(await names(['get', CLUSTER_SCOPED])),
  ].sort();
}

/** Helm's record of a release revision, not an object of the chart. */
export const isReleaseRecord = (name: string): boolean => name.includes('sh.helm.release');
