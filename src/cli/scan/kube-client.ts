/**
 * The cluster side of scan: @kubernetes/client-node loads the kubeconfig (files, contexts,
 * tokens, client certificates, exec and OIDC plugins, proxies) and signs each request; the GET
 * itself goes through node:http(s), so pods arrive exactly as the API server serialises them,
 * which is what the webhook is sent (client-node's typed models would drop fields they do not
 * know), and owners can be read as metadata only.
 *
 * @kubernetes/client-node 1.x is an ES module: Node >= 20.19 loads it through require(), jest
 * cannot, so this file is only loaded when scan runs (index.ts imports it lazily) and is tested
 * in the e2e tier against a real kube-apiserver.
 */
import { existsSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import type { KubeApi } from './collect';
import { ApiError, ScanError, oneLine } from './errors';

export interface Connection {
  api: KubeApi;
  context: string;
  server: string;
  /** The context's namespace, else "default", as kubectl picks it. */
  namespace: string;
}

export interface ConnectOptions {
  kubeconfig?: string;
  context?: string;
  env: Readonly<Record<string, string | undefined>>;
  requestTimeoutMs: number;
}

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';
const USER_AGENT = 'pod-hardener-scan';

function load(o: ConnectOptions): KubeConfig {
  const kc = new KubeConfig();
  const fromEnv = o.env.KUBECONFIG?.trim() ? o.env.KUBECONFIG : undefined;
  const home = join(o.env.HOME?.trim() ? o.env.HOME : homedir(), '.kube', 'config');
  const source = o.kubeconfig ?? fromEnv ?? home;
  try {
    if (o.kubeconfig !== undefined) kc.loadFromFile(o.kubeconfig);
    else if (fromEnv !== undefined || existsSync(home)) kc.loadFromDefault();
    else if (existsSync(SERVICE_ACCOUNT_TOKEN) && o.env.KUBERNETES_SERVICE_HOST)
      kc.loadFromCluster();
    // client-node would quietly fall back to http://localhost:8080 and fail with a confusing message.
    else
      throw new ScanError(
        `no kubeconfig: ${home} does not exist and KUBECONFIG is not set (use --kubeconfig FILE)`,
      );
  } catch (err) {
    if (err instanceof ScanError) throw err;
    throw new ScanError(`kubeconfig ${source}: ${(err as Error).message.split('\n')[0]}`);
  }
  return kc;
}

export function connect(o: ConnectOptions): Connection {
  const kc = load(o);
  if (o.context !== undefined) {
    if (!kc.getContextObject(o.context)) {
      const names = kc.getContexts().map((c) => c.name);
      throw new ScanError(
        `context "${o.context}" is not in the kubeconfig${names.length > 0 ? ` (it has: ${names.join(', ')})` : ''}`,
      );
    }
    kc.setCurrentContext(o.context);
  }
  const contextName = kc.getCurrentContext();
  const context = contextName ? kc.getContextObject(contextName) : null;
  if (!context)
    throw new ScanError('the kubeconfig has no current context: choose one with --context');
  const cluster = kc.getCurrentCluster();
  if (!cluster)
    throw new ScanError(
      `context "${contextName}" names cluster "${context.cluster}", which the kubeconfig does not define`,
    );
  let base: URL;
  try {
    base = new URL(cluster.server);
    if (base.protocol !== 'https:' && base.protocol !== 'http:') throw new Error('not http(s)');
  } catch {
    throw new ScanError(
      `cluster "${cluster.name}" of context "${contextName}": server ${JSON.stringify(cluster.server)} is not an https:// URL`,
    );
  }
  const prefix = base.href.replace(/\/+$/, '');

  const api: KubeApi = {
    async get(path, query = {}, accept = 'application/json') {
      const url = new URL(prefix + path);
      for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
      const options: https.RequestOptions = {
        method: 'GET',
        headers: { Accept: accept, 'User-Agent': USER_AGENT },
      };
      try {
        await kc.applyToHTTPSOptions(options);
      } catch (err) {
        throw new ScanError(`credentials of context "${contextName}": ${(err as Error).message}`);
      }
      return request(url, options, path, o.requestTimeoutMs);
    },
  };
  return {
    api,
    context: contextName,
    server: cluster.server,
    namespace: context.namespace || 'default',
  };
}

function request(
  url: URL,
  options: https.RequestOptions,
  path: string,
  timeoutMs: number,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'http:' ? http.request : https.request;
    const req = send(url, options, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const status = res.statusCode ?? 0;
        if (status === 200) {
          try {
            resolve(JSON.parse(text));
          } catch {
            reject(new ScanError(`the API server's answer to GET ${path} is not JSON`));
          }
          return;
        }
        // A Status object says why; anything else (a proxy's HTML page) is cut short.
        let message = oneLine(text).slice(0, 200) || (res.statusMessage ?? '');
        let reason = res.statusMessage ?? '';
        try {
          const s = JSON.parse(text) as { message?: unknown; reason?: unknown };
          if (typeof s.message === 'string' && s.message !== '') message = s.message;
          if (typeof s.reason === 'string' && s.reason !== '') reason = s.reason;
        } catch {
          // not a Status
        }
        reject(new ApiError(status, reason, message, path));
      });
    });
    req.setTimeout(timeoutMs, () => {
      req.destroy(
        Object.assign(new Error(`no answer to GET ${path} within ${timeoutMs / 1000} s`), {
          code: 'ETIMEDOUT_REQUEST',
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}
