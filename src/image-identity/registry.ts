/**
 * A minimal client of the OCI distribution API (GET manifests and blobs), with the three ways
 * registries authenticate a pull: none, Basic, and the Bearer token challenge (`401` with
 * `WWW-Authenticate: Bearer realm=...,service=...,scope=...`, then a token from the realm).
 *
 * Every URL it fetches, token realms and redirect targets included, must be on the operator's
 * allowlist, over HTTPS unless the host is marked insecure; every body it reads is bounded, so a
 * hostile registry can neither send it elsewhere nor exhaust its memory.
 */
import { createHash } from 'node:crypto';
import type { Credential, Credentials } from './credentials';
import type { HostMatcher } from './hosts';
import { apiHost, type ImageReference } from './reference';

export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
} as const;
const MANIFEST_ACCEPT = Object.values(MEDIA_TYPES).join(', ');

// containerd refuses manifests over 4 MiB; an image config is kilobytes (its history and
// environment make it larger, never megabytes in practice); a token is a few kilobytes.
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
export const MAX_CONFIG_BYTES = 4 * 1024 * 1024;
const MAX_TOKEN_BYTES = 256 * 1024;
const MAX_REDIRECTS = 3;
/** Tokens are kept at most this long, whatever the token service says, and at most this many. */
const MAX_TOKEN_TTL_MS = 5 * 60 * 1000;
const MAX_TOKENS = 256;

export const FAILURE_REASONS = [
  'bad_reference',
  'not_allowed',
  'unreachable',
  'timeout',
  'auth',
  'not_found',
  'http_error',
  'bad_response',
  'too_large',
  'no_platform',
  'busy',
] as const;
export type FailureReason = (typeof FAILURE_REASONS)[number];

/** A lookup that failed, with the reason it is counted under and a message for the warning. */
export class LookupError extends Error {
  constructor(
    readonly reason: FailureReason,
    message: string,
  ) {
    super(message);
    this.name = 'LookupError';
  }
}

export interface RegistryClientOptions {
  allowed: HostMatcher;
  insecure: HostMatcher;
  credentials: () => Credentials;
  fetch?: typeof fetch;
  now?: () => number;
}

export interface Fetched {
  bytes: Buffer;
  contentType: string;
}

export class RegistryClient {
  private readonly fetch: typeof fetch;
  private readonly now: () => number;
  /** Authorization header values by registry and scope (Bearer tokens until they expire). */
  private readonly tokens = new Map<string, { header: string; expires: number }>();

  constructor(private readonly o: RegistryClientOptions) {
    this.fetch = o.fetch ?? globalThis.fetch;
    this.now = o.now ?? Date.now;
  }

  /** A manifest or index by tag or digest. */
  manifest(ref: ImageReference, reference: string, signal: AbortSignal): Promise<Fetched> {
    return this.get(ref, `manifests/${reference}`, MANIFEST_ACCEPT, MAX_MANIFEST_BYTES, signal);
  }

  /** A blob (the image config) by digest. */
  blob(ref: ImageReference, digest: string, signal: AbortSignal): Promise<Fetched> {
    return this.get(ref, `blobs/${digest}`, '*/*', MAX_CONFIG_BYTES, signal);
  }

  private async get(
    ref: ImageReference,
    path: string,
    accept: string,
    limit: number,
    signal: AbortSignal,
  ): Promise<Fetched> {
    const { registry, repository } = ref;
    if (!this.o.allowed.matches(registry))
      throw new LookupError('not_allowed', `registry ${registry} is not on the allowlist`);
    const scheme = this.o.insecure.matches(registry, '80') ? 'http' : 'https';
    const url = `${scheme}://${apiHost(registry)}/v2/${repository}/${path}`;
    const scope = `repository:${repository}:pull`;
    const tokenKey = `${registry}\n${scope}`;
    let authorization = this.cachedToken(tokenKey);
    for (let attempt = 0; ; attempt++) {
      const res = await this.send(url, { accept, authorization }, signal);
      if (res.status === 401 && attempt === 0) {
        const challenge = res.headers.get('www-authenticate') ?? '';
        await discard(res);
        const granted = await this.authorize(registry, challenge, scope, signal);
        authorization = granted.header;
        this.keepToken(tokenKey, granted.header, granted.ttlMs);
        continue;
      }
      if (res.status !== 200) {
        await discard(res);
        if (res.status === 401 || res.status === 403) {
          this.tokens.delete(tokenKey);
          throw new LookupError('auth', `${registry} refused the pull (HTTP ${res.status})`);
        }
        if (res.status === 404)
          throw new LookupError('not_found', `${registry} has no ${repository}/${path}`);
        throw new LookupError('http_error', `${registry} answered HTTP ${res.status}`);
      }
      const bytes = await readBounded(res, limit, `${registry}: ${path.split('/')[0]}`, signal);
      return { bytes, contentType: res.headers.get('content-type') ?? '' };
    }
  }

  /** One GET, following redirects only to allowed hosts, with the credentials kept to the first host. */
  private async send(
    first: string,
    headers: { accept: string; authorization?: string },
    signal: AbortSignal,
  ): Promise<Response> {
    let url = new URL(first);
    this.checkUrl(url);
    const origin = url.origin;
    for (let hops = 0; ; hops++) {
      const h: Record<string, string> = { accept: headers.accept };
      if (headers.authorization !== undefined && url.origin === origin)
        h.authorization = headers.authorization;
      let res: Response;
      try {
        res = await this.fetch(url, { headers: h, signal, redirect: 'manual' });
      } catch (err) {
        throw networkError(err, signal, url.host);
      }
      if (res.status < 300 || res.status >= 400 || res.status === 304) return res;
      const location = res.headers.get('location');
      await discard(res);
      if (location === null) throw new LookupError('bad_response', `redirect without a location`);
      if (hops >= MAX_REDIRECTS)
        throw new LookupError('bad_response', `more than ${MAX_REDIRECTS} redirects`);
      url = new URL(location, url);
      this.checkUrl(url);
    }
  }

