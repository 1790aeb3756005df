/**
 * Helpers for the http tier (and the config unit tests that need real files): a mounted volume
 * updated the way the kubelet does it, HTTPS requests. Polling for a condition: ./eventually.
 */
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request as httpsRequest, type RequestOptions } from 'node:https';
import { request as httpRequest } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { Writable } from 'node:stream';
import { createServer } from 'node:net';
import {
  generateCA,
  issueServingCertificate,
  type CertificatePair,
} from '../../src/certs/generate';
import { loadConfig, type LoadOptions } from '../../src/config/load';
import { createLogger } from '../../src/server/logging';
import { createMetrics } from '../../src/server/metrics';
import { startServer, type RunningServer, type ServerOptions } from '../../src/server/server';
import type { ReviewFn } from '../../src/server/pipeline';

export function tempDir(prefix = 'ph-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

let generation = 0;

/**
 * A directory laid out like a mounted ConfigMap or Secret (kubelet's AtomicWriter): the data in
 * `..<timestamp>/`, a `..data` symlink onto it, and each visible file a symlink `name ->
 * ..data/name`. `update` swaps `..data` atomically onto a new timestamped directory and removes
 * the old one, exactly as the kubelet does on a Secret or ConfigMap change.
 */
export class KubeVolume {
  constructor(readonly dir: string) {}

  static create(files: Record<string, string>, dir = tempDir('ph-volume-')): KubeVolume {
    const volume = new KubeVolume(dir);
    const data = volume.writeGeneration(files);
    symlinkSync(data, join(dir, '..data'));
    for (const name of Object.keys(files)) symlinkSync(join('..data', name), join(dir, name));
    return volume;
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  update(files: Record<string, string>): void {
    const old = readdirSync(this.dir).filter((n) => n.startsWith('..') && n !== '..data');
    const data = this.writeGeneration(files);
    const tmp = join(this.dir, '..data_tmp');
    symlinkSync(data, tmp);
    renameSync(tmp, join(this.dir, '..data'));
    for (const name of Object.keys(files)) {
      try {
        symlinkSync(join('..data', name), join(this.dir, name));
      } catch {
        // already linked
      }
    }
    for (const dir of old) rmSync(join(this.dir, dir), { recursive: true, force: true });
  }

  private writeGeneration(files: Record<string, string>): string {
    const name = `..${new Date().toISOString().replace(/[:.]/g, '_')}.${++generation}`;
    mkdirSync(join(this.dir, name));
    for (const [file, content] of Object.entries(files))
      writeFileSync(join(this.dir, name, file), content);
    return name;
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------------------------------------
// A real server on free ports, and clients for it.

export interface TestPki {
  ca: CertificatePair;
  /** Issues a serving certificate for localhost and 127.0.0.1 signed by `ca`. */
  issue(validDays?: number): Promise<CertificatePair>;
}

export async function createTestPki(): Promise<TestPki> {
  const ca = await generateCA('pod-hardener test CA', 1);
  return {
    ca,
    issue: (validDays = 1) =>
      issueServingCertificate(ca, {
        dnsNames: ['localhost'],
        ipAddresses: ['127.0.0.1'],
        validDays,
      }),
  };
}

/** Every log line the server wrote, parsed. */
export class LogCapture extends Writable {
  readonly lines: Record<string, any>[] = [];
  override _write(chunk: Buffer, _enc: string, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n'))
      if (line.trim() !== '') this.lines.push(JSON.parse(line));
    done();
  }
  messages(): string[] {
    return this.lines.map((l) => l.msg as string);
  }
}

export interface TestServer extends RunningServer {
  url: string;
  ca: string;
  logs: LogCapture;
  loadOptions: LoadOptions;
}

export interface TestServerOptions {
  /** YAML of the config file (written to `configFile` when given, else read from memory). */
  yaml?: string;
  configFile?: string;
  env?: Record<string, string>;
  /** Certificate files; default: a fresh pair from a fresh test CA. */
  certFile?: string;
  keyFile?: string;
  ca?: string;
  review?: ReviewFn;
  timing?: ServerOptions['timing'];
  defaultMetrics?: boolean;
}

/** startServer on 127.0.0.1 with free ports, logs captured, certificates from files. */
export async function startTestServer(o: TestServerOptions = {}): Promise<TestServer> {
  let { certFile, keyFile, ca } = o;
  if (certFile === undefined || keyFile === undefined) {
    const pki = await createTestPki();
    const pair = await pki.issue();
    const dir = tempDir('ph-tls-');
    certFile = join(dir, 'tls.crt');
    keyFile = join(dir, 'tls.key');
    writeFileSync(certFile, pair.certPem);
    writeFileSync(keyFile, pair.keyPem);
    ca = pki.ca.certPem;
  }
  const configFile = o.configFile ?? '/test/config.yaml';
  const loadOptions: LoadOptions = {
    argv: o.yaml !== undefined || o.configFile !== undefined ? ['--config', configFile] : [],
    env: {
      POD_HARDENER_TLS_CERT_FILE: certFile,
      POD_HARDENER_TLS_KEY_FILE: keyFile,
      POD_HARDENER_LOG_LEVEL: 'debug',
      ...o.env,
    },
    readFile: (p) =>
      p === configFile && o.configFile === undefined ? (o.yaml ?? '') : readFileSync(p, 'utf8'),
  };
  const loaded = loadConfig(loadOptions);
  const logs = new LogCapture();
  const server = await startServer({
    loaded,
    loadOptions,
    review: o.review,
    logger: createLogger(loaded.config.log.level, logs),
    metrics: createMetrics({ defaultMetrics: o.defaultMetrics ?? false }),
    listen: { address: '127.0.0.1', port: 0, metricsPort: 0 },
    timing: {
      shutdownDelayMs: 0,
      shutdownGraceMs: 5000,
      certPollIntervalMs: 200,
      configPollIntervalMs: 200,
      ...o.timing,
    },
  });
  return Object.assign(server, {
    url: `https://127.0.0.1:${server.port}`,
    ca: ca ?? '',
    logs,
    loadOptions,
  });
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
  /** Serial number of the certificate the server presented. */
  serialNumber?: string;
  /** The request went out on a kept-alive connection. */
  reusedSocket: boolean;
}

export interface PostOptions extends RequestOptions {
  contentType?: string | null;
}

/** One HTTPS request; the body is JSON-encoded unless it is a string or Buffer. */
export function post(
  server: { port: number; ca: string },
  path: string,
  body: unknown,
  o: PostOptions = {},
): Promise<Reply> {
  const payload = typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body);
  const headers: Record<string, string> = { ...(o.headers as Record<string, string>) };
  if (o.contentType !== null) headers['Content-Type'] = o.contentType ?? 'application/json';
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: server.port,
        path,
        method: o.method ?? 'POST',
        ca: server.ca,
        agent: o.agent ?? false,
        ...o,
        headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          const serialNumber = (res.socket as TLSSocket | null)?.getPeerCertificate?.()
            ?.serialNumber;
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            json,
            serialNumber,
            reusedSocket: req.reusedSocket,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', (err: NodeJS.ErrnoException & { reusedSocket?: boolean }) => {
      // Whether the request went out on a kept-alive connection (a server closing it as idle
      // races such a request) or on a fresh one.
      err.reusedSocket = req.reusedSocket;
      reject(err);
    });
    req.end(payload);
  });
}

