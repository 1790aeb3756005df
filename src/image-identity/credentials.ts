import { DOCKER_HUB } from './reference';

/**
 * Registry credentials from a Secret of type kubernetes.io/dockerconfigjson, mounted as a file:
 * `{"auths": {"<registry>": {"auth": base64("user:password")}}}` (or `username` and `password`,
 * as `kubectl create secret docker-registry` also writes). Keys are registries as the Docker CLI
 * writes them: a host (`ghcr.io`), a host and port, or a URL (`https://index.docker.io/v1/`,
 * Docker Hub's historical key).
 */
export interface Credential {
  readonly username: string;
  readonly password: string;
}

export type Credentials = ReadonlyMap<string, Credential>;

/** The `.dockerconfigjson` text's credentials by registry (as image references name it), or why not. */
export function parseDockerConfig(text: string): Credentials | string {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return `not JSON: ${(err as Error).message}`;
  }
  const auths = (doc as { auths?: unknown } | null)?.auths;
  if (typeof auths !== 'object' || auths === null || Array.isArray(auths))
    return 'no "auths" mapping (expected the .dockerconfigjson format)';
  const out = new Map<string, Credential>();
  for (const [key, value] of Object.entries(auths as Record<string, unknown>)) {
    const credential = credentialOf(value);
    if (credential !== undefined) out.set(registryOfKey(key), credential);
  }
  return out;
}

function credentialOf(value: unknown): Credential | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.username === 'string' && typeof v.password === 'string' && v.username !== '')
    return { username: v.username, password: v.password };
  if (typeof v.auth === 'string' && v.auth !== '') {
    const decoded = Buffer.from(v.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  return undefined;
}

/** `https://index.docker.io/v1/` -> `docker.io`; `https://ghcr.io` -> `ghcr.io`. */
function registryOfKey(key: string): string {
  let host = key
    .trim()
    .toLowerCase()
    .replace(/^[a-z]+:\/\//, '');
  const slash = host.indexOf('/');
  if (slash >= 0) host = host.slice(0, slash);
  if (host === 'index.docker.io' || host === 'registry-1.docker.io') return DOCKER_HUB;
  return host;
}
