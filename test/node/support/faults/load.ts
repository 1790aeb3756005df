// The steady load of the fault suite: pod creations at a fixed rate into one enforce namespace,
// sent straight to the API server over a keep-alive pool (a kubectl process per create would
// cost more CPU than the API server and the webhook together), and a Deployment scaled up and
// down meanwhile, whose pods the ReplicaSet controller creates through the same admission chain.
//
// Open loop: each create has its scheduled time, and its latency counts from then, so a stalled
// API server shows as latency rather than as fewer attempts. No pod runs: they select a node
// label no node has, so thousands of creations cost the node nothing, and their stored spec is
// what admission made of them. The Deployment's pods carry a finalizer, so that those its
// scale-downs delete stay stored until the suite has checked them.

import * as fs from 'node:fs';
import { parse } from 'yaml';
import { apiClient, type ApiClient } from '../../../e2e/support/dry-run';
import { clusterEnv } from '../cluster';

export const KEEP_FINALIZER = 'pod-hardener.test/checked-by-fault-suite';
export const UNSCHEDULABLE = { 'pod-hardener.test/no-such-node': 'true' };
const BARE_LABEL = 'pod-hardener.test/load';
export const DEPLOYMENT = 'scaled';

export interface Attempt {
  name: string;
  /** Milliseconds since the load started, when it was due. */
  due: number;
  latencyMs: number;
  admitted: boolean;
  /** Why it was refused: the API server's message, or the connection's error. */
  reason?: string;
}

/** An admin client of the node tier's API server, from its kubeconfig. */
export function clusterApi(maxSockets = 64): ApiClient {
  const kc = parse(fs.readFileSync(clusterEnv().kubeconfig, 'utf8'));
  return apiClient(
    {
      server: kc.clusters[0].cluster.server,
      caPem: Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64').toString(),
      token: kc.users[0].user.token,
    },
    maxSockets,
  );
}

/**
 * Two shapes in turn: a pod that sets nothing, and a legacy one that asks for root, privilege,
 * escalation and a capability. Admitted unhardened, either would show in its stored spec.
 */
function barePod(name: string, legacy: boolean): Record<string, unknown> {
  const container: Record<string, unknown> = { name: 'app', image: 'registry.invalid/app:1' };
  if (legacy)
    container.securityContext = {
      runAsUser: 0,
      privileged: true,
      allowPrivilegeEscalation: true,
      capabilities: { add: ['NET_ADMIN'] },
    };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { [BARE_LABEL]: 'true' } },
    spec: { nodeSelector: UNSCHEDULABLE, containers: [container] },
  };
}

export function scaledDeployment(): Record<string, unknown> {
  const labels = { app: DEPLOYMENT };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: DEPLOYMENT },
    spec: {
      replicas: 0,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels, finalizers: [KEEP_FINALIZER] },
        spec: {
          nodeSelector: UNSCHEDULABLE,
          terminationGracePeriodSeconds: 0,
          containers: [{ name: 'app', image: 'registry.invalid/app:1' }],
        },
      },
    },
  };
}

export interface Load {
  /** Attempts so far (the load goes on). */
  attempts(): readonly Attempt[];
  /** Milliseconds since the load started. */
  elapsed(): number;
  /** Stops sending and scaling, waits for the creates in flight, returns every attempt. */
  stop(): Promise<Attempt[]>;
}

/** Starts `perSecond` creates a second into `namespace`, and the Deployment's scaling. */
export function startLoad(
  api: ApiClient,
  namespace: string,
  perSecond: number,
  scaleEveryMs = 4000,
): Load {
  const t0 = performance.now();
  const attempts: Attempt[] = [];
  const inFlight = new Set<Promise<void>>();
  let sent = 0;
  const create = (due: number) => {
    const name = `load-${sent}`;
    const body = barePod(name, sent % 2 === 1);
    sent++;
    const p = api
      .send('POST', `/api/v1/namespaces/${namespace}/pods`, body)
      .then(
        (r) => {
          const latencyMs = performance.now() - t0 - due;
          if (r.status === 201) attempts.push({ name, due, latencyMs, admitted: true });
          else
            attempts.push({
              name,
              due,
              latencyMs,
              admitted: false,
              reason: `${r.status} ${r.body?.message ?? String(r.body).slice(0, 300)}`,
            });
        },
        (err: Error & { code?: string }) => {
          attempts.push({
            name,
            due,
            latencyMs: performance.now() - t0 - due,
            admitted: false,
            reason: `no answer: ${err.code ?? err.message}`,
          });
        },
      )
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  };
  const interval = 1000 / perSecond;
  // A timer may fire late (a loaded machine); every create that fell due meanwhile is sent then,
  // with its own due time, so the rate holds on average.
  const tick = setInterval(() => {
    const now = performance.now() - t0;
    while (sent * interval <= now) create(sent * interval);
  }, interval / 2);

  let replicas = 0;
  const scale = setInterval(() => {
    replicas = replicas === 0 ? 6 : 0;
    const p = api
      .send(
        'PATCH',
        `/apis/apps/v1/namespaces/${namespace}/deployments/${DEPLOYMENT}`,
        { spec: { replicas } },
        'application/merge-patch+json',
      )
      // The scaling drives load; it is not what is measured (the pods it makes are).
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => inFlight.delete(p));
    inFlight.add(p);
  }, scaleEveryMs);

  return {
    attempts: () => attempts,
    elapsed: () => performance.now() - t0,
    async stop() {
      clearInterval(tick);
      clearInterval(scale);
      while (inFlight.size > 0) await Promise.all([...inFlight]);
      return [...attempts].sort((a, b) => a.due - b.due);
    },
  };
}