  /** HTTPS to an allowed host, or plain HTTP to one that is also marked insecure. */
  private checkUrl(url: URL): void {
    const https = url.protocol === 'https:';
    const allowed = https
      ? this.o.allowed.matches(url.host)
      : url.protocol === 'http:' &&
        this.o.allowed.matches(url.host, '80') &&
        this.o.insecure.matches(url.host, '80');
    if (!allowed)
      throw new LookupError(
        'not_allowed',
        `${url.protocol}//${url.host} is not an allowed registry host${https ? '' : ' for plain HTTP'}`,
      );
  }

  /** The Authorization header a challenge asks for: Basic credentials, or a token from the realm. */
  private async authorize(
    registry: string,
    challenge: string,
    scope: string,
    signal: AbortSignal,
  ): Promise<{ header: string; ttlMs: number }> {
    const credential = this.o.credentials().get(registry);
    const scheme = challenge.trim().split(/\s/, 1)[0].toLowerCase();
    if (scheme === 'basic') {
      if (credential === undefined)
        throw new LookupError('auth', `${registry} asks for credentials and none are configured`);
      return { header: basic(credential), ttlMs: MAX_TOKEN_TTL_MS };
    }
    if (scheme !== 'bearer')
      throw new LookupError('auth', `${registry} asks for an unsupported authentication scheme`);
    const params = challengeParams(challenge);
    if (params.realm === undefined)
      throw new LookupError('auth', `${registry}: Bearer challenge without a realm`);
    let realm: URL;
    try {
      realm = new URL(params.realm);
    } catch {
      throw new LookupError('auth', `${registry}: the token realm is not a URL`);
    }
    if (params.service !== undefined) realm.searchParams.set('service', params.service);
    realm.searchParams.set('scope', params.scope ?? scope);
    const res = await this.send(
      realm.href,
      {
        accept: 'application/json',
        ...(credential !== undefined ? { authorization: basic(credential) } : {}),
      },
      signal,
    );
    if (res.status !== 200) {
      await discard(res);
      throw new LookupError(
        'auth',
        `the token service of ${registry} refused ${credential ? 'the configured credentials' : 'an anonymous pull'} (HTTP ${res.status})`,
      );
    }
    const body = await readBounded(res, MAX_TOKEN_BYTES, `${registry}: token`, signal);
    let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      parsed = JSON.parse(body.toString('utf8')) as typeof parsed;
    } catch {
      throw new LookupError('auth', `the token service of ${registry} sent no JSON`);
    }
    const token = typeof parsed?.token === 'string' ? parsed.token : parsed?.access_token;
    if (typeof token !== 'string' || token === '')
      throw new LookupError('auth', `the token service of ${registry} sent no token`);
    // Docker's token spec: 60 s when the service does not say; a few seconds' margin.
    const ttl = typeof parsed.expires_in === 'number' ? parsed.expires_in * 1000 : 60000;
    return { header: `Bearer ${token}`, ttlMs: Math.min(ttl - 5000, MAX_TOKEN_TTL_MS) };
  }

  private keepToken(key: string, header: string, ttlMs: number): void {
    if (!(ttlMs > 0)) return;
    if (this.tokens.size >= MAX_TOKENS) this.tokens.clear();
    this.tokens.set(key, { header, expires: this.now() + ttlMs });
  }

  private cachedToken(key: string): string | undefined {
    const t = this.tokens.get(key);
    if (t === undefined) return undefined;
    if (t.expires > this.now()) return t.header;
    this.tokens.delete(key);
    return undefined;
  }
}

function basic(c: Credential): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}

/** `Bearer realm="https://auth/token",service="reg",scope="repository:a:pull"` -> its parameters. */
export function challengeParams(challenge: string): Record<string, string> {
  const out: Record<string, string> = {};
  // Bounded: a challenge longer than any real one is not read past its first 4 KiB.
  for (const m of challenge.slice(0, 4096).matchAll(/([A-Za-z_]+)="([^"]*)"/g))
    out[m[1].toLowerCase()] = m[2];
  return out;
}

/** The body, refused as soon as it passes `limit` bytes: a registry cannot make us buffer more. */
async function readBounded(
  res: Response,
  limit: number,
  what: string,
  signal: AbortSignal,
): Promise<Buffer> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > limit) {
    await discard(res);
    throw new LookupError('too_large', `${what} is ${declared} bytes, over the ${limit} allowed`);
  }
  if (res.body === null) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    let chunk: { done: boolean; value?: Uint8Array };
    try {
      chunk = (await reader.read()) as { done: boolean; value?: Uint8Array };
    } catch (err) {
      throw networkError(err, signal, what);
    }
    if (chunk.done || chunk.value === undefined) break;
    const value = chunk.value;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw new LookupError('too_large', `${what} is over the ${limit} bytes allowed`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}

/** Drops a body we do not read, so the connection can be reused or closed. */
async function discard(res: Response): Promise<void> {
  await res.body?.cancel().catch(() => undefined);
}

function networkError(err: unknown, signal: AbortSignal, host: string): LookupError {
  if (err instanceof LookupError) return err;
  if (signal.aborted) return new LookupError('timeout', `${host} did not answer in time`);
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  const detail =
    typeof cause?.code === 'string'
      ? cause.code
      : typeof cause?.message === 'string'
        ? cause.message
        : (err as Error).message;
  return new LookupError('unreachable', `cannot reach ${host}: ${detail}`);
}

/** `sha256:<hex>` of some bytes. */
export function sha256(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}
