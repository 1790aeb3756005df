// Global setup of the node tier: the one real cluster of this machine (`npm run cluster -- up`),
// reused when one already runs (then left running at the end), with pod-hardener reconfigured
// the way an operator would, by an overlay that replaces its ConfigMap (and patches the guard
// with the policy `pod-hardener guard-params` writes): the capability ceiling also allows SYS_ADMIN, and containers named
// mesh-init are exempt, so that those scenarios exist.

import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { parseDocument } from 'yaml';
import { repoRoot } from '../../e2e/support/controlplane';
import { eventually } from '../../support/eventually';
import { clusterEnv, clusterScript, kubectl, webhookPods } from './cluster';

export const NODE_TIER_EXEMPT_CONTAINER = 'mesh-init';

function run(args: string[]): number {
  const r = spawnSync('bash', [clusterScript, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  return r.status ?? 1;
}

export default async function globalSetup(): Promise<void> {
  const running = spawnSync('bash', [clusterScript, 'status'], { stdio: 'ignore' }).status === 0;
  (globalThis as any).__podHardenerStartedCluster = !running;
  // On a running cluster, `up` rolls pod-hardener to an image of the current sources if needed.
  if (run(['up']) !== 0) throw new Error('npm run cluster -- up failed (its messages are above)');

  await applyNodeTierConfig();
}

/**
 * The `imageIdentity` section that turns image identity on for the node tier's registry
 * (scripts/cluster/registry.sh), which speaks plain HTTP.
 */
export function imageIdentityOn(registry: string): Record<string, unknown> {
  return {
    enabled: true,
    registries: [registry],
    insecureRegistries: [registry],
    // The node is shared with the other tests' pods: room for a first lookup on a busy machine.
    budgetMs: 2000,
  };
}

/**
 * Installs pod-hardener with the node tier's configuration (the shipped one, a ceiling that also
 * allows SYS_ADMIN, mesh-init exempt), with `hardening` keys overridden and `imageIdentity` set
 * when given, through an operator's overlay, and waits for the rollout. Tests that change the configuration call it again without
 * overrides when they are done.
 */
export async function applyNodeTierConfig(
  hardening: Record<string, unknown> = {},
  imageIdentity?: Record<string, unknown>,
): Promise<void> {
  const env = clusterEnv();
  const dir = path.join(env.stateDir, 'install-node-tier');
  fs.mkdirSync(dir, { recursive: true });
  const config = parseDocument(
    fs.readFileSync(path.join(repoRoot, 'manifests', 'base', 'config.yaml'), 'utf8'),
  );
  const ceiling = config.getIn(['exceptions', 'capabilityCeiling']) as any;
  ceiling.add('SYS_ADMIN');
  config.setIn(['exceptions', 'exemptContainers'], [{ name: NODE_TIER_EXEMPT_CONTAINER }]);
  // This cluster's operator lets pod authors opt out everywhere, so the kernel tests can show
  // what a skipped container runs as; the default (nowhere) is tested in the unit and API tiers.
  config.setIn(['exceptions', 'skipNamespaces'], ['*']);
  for (const [key, value] of Object.entries(hardening)) config.setIn(['hardening', key], value);
  if (imageIdentity !== undefined) config.set('imageIdentity', imageIdentity);
  fs.writeFileSync(path.join(dir, 'config.yaml'), config.toString());
  // The guard must know the same exceptions; operators write it with guard-params.
  const cli = path.join(repoRoot, 'dist', 'cli', 'main.js');
  if (!fs.existsSync(cli))
    throw new Error(`${cli} is missing: build first (npx tsc -p tsconfig.build.json)`);
  const guard = spawnSync(
    process.execPath,
    [cli, 'guard-params', '--config', path.join(dir, 'config.yaml')],
    { encoding: 'utf8' },
  );
  if (guard.status !== 0) throw new Error(`pod-hardener guard-params failed: ${guard.stderr}`);
  fs.writeFileSync(path.join(dir, 'guard.yaml'), guard.stdout);
  fs.writeFileSync(
    path.join(dir, 'kustomization.yaml'),
    [
      'apiVersion: kustomize.config.k8s.io/v1beta1',
      'kind: Kustomization',
      'resources: [../install]',
      'configMapGenerator:',
      '  - {name: pod-hardener-config, namespace: pod-hardener, behavior: replace, files: [config.yaml]}',
      'patches: [{path: guard.yaml}]',
      '',
    ].join('\n'),
  );
  await kubectl(['apply', '-k', dir]);
  await kubectl(
    ['-n', 'pod-hardener', 'rollout', 'status', 'deployment/pod-hardener', '--timeout=180s'],
    {
      timeoutMs: 200_000,
    },
  );
  // `rollout status` returns while the old replicas still drain. A create sent meanwhile may be
  // sent on the API server's keep-alive connection to one of them as it closes ("use of closed
  // network connection", seen once), and the guard refuses the pod: the tests after a change of
  // configuration test hardening, not rollouts (the fault suite measures those), so they start
  // once only the new replicas are left.
  await eventually(
    async () => (await webhookPods()).every((p) => p.metadata.deletionTimestamp === undefined),
    { what: 'the old pod-hardener replicas to be gone', timeoutMs: 120_000, everyMs: 500 },
  );
}
