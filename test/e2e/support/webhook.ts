// The webhook as users run it (node dist/main.js, the production build) on a free loopback
// port, with a certificate generated for this run whose IP SAN is 127.0.0.1, and its
// registration with a test API server from the project's own manifests/base/webhook.yaml.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { generateCA, issueServingCertificate } from '../../../src/certs/generate';
import type { ControlPlane } from './controlplane';

const repoRoot = resolve(__dirname, '..', '..', '..');

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

export interface WebhookProcess {
  port: number;
  metricsPort: number;
  caPem: string;
  dir: string;
  logFile: string;
  baseUrl: string;
  stop(): Promise<void>;
}

async function waitReady(
  url: string,
  child: ChildProcess,
  logFile: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(
        `webhook exited with ${child.exitCode}:\n${readFileSync(logFile, 'utf8').slice(-3000)}`,
      );
    try {
      const res = await fetch(url);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(
    `webhook not ready after ${timeoutMs} ms:\n${readFileSync(logFile, 'utf8').slice(-3000)}`,
  );
}

/** Starts dist/main.js (run `npm run build` first; `npm test` does) with a config file. */
export async function startWebhook(
  config: Record<string, unknown> = {},
  env: NodeJS.ProcessEnv = {},
): Promise<WebhookProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'pod-hardener-e2e-'));
  const ca = await generateCA('pod-hardener e2e CA', 1);
  const serving = await issueServingCertificate(ca, {
    dnsNames: ['localhost'],
    ipAddresses: ['127.0.0.1'],
    validDays: 1,
  });
  writeFileSync(join(dir, 'tls.crt'), serving.certPem);
  writeFileSync(join(dir, 'tls.key'), serving.keyPem, { mode: 0o600 });
  writeFileSync(join(dir, 'config.yaml'), JSON.stringify(config));
  const [port, metricsPort] = [await freePort(), await freePort()];
  const logFile = join(dir, 'webhook.log');
  const log = createWriteStream(logFile);
  const child = spawn(process.execPath, [join(repoRoot, 'dist', 'main.js')], {
    env: {
      ...process.env,
      POD_HARDENER_CONFIG: join(dir, 'config.yaml'),
      POD_HARDENER_ADDRESS: '127.0.0.1',
      POD_HARDENER_PORT: String(port),
      POD_HARDENER_METRICS_PORT: String(metricsPort),
      POD_HARDENER_TLS_CERT_FILE: join(dir, 'tls.crt'),
      POD_HARDENER_TLS_KEY_FILE: join(dir, 'tls.key'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  await waitReady(`http://127.0.0.1:${metricsPort}/readyz`, child, logFile);
  let stopped = false;
  return {
    port,
    metricsPort,
    caPem: ca.certPem,
    dir,
    logFile,
    baseUrl: `https://127.0.0.1:${port}`,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await exited;
        clearTimeout(timer);
      }
      log.end();
      if (!process.env.POD_HARDENER_KEEP_E2E) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The MutatingWebhookConfiguration as `kubectl apply -k manifests/` installs it (rendered by
 * kustomize, so the overlays' changes such as the guard's failurePolicy are in), with only the
 * clientConfig rewritten to a url (the test API server cannot reach a Service) and the test CA
 * as caBundle.
 */
export async function shippedWebhookConfiguration(
  cp: ControlPlane,
  baseUrl: string,
  caPem: string,
): Promise<any> {
  const rendered = (await cp.kubectl(['kustomize', join(repoRoot, 'manifests')])).stdout;
  const config = parseAllDocuments(rendered)
    .map((d) => d.toJS())
    .find((o) => o?.kind === 'MutatingWebhookConfiguration');
  if (!config)
    throw new Error('kubectl kustomize manifests/ rendered no MutatingWebhookConfiguration');
  for (const webhook of config.webhooks) {
    webhook.clientConfig = {
      url: `${baseUrl}${webhook.clientConfig.service.path}`,
      caBundle: Buffer.from(caPem).toString('base64'),
    };
  }
  return config;
}

export async function registerWebhook(
  cp: ControlPlane,
  baseUrl: string,
  caPem: string,
): Promise<any> {
  const config = await shippedWebhookConfiguration(cp, baseUrl, caPem);
  await cp.kubectl(['apply', '-f', '-'], { input: JSON.stringify(config) });
  return config;
}

export async function unregisterWebhook(cp: ControlPlane, name = 'pod-hardener'): Promise<void> {
  await cp.kubectl(['delete', 'mutatingwebhookconfiguration', name, '--ignore-not-found']);
}