/**
 * A POST whose body is sent in two parts: `first` at once, the rest when `finish` is called, so
 * a test can hold a request in flight or stream a chunked body (no Content-Length given).
 */
export function partialPost(
  server: { port: number; ca: string },
  path: string,
  headers: Record<string, string | number>,
  first: string,
): {
  response: Promise<{
    status: number;
    text: string;
    headers: Record<string, string | string[] | undefined>;
  }>;
  finish: (rest: string) => void;
} {
  let finish!: (rest: string) => void;
  const response = new Promise<{
    status: number;
    text: string;
    headers: Record<string, string | string[] | undefined>;
  }>((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port: server.port,
        path,
        method: 'POST',
        ca: server.ca,
        agent: false,
        headers,
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.write(first);
    finish = (rest) => req.end(rest);
  });
  return { response, finish: (rest) => finish(rest) };
}

/** A keep-alive agent that trusts the test CA (the API server reuses connections too). */
export function keepAliveAgent(ca: string, maxSockets = 4): Agent {
  return new Agent({ keepAlive: true, maxSockets, ca });
}

/** GET on the plain-HTTP health and metrics port. */
export function getHealth(
  port: number,
  path: string,
): Promise<{ status: number; text: string; contentType?: string }> {
  return new Promise((resolve, reject) => {
    httpRequest({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, text, contentType: res.headers['content-type'] }),
      );
    })
      .on('error', reject)
      .end();
  });
}

/** The value of one sample of a Prometheus text exposition (0 when the series is absent). */
export function metricValue(
  text: string,
  name: string,
  labels: Record<string, string> = {},
): number {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = (m[3] ?? '').split(',').filter(Boolean);
    if (want.length === have.length && want.every((w) => have.includes(w))) return Number(m[4]);
  }
  return 0;
}

export async function scrape(server: { metricsPort: number }): Promise<string> {
  return (await getHealth(server.metricsPort, '/metrics')).text;
}

/** A port nothing listens on: taken, then given back. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
