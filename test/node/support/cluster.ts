// The node tier's view of the one real cluster on this machine (`npm run cluster -- up`, started
// by the tier's global setup): kubectl against it, pods created and awaited, and the kernel's
// view of their containers, from inside (kubectl exec) and from the node (/proc of the process).

import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import {
  repoRoot,
  runKubectl,
  type KubectlOptions,
  type KubectlResult,
} from '../../e2e/support/controlplane';
import { parseProcStatus, type ProcStatus } from './kernel';
import { eventually } from '../../support/eventually';

export interface ClusterEnv {
  kubeconfig: string;
  kubectl: string;
  ctr: string;
  containerdAddress: string;
  stateDir: string;
  staticPodDir: string;
  installDir: string;
  nodeName: string;
  probeImage: string;
  bridge: string;
  /** The node's own address on that bridge (the API server and the registry listen there). */
  gateway: string;
  natChain: string;
  webhookImage: string;
  /** The node tier's registry (scripts/cluster/registry.sh), as image references name it. */
  registry: string;
}

export const clusterScript = path.join(repoRoot, 'scripts', 'cluster.sh');

/** A subcommand of scripts/cluster.sh for the tests (registry-start, registry-stop), which must succeed. */
export function clusterCommand(command: 'registry-start' | 'registry-stop'): void {
  const r = spawnSync('bash', [clusterScript, command], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error(`npm run cluster -- ${command} failed`);
}

let cached: ClusterEnv | undefined;
export function clusterEnv(): ClusterEnv {
  if (!cached) {
    const out = execFileSync('bash', [clusterScript, 'env'], { encoding: 'utf8' });
    cached = JSON.parse(out) as ClusterEnv;
  }
  return cached;
}

export function kubectl(args: string[], opts: KubectlOptions = {}): Promise<KubectlResult> {
  const env = clusterEnv();
  return runKubectl(
    env.kubectl,
    args,
    {
      ...process.env,
      KUBECONFIG: env.kubeconfig,
      KUBERC: 'off',
      KUBECACHEDIR: path.join(env.stateDir, 'kube-cache'),
      ...opts.env,
    },
    opts,
  );
}

/** A container of the probe image that sleeps, for pods whose processes the tests look into. */
export function probeContainer(
  name: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    name,
    image: clusterEnv().probeImage,
    imagePullPolicy: 'Never',
    command: ['sleep', '3600'],
    ...extra,
  };
}

export async function getJson<T = any>(args: string[]): Promise<T> {
  const r = await kubectl([...args, '-o', 'json']);
  return JSON.parse(r.stdout) as T;
}

/** The webhook's pods (every replica, terminating ones included) in `ns` that `selector` picks. */
export async function webhookPods(
  selector = 'app.kubernetes.io/name=pod-hardener',
  ns = 'pod-hardener',
): Promise<any[]> {
  return (await getJson(['-n', ns, 'get', 'pods', '-l', selector])).items;
}

/**
 * A pod for `apply`: `spec` over a short grace period and no service-account token (the tests
 * read nothing from the API inside the pod), with `annotations` when given.
 */
export function podManifest(
  ns: string,
  name: string,
  spec: Record<string, unknown>,
  annotations?: Record<string, string>,
): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, ...(annotations && { annotations }) },
    spec: { terminationGracePeriodSeconds: 1, automountServiceAccountToken: false, ...spec },
  });
}

/** A pod of one probe container, `app`, deleted at once. */
export function probePod(ns: string, name: string): string {
  return podManifest(ns, name, {
    terminationGracePeriodSeconds: 0,
    containers: [probeContainer('app')],
  });
}

/** Creates a namespace with the given pod-hardener label value (or none), deleted by the returned function. */
export async function namespace(
  name: string,
  enabled?: 'true' | 'audit',
): Promise<() => Promise<void>> {
  const labels = enabled ? `\n  labels: {pod-hardener.io/enabled: "${enabled}"}` : '';
  await kubectl(['apply', '-f', '-'], {
    input: `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}${labels}\n`,
  });
  // The ServiceAccount admission plugin needs the namespace's default ServiceAccount.
  await eventually(
    async () => {
      const r = await kubectl(['-n', name, 'get', 'serviceaccount', 'default'], {
        allowFail: true,
      });
      return r.code === 0;
    },
    { what: `serviceaccount default in ${name}`, timeoutMs: 30_000, everyMs: 250 },
  );
  return async () => {
    await kubectl(['delete', 'namespace', name, '--wait=false', '--ignore-not-found'], {
      allowFail: true,
    });
  };
}

/** Applies a manifest and returns kubectl's stderr (the webhook's warnings arrive there). */
export async function apply(manifest: string): Promise<string> {
  const r = await kubectl(['apply', '-f', '-'], { input: manifest });
  return r.stderr;
}

/** Waits until every container of the pod (that is meant to keep running) is running; returns the stored pod. */
export async function waitRunning(ns: string, pod: string, timeoutMs = 90_000): Promise<any> {
  let last: any;
  try {
    await eventually(
      async () => {
        const r = await kubectl(['-n', ns, 'get', 'pod', pod, '-o', 'json'], { allowFail: true });
        if (r.code !== 0) return false;
        last = JSON.parse(r.stdout);
        return (
          last.status?.phase === 'Running' &&
          (last.status.containerStatuses ?? []).every((c: any) => c.state?.running)
        );
      },
      { what: `pod ${ns}/${pod} to run`, timeoutMs: timeoutMs, everyMs: 250 },
    );
  } catch (err) {
    const d = await kubectl(['-n', ns, 'describe', 'pod', pod], { allowFail: true });
    throw new Error(`${(err as Error).message}\n${d.stdout.split('\n').slice(-25).join('\n')}`);
  }
  return last;
}

/** The kernel's view of the container's first process, from inside (kubectl exec). */
export async function statusInside(
  ns: string,
  pod: string,
  container: string,
): Promise<ProcStatus> {
  const r = await kubectl(['-n', ns, 'exec', pod, '-c', container, '--', 'cat', '/proc/1/status']);
  return parseProcStatus(r.stdout);
}

/**
 * The node's view: the container's process in the host's /proc, found through containerd by the
 * container ID the kubelet reports in the pod's status.
 */
export function statusOnNode(storedPod: any, container: string): ProcStatus {
  const statuses = [
    ...(storedPod.status?.containerStatuses ?? []),
    ...(storedPod.status?.initContainerStatuses ?? []),
    ...(storedPod.status?.ephemeralContainerStatuses ?? []),
  ];
  const st = statuses.find((s: any) => s.name === container);
  if (!st?.containerID)
    throw new Error(`container ${container} has no containerID in the pod status`);
  const id = String(st.containerID).replace(/^containerd:\/\//, '');
  return parseProcStatus(fs.readFileSync(`/proc/${hostPid(id)}/status`, 'utf8'));
}

export function hostPid(containerId: string): number {
  const env = clusterEnv();
  const r = spawnSync(
    env.ctr,
    ['--address', env.containerdAddress, '-n', 'k8s.io', 'tasks', 'ls'],
    { encoding: 'utf8' },
  );
  const line = r.stdout.split('\n').find((l) => l.startsWith(containerId));
  if (!line) throw new Error(`containerd has no task ${containerId}: ${r.stdout}${r.stderr}`);
  return Number(line.trim().split(/\s+/)[1]);
}

/** The container's log (for containers that exit, such as init containers). */
export async function logs(ns: string, pod: string, container: string): Promise<string> {
  return (await kubectl(['-n', ns, 'logs', pod, '-c', container])).stdout;
}
