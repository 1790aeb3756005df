// One fault under load, measured: the load starts, runs steady for a few seconds, the fault
// happens and pod-hardener recovers, the load goes on until creations have been admitted for a
// while, then every pod the namespace stored is judged. Each fault gets its own enforce
// namespace, so that its figures are its own.

import { LabelValues } from '../../../../src/names';
import type { ApiClient } from '../../../e2e/support/dry-run';
import { namespace } from '../cluster';
import type { Fault } from './faults';
import { scaledDeployment, startLoad, type Attempt } from './load';
import { notHardened, releaseKeptPods, storedPods } from './stored';

export const RATE_PER_SECOND = 20;
const STEADY_BEFORE_MS = 3000;
/** After the fault, creations must have been admitted this long without a refusal. */
const QUIET_AFTER_MS = 5000;

export interface FaultResult {
  fault: Fault;
  attempted: number;
  hardened: number;
  unhardened: string[];
  refused: number;
  /** Refusals by kind, for the table and the failure messages. */
  reasons: Map<string, number>;
  longestMs: number;
  /** From the fault's start until creations were admitted again after the last refusal. */
  backAfterMs?: number;
  /** Bare pods the API server said it created that it does not hold (must be none). */
  lost: string[];
}

/** A refusal's kind: who refused, without the pod's name. */
export function refusalKind(reason: string): string {
  if (reason.startsWith('no answer')) return 'API server unreachable';
  if (/pod-hardener-guard|ValidatingAdmissionPolicy/.test(reason)) return 'the guard';
  if (/failed calling webhook/.test(reason)) return 'webhook call failed';
  if (/^(429|5\d\d) /.test(reason)) return `API server ${reason.slice(0, 3)}`;
  return reason.slice(0, 80);
}

export async function underLoad(api: ApiClient, fault: Fault, ns: string): Promise<FaultResult> {
  const cleanup = await namespace(ns, LabelValues.enforce);
  try {
    const deploy = await api.send(
      'POST',
      `/apis/apps/v1/namespaces/${ns}/deployments`,
      scaledDeployment(),
    );
    if (deploy.status !== 201)
      throw new Error(`creating the Deployment: ${JSON.stringify(deploy.body)}`);
    const load = startLoad(api, ns, RATE_PER_SECOND);
    let attempts: Attempt[];
    let faultAt = 0;
    try {
      await sleep(STEADY_BEFORE_MS);
      faultAt = load.elapsed();
      await fault.run({ namespace: ns });
      // Quiet: the last QUIET_AFTER_MS of due creations all admitted (bounded: a fault that never
      // recovers ends the wait, and its refusals fail the test).
      const limit = load.elapsed() + 120_000;
      while (load.elapsed() < limit) {
        await sleep(500);
        const now = load.elapsed();
        const recent = load.attempts().filter((a) => a.due > now - QUIET_AFTER_MS - 2000);
        if (
          recent.length >= (QUIET_AFTER_MS / 1000) * RATE_PER_SECOND &&
          recent.every((a) => a.admitted)
        )
          break;
      }
    } finally {
      attempts = await load.stop();
    }
    // Let the ReplicaSet controller finish what the last scaling asked for, then judge.
    await sleep(2000);
    const stored = await storedPods(api, ns);
    const storedNames = new Set(stored.pods.map((p) => p.metadata.name));
    const unhardened = stored.pods.map(notHardened).filter((x): x is string => x !== undefined);
    const refusedBare = attempts.filter((a) => !a.admitted);
    const reasons = new Map<string, number>();
    for (const a of refusedBare) {
      const kind = refusalKind(a.reason!);
      reasons.set(kind, (reasons.get(kind) ?? 0) + 1);
    }
    for (const e of stored.deploymentRefusals.events) {
      // "Error creating: <the API server's message>", as the ReplicaSet controller reports it.
      const kind = refusalKind(e.message.replace(/^Error creating: /, ''));
      reasons.set(kind, (reasons.get(kind) ?? 0) + e.count);
    }
    const lastRefused = refusedBare.at(-1);
    const firstAdmittedAfter =
      lastRefused && attempts.find((a) => a.admitted && a.due > lastRefused.due);
    const deploymentPods = stored.pods.filter((p) => p.metadata.ownerReferences?.length).length;
    return {
      fault,
      attempted: attempts.length + deploymentPods + stored.deploymentRefusals.count,
      hardened: stored.pods.length - unhardened.length,
      unhardened,
      refused: refusedBare.length + stored.deploymentRefusals.count,
      reasons,
      longestMs: Math.max(...attempts.map((a) => a.latencyMs)),
      backAfterMs: firstAdmittedAfter
        ? firstAdmittedAfter.due + firstAdmittedAfter.latencyMs - faultAt
        : undefined,
      lost: attempts.filter((a) => a.admitted && !storedNames.has(a.name)).map((a) => a.name),
    };
  } finally {
    await releaseKeptPods(api, ns).catch(() => undefined);
    await cleanup();
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
