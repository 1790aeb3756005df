// The Helm chart on the node tier's cluster: helm against it, the values that point the chart at
// this node's image, and the switch between the tier's kustomize install and a Helm release
// (both are cluster-wide: one webhook configuration, one guard).

import { execFile } from 'node:child_process';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { goTool } from '../../support/tools';
import { clusterEnv, kubectl } from './cluster';

export const RELEASE_NS = 'pod-hardener';

/** helm with this cluster's kubeconfig; asynchronous, so that work goes on while it waits. */
export async function helm(args: string[]): Promise<string> {
  const env = clusterEnv();
  return (
    await promisify(execFile)(goTool('helm'), [...args, '--kubeconfig', env.kubeconfig], {
      timeout: 300_000,
    })
  ).stdout;
}

/** `--set` arguments for the webhook image built on this node (never pulled). */
export function nodeImageValues(): string[] {
  const [repository, tag] = clusterEnv().webhookImage.split(/:(?=[^:]+$)/);
  return [
    '--set',
    `image.repository=${repository}`,
    '--set',
    `image.tag=${tag}`,
    '--set',
    'image.pullPolicy=Never',
  ];
}

export async function removeNamespace(name: string): Promise<void> {
  await kubectl(
    ['delete', 'namespace', name, '--ignore-not-found', '--wait=true', '--timeout=120s'],
    { timeoutMs: 130_000 },
  );
}

const kustomizeInstall = () => path.join(clusterEnv().stateDir, 'install-node-tier');

/** Removes the tier's kustomize install and its namespace, for a Helm release to take its place. */
export async function removeKustomizeInstall(): Promise<void> {
  await kubectl(['delete', '-k', kustomizeInstall(), '--ignore-not-found', '--wait=true'], {
    timeoutMs: 180_000,
  });
  await removeNamespace(RELEASE_NS);
}

/** Puts the tier's kustomize install back (after the release is gone) and waits for its rollout. */
export async function restoreKustomizeInstall(): Promise<void> {
  await kubectl(['apply', '-k', kustomizeInstall()]);
  await kubectl(
    ['-n', RELEASE_NS, 'rollout', 'status', 'deployment/pod-hardener', '--timeout=180s'],
    { timeoutMs: 200_000 },
  );
}
