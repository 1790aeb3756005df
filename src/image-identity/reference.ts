/**
 * Image references as the kubelet and containerd read them (distribution/reference's grammar,
 * docker.io normalisation): `nginx` is `docker.io/library/nginx:latest`, `localhost:5000/app`
 * names a registry on a port, `app@sha256:...` a digest, which wins over a tag given with it.
 */

export interface ImageReference {
  /** The registry as the allowlist and the credentials name it, lowercase: `docker.io`, `localhost:5000`. */
  readonly registry: string;
  /** The repository path: `library/nginx`. */
  readonly repository: string;
  readonly tag?: string;
  /** `sha256:<64 hex>`; given, the reference never moves. */
  readonly digest?: string;
}

export const DOCKER_HUB = 'docker.io';
/** The host Docker Hub's distribution API answers on. */
const DOCKER_HUB_API = 'registry-1.docker.io';

// distribution/reference: path components, tag, digest.
const COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const SHA256 = /^sha256:[a-f0-9]{64}$/;
// A host name, an IPv4 address or a bracketed IPv6 address, and an optional port.
const HOST =
  /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?$/;

/** Longer than any reference a pod may carry; a longer string is refused before any parsing. */
const MAX_REFERENCE = 4096;
/** A DNS name is at most 253 characters; with a port, a little more. */
const MAX_HOST = 262;

/** The reference, or why it is not one (the text of a notice). */
export function parseImageReference(image: string): ImageReference | string {
  if (image.length === 0) return 'the image is empty';
  if (image.length > MAX_REFERENCE) return 'the image reference is too long';
  let rest = image;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!SHA256.test(digest)) return `"${digest}" is not a sha256 digest`;
  }
  let tag: string | undefined;
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > slash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return `"${tag}" is not a tag`;
  }
  let registry = DOCKER_HUB;
  let path = rest;
  const first = rest.indexOf('/');
  if (first >= 0) {
    const head = rest.slice(0, first);
    // The first component is a registry when it cannot be a path component: it has a dot or a
    // port, or is localhost, or has upper-case letters.
    if (
      head.includes('.') ||
      head.includes(':') ||
      head === 'localhost' ||
      head !== head.toLowerCase()
    ) {
      if (head.length > MAX_HOST || !HOST.test(head)) return `"${head}" is not a registry host`;
      registry = head.toLowerCase();
      path = rest.slice(first + 1);
    }
  }
  if (registry === 'index.docker.io') registry = DOCKER_HUB;
  const components = path.split('/');
  if (!components.every((c) => COMPONENT.test(c)))
    return `"${path}" is not a repository name (lowercase letters, digits, separators)`;
  if (registry === DOCKER_HUB && components.length === 1) components.unshift('library');
  const repository = components.join('/');
  if (digest !== undefined) return { registry, repository, digest };
  return { registry, repository, tag: tag ?? 'latest' };
}

/** Where the distribution API of a registry answers: Docker Hub's is not docker.io itself. */
export function apiHost(registry: string): string {
  return registry === DOCKER_HUB ? DOCKER_HUB_API : registry;
}

/** `docker.io/library/nginx:1.27`, `localhost:5000/app@sha256:...`: the key of caches and logs. */
export function referenceText(ref: ImageReference): string {
  const name = `${ref.registry}/${ref.repository}`;
  return ref.digest !== undefined ? `${name}@${ref.digest}` : `${name}:${ref.tag ?? 'latest'}`;
}

/** The host of a registry without its port, brackets of IPv6 removed. */
export function hostOf(registry: string): { host: string; port?: string } {
  const m = /^(\[[^\]]+\]|[^:]+)(?::([0-9]+))?$/.exec(registry);
  if (!m) return { host: registry };
  return m[2] === undefined ? { host: m[1] } : { host: m[1], port: m[2] };
}
