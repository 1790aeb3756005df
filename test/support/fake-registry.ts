/**
 * A fake OCI registry on 127.0.0.1 for the http tier: manifests, indexes and config blobs
 * served by the distribution API paths, with the Bearer token flow (a /token realm on the same
 * server) or Basic authentication, and the misbehaviours the tests need (slow answers, an
 * oversized blob, a malformed config). Every request is recorded, so a test can assert that
 * none was made. Credentials and tokens are generated per instance.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';

export type FakeAuth = 'none' | 'bearer' | 'basic';

export interface PushOptions {
  /** config.User; absent, the config has no User. */
  user?: string;
  /** The config blob's bytes as they are (a malformed config). */
  rawConfig?: Buffer;
  /** Serve an OCI index over linux/arm64 and linux/amd64 (each its own config and user). */
  index?: { arm64User?: string };
  /** A Docker v2 manifest instead of an OCI one. */
  docker?: boolean;
  /** The config blob is streamed this many bytes long, chunked, whatever its digest says. */
  oversizedConfig?: number;
}

export interface Pushed {
  /** The digest of what the tag points at (the index, for an index). */
  digest: string;
  reference: string;
}

export interface RecordedRequest {
  method: string;
  path: string;
  authorization?: string;
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

export class FakeRegistry {
  readonly requests: RecordedRequest[] = [];
  readonly username = 'puller';
  readonly password = randomBytes(12).toString('hex');
  /** Added to every answer, in milliseconds. */
  delayMs = 0;
  /** Blobs are answered with a redirect to this origin (`http://host:port`), as CDNs serve them. */
  redirectBlobsTo: string | undefined;
  private readonly token = randomBytes(16).toString('hex');
  private readonly manifests = new Map<string, { type: string; body: Buffer }>();
  private readonly tags = new Map<string, string>();
  private readonly blobs = new Map<string, Buffer>();
  private readonly oversized = new Map<string, number>();

  private constructor(
    private readonly server: Server,
    readonly auth: FakeAuth,
  ) {}

  static async start(auth: FakeAuth = 'none'): Promise<FakeRegistry> {
    const holder: { registry?: FakeRegistry } = {};
    const server = createServer((req, res) => holder.registry!.handle(req, res));
    const registry = (holder.registry = new FakeRegistry(server, auth));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return registry;
  }

