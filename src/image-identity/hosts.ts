import { DOCKER_HUB, hostOf } from './reference';

/**
 * The operator's list of registries the webhook may contact, and how a host is matched against
 * it. A pod names any image it likes; without the list, a pod could make the webhook call any
 * host its network reaches (an internal service, a cloud metadata address), so a registry that
 * is not on it is never contacted, and neither is a token realm or a redirect target off it.
 *
 * An entry is a host with an optional port, compared case-insensitively and exactly: `ghcr.io`
 * matches `ghcr.io` and `ghcr.io:443` but not `ghcr.io:5000` or `evil.ghcr.io`; `localhost:5000`
 * matches only that port. `*.example.com` matches every subdomain of example.com (not
 * example.com itself), on the port given (or the default one). `docker.io` also covers
 * `registry-1.docker.io`, the host Docker Hub's API answers on; its token service
 * (`auth.docker.io`) and blob storage are other hosts and must be listed too.
 */
export class HostMatcher {
  private readonly exact = new Set<string>();
  private readonly suffixes: { suffix: string; port: string }[] = [];

  constructor(entries: readonly string[]) {
    for (const raw of entries) {
      const entry = raw.toLowerCase();
      const { host, port: given } = hostOf(entry);
      const port = given === '443' ? undefined : given;
      if (host.startsWith('*.')) this.suffixes.push({ suffix: host.slice(1), port: port ?? '' });
      else {
        this.exact.add(port === undefined ? host : `${host}:${port}`);
        if (host === DOCKER_HUB && port === undefined) this.exact.add('registry-1.docker.io');
      }
    }
  }

  /**
   * Whether a host (`ghcr.io`, `localhost:5000`, `[::1]:5000`) is on the list. `defaultPort` is
   * the port the scheme implies (443, or 80 for plain HTTP): a host written with it is the same
   * host as written without.
   */
  matches(hostWithPort: string, defaultPort = '443'): boolean {
    const { host: rawHost, port: rawPort } = hostOf(hostWithPort.toLowerCase());
    const host = rawHost;
    const port = rawPort === defaultPort ? undefined : rawPort;
    if (this.exact.has(port === undefined ? host : `${host}:${port}`)) return true;
    return this.suffixes.some(
      (s) => host.endsWith(s.suffix) && host.length > s.suffix.length && s.port === (port ?? ''),
    );
  }
}
