// What the fault suite counts on: the pods as the API server stored them, judged by what
// "hardened" means to the kernel, independently of the webhook's own code and annotations (a
// pod can be stored unhardened without the webhook ever seeing it).

import type { ApiClient } from '../../../e2e/support/dry-run';
import { DEPLOYMENT, KEEP_FINALIZER } from './load';

/** Why a stored pod is not hardened, or undefined when every container is. */
export function notHardened(pod: any): string | undefined {
  const podSc = pod.spec.securityContext ?? {};
  const containers = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
  for (const c of containers) {
    const sc = c.securityContext ?? {};
    const user = sc.runAsUser ?? podSc.runAsUser;
    const seccomp = (sc.seccompProfile ?? podSc.seccompProfile)?.type;
    const problems = [
      (sc.runAsNonRoot ?? podSc.runAsNonRoot) !== true && 'runAsNonRoot is not true',
      user === 0 && 'runs as UID 0',
      sc.privileged === true && 'privileged',
      sc.allowPrivilegeEscalation !== false && 'allowPrivilegeEscalation is not false',
      !(sc.capabilities?.drop ?? []).includes('ALL') && 'capabilities not dropped',
      (sc.capabilities?.add ?? []).length > 0 && `adds ${sc.capabilities.add.join(',')}`,
      !['RuntimeDefault', 'Localhost'].includes(seccomp) && `seccomp ${seccomp ?? 'unset'}`,
    ].filter(Boolean);
    if (problems.length > 0) return `${pod.metadata.name}/${c.name}: ${problems.join(', ')}`;
  }
  return undefined;
}

async function ok(api: ApiClient, method: string, path: string, body?: unknown, type?: string) {
  const r = await api.send(method, path, body, type);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

export interface Stored {
  pods: any[];
  /** Creations the ReplicaSet controller was refused (its FailedCreate events; it retries). */
  deploymentRefusals: { count: number; events: Array<{ message: string; count: number }> };
}

/** Every pod stored in the namespace (terminating ones included), and the Deployment's refusals. */
export async function storedPods(api: ApiClient, namespace: string): Promise<Stored> {
  const pods = (await ok(api, 'GET', `/api/v1/namespaces/${namespace}/pods`)).items as any[];
  const events = (
    await ok(
      api,
      'GET',
      `/api/v1/namespaces/${namespace}/events?fieldSelector=reason%3DFailedCreate`,
    )
  ).items as any[];
  const refusals = events.map((e) => ({
    message: String(e.message),
    count: Number(e.series?.count ?? e.count ?? 1),
  }));
  const count = refusals.reduce((sum, e) => sum + e.count, 0);
  return { pods, deploymentRefusals: { count, events: refusals } };
}

/** Lets the Deployment's kept pods go, so that the namespace can be deleted. */
export async function releaseKeptPods(api: ApiClient, namespace: string): Promise<void> {
  await ok(
    api,
    'PATCH',
    `/apis/apps/v1/namespaces/${namespace}/deployments/${DEPLOYMENT}`,
    { spec: { replicas: 0 } },
    'application/merge-patch+json',
  );
  const { pods } = await storedPods(api, namespace);
  for (const pod of pods) {
    if (!(pod.metadata.finalizers ?? []).includes(KEEP_FINALIZER)) continue;
    await api.send(
      'PATCH',
      `/api/v1/namespaces/${namespace}/pods/${pod.metadata.name}`,
      { metadata: { finalizers: null } },
      'application/merge-patch+json',
    );
  }
}