  /** `127.0.0.1:<port>`, as an image reference names it. */
  get host(): string {
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** `.dockerconfigjson` text with this registry's credentials (or wrong ones). */
  dockerConfig(password = this.password): string {
    const auth = Buffer.from(`${this.username}:${password}`).toString('base64');
    return JSON.stringify({ auths: { [this.host]: { auth } } });
  }

  push(repository: string, tag: string, o: PushOptions = {}): Pushed {
    const manifestOf = (platform: string, user: string | undefined, raw?: Buffer) => {
      const config =
        raw ??
        Buffer.from(
          JSON.stringify({
            architecture: 'amd64',
            os: 'linux',
            // The reference in a label: every pushed image has a config of its own.
            config: {
              ...(user !== undefined && { User: user }),
              Env: ['PATH=/bin'],
              Labels: { pushed: `${repository}:${tag}:${platform}` },
            },
            rootfs: { type: 'layers', diff_ids: [] },
          }),
        );
      const configDigest = sha(config);
      this.blobs.set(configDigest, config);
      if (o.oversizedConfig !== undefined) this.oversized.set(configDigest, o.oversizedConfig);
      const type = o.docker ? DOCKER_MANIFEST : OCI_MANIFEST;
      const body = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: type,
          config: {
            mediaType: o.docker ? 'application/vnd.docker.container.image.v1+json' : OCI_CONFIG,
            digest: configDigest,
            size: config.length,
          },
          layers: [],
        }),
      );
      const digest = sha(body);
      this.manifests.set(`${repository}@${digest}`, { type, body });
      return { digest, size: body.length, type };
    };
    let top: { digest: string };
    if (o.index) {
      const arm = manifestOf('arm64', o.index.arm64User);
      const amd = manifestOf('amd64', o.user, o.rawConfig);
      const body = Buffer.from(
        JSON.stringify({
          schemaVersion: 2,
          mediaType: OCI_INDEX,
          manifests: [
            {
              mediaType: arm.type,
              digest: arm.digest,
              size: arm.size,
              platform: { os: 'linux', architecture: 'arm64', variant: 'v8' },
            },
            {
              mediaType: amd.type,
              digest: amd.digest,
              size: amd.size,
              platform: { os: 'linux', architecture: 'amd64' },
            },
          ],
        }),
      );
      top = { digest: sha(body) };
      this.manifests.set(`${repository}@${top.digest}`, { type: OCI_INDEX, body });
    } else top = manifestOf('amd64', o.user, o.rawConfig);
    this.tags.set(`${repository}:${tag}`, top.digest);
    return { digest: top.digest, reference: `${this.host}/${repository}:${tag}` };
  }

  /** Requests to the distribution API (the token realm's not included). */
  apiRequests(): RecordedRequest[] {
    return this.requests.filter((r) => r.path.startsWith('/v2/'));
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', `http://${this.host}`);
    this.requests.push({
      method: req.method ?? '',
      path: url.pathname,
      ...(req.headers.authorization !== undefined && { authorization: req.headers.authorization }),
    });
    const answer = () => this.answer(url, req, res);
    if (this.delayMs > 0) setTimeout(answer, this.delayMs);
    else answer();
  }

  private answer(url: URL, req: IncomingMessage, res: ServerResponse): void {
    if (res.destroyed) return;
    const basic = `Basic ${Buffer.from(`${this.username}:${this.password}`).toString('base64')}`;
    if (url.pathname === '/token') {
      if (req.headers.authorization !== basic)
        return json(res, 401, { errors: [{ code: 'UNAUTHORIZED' }] });
      return json(res, 200, { token: this.token, expires_in: 300 });
    }
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
    if (this.auth !== 'none') {
      const expected = this.auth === 'bearer' ? `Bearer ${this.token}` : basic;
      if (req.headers.authorization !== expected) {
        const challenge =
          this.auth === 'bearer'
            ? `Bearer realm="http://${this.host}/token",service="fake-registry",scope="repository:${m?.[1] ?? ''}:pull"`
            : 'Basic realm="fake-registry"';
        res.writeHead(401, { 'WWW-Authenticate': challenge, 'Content-Type': 'application/json' });
        return void res.end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      }
    }
    if (!m) return json(res, 404, { errors: [{ code: 'NAME_UNKNOWN' }] });
    const [, repository, kind, ref] = m;
    if (kind === 'manifests') {
      const digest = ref.startsWith('sha256:') ? ref : this.tags.get(`${repository}:${ref}`);
      const manifest = digest && this.manifests.get(`${repository}@${digest}`);
      if (!manifest) return json(res, 404, { errors: [{ code: 'MANIFEST_UNKNOWN' }] });
      res.writeHead(200, {
        'Content-Type': manifest.type,
        'Docker-Content-Digest': digest,
        'Content-Length': manifest.body.length,
      });
      return void res.end(manifest.body);
    }
    if (this.redirectBlobsTo !== undefined) {
      res.writeHead(307, { Location: `${this.redirectBlobsTo}${url.pathname}` });
      return void res.end();
    }
    const oversized = this.oversized.get(ref);
    if (oversized !== undefined) {
      // Chunked, no Content-Length: the client must stop reading by itself.
      res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 0x20);
      let sent = 0;
      const pump = () => {
        while (sent < oversized) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('error', () => undefined);
      return pump();
    }
    const blob = this.blobs.get(ref);
    if (!blob) return json(res, 404, { errors: [{ code: 'BLOB_UNKNOWN' }] });
    res.writeHead(200, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': blob.length,
    });
    res.end(blob);
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}
