// Requests to the test API server over one keep-alive connection pool, for tests that send
// thousands of them: spawning kubectl per pod would cost more than the whole run may take.
import { Agent, request } from 'node:https';
import type { ControlPlane } from './controlplane';

export interface ApiAnswer {
  status: number;
  body: any;
}

export interface ApiClient {
  send(method: string, path: string, body?: unknown, contentType?: string): Promise<ApiAnswer>;
  close(): void;
}

export function apiClient(
  cp: Pick<ControlPlane, 'server' | 'caPem' | 'token'>,
  maxSockets = 16,
): ApiClient {
  const agent = new Agent({ keepAlive: true, maxSockets, ca: cp.caPem });
  const base = new URL(cp.server);
  return {
    send(method, path, body, contentType = 'application/json') {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      return new Promise((resolve, reject) => {
        const req = request(
          {
            agent,
            hostname: base.hostname,
            port: base.port,
            path,
            method,
            headers: {
              Authorization: `Bearer ${cp.token}`,
              Accept: 'application/json',
              ...(payload === undefined
                ? {}
                : { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(payload) }),
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('error', reject);
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              let parsed: unknown = text;
              try {
                parsed = JSON.parse(text);
              } catch {
                // /livez and friends answer plain text
              }
              resolve({ status: res.statusCode ?? 0, body: parsed });
            });
          },
        );
        req.setTimeout(60_000, () => req.destroy(new Error(`${method} ${path}: timed out`)));
        req.on('error', reject);
        if (payload !== undefined) req.write(payload);
        req.end();
      });
    },
    close: () => agent.destroy(),
  };
}

/** Runs `work` over `items` with at most `concurrency` at a time, results in input order. */
export async function pool<T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const runners = Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i], i);
    }
  });
  await Promise.all(runners);
  return results;
}

/** Creates a pod with server-side dry run: the object the API server would store, or its refusal. */
export function dryRunCreate(client: ApiClient, namespace: string, pod: any): Promise<ApiAnswer> {
  return client.send('POST', `/api/v1/namespaces/${namespace}/pods?dryRun=All`, {
    ...pod,
    metadata: { ...pod.metadata, namespace },
  });
}
