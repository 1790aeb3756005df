// Global teardown of the node tier: a cluster the tier started is removed (`npm run cluster --
// down`); one that was already running gets pod-hardener's default configuration back.

import { spawnSync } from 'child_process';
import { clusterEnv, clusterScript, kubectl } from './cluster';

export default async function globalTeardown(): Promise<void> {
  if ((globalThis as any).__podHardenerStartedCluster) {
    const r = spawnSync('bash', [clusterScript, 'down'], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (r.status !== 0) throw new Error('npm run cluster -- down failed (its messages are above)');
    return;
  }
  await kubectl(['apply', '-k', clusterEnv().installDir]);
}
