/**
 * The pure parts of image identity: references as the kubelet reads them, the allowlist's host
 * matching, what a config's User means, the credentials file, the bounded cache.
 */
import { BoundedCache } from '../../../src/image-identity/cache';
import { imageUserOf } from '../../../src/image-identity/config-user';
import { parseDockerConfig } from '../../../src/image-identity/credentials';
import { HostMatcher } from '../../../src/image-identity/hosts';
import { apiHost, parseImageReference } from '../../../src/image-identity/reference';
import { challengeParams } from '../../../src/image-identity/registry';

const D = `sha256:${'a'.repeat(64)}`;

describe('parseImageReference', () => {
  test.each([
    ['nginx', { registry: 'docker.io', repository: 'library/nginx', tag: 'latest' }],
    ['nginx:1.27', { registry: 'docker.io', repository: 'library/nginx', tag: '1.27' }],
    ['argoproj/argocd:v3', { registry: 'docker.io', repository: 'argoproj/argocd', tag: 'v3' }],
    [
      'docker.io/library/nginx',
      { registry: 'docker.io', repository: 'library/nginx', tag: 'latest' },
    ],
    [
      'index.docker.io/nginx',
      { registry: 'docker.io', repository: 'library/nginx', tag: 'latest' },
    ],
    [
      'quay.io/argoproj/argocd:v3',
      { registry: 'quay.io', repository: 'argoproj/argocd', tag: 'v3' },
    ],
    ['localhost:5000/app', { registry: 'localhost:5000', repository: 'app', tag: 'latest' }],
    ['localhost/app:1', { registry: 'localhost', repository: 'app', tag: '1' }],
    ['127.0.0.1:5000/a/b:2', { registry: '127.0.0.1:5000', repository: 'a/b', tag: '2' }],
    ['[::1]:5000/app:1', { registry: '[::1]:5000', repository: 'app', tag: '1' }],
    [
      'Registry.Example.com/app',
      { registry: 'registry.example.com', repository: 'app', tag: 'latest' },
    ],
    [`nginx@${D}`, { registry: 'docker.io', repository: 'library/nginx', digest: D }],
    [`ghcr.io/a/b:1.0@${D}`, { registry: 'ghcr.io', repository: 'a/b', digest: D }],
  ])('%s', (image, expected) => {
    expect(parseImageReference(image)).toEqual(expected);
  });

  test.each([
    ['', /empty/],
    ['app/UPPER', /not a repository name/],
    ['nginx@sha256:short', /not a sha256 digest/],
    ['nginx@md5:abc', /not a sha256 digest/],
    ['nginx:bad tag', /not a tag/],
    ['a//b', /not a repository name/],
    [`${'a'.repeat(5000)}`, /too long/],
    [`${'a.'.repeat(2000)}x/app`, /not a registry host/],
  ])('%j is refused with a reason', (image, why) => {
    expect(parseImageReference(image)).toMatch(why);
  });

  test('hostile input costs linear time', () => {
    const started = process.hrtime.bigint();
    for (let i = 0; i < 200; i++) {
      parseImageReference(`${'a-'.repeat(1500)}!/x`);
      parseImageReference(`x/${'a_'.repeat(2000)}!`);
    }
    expect(Number(process.hrtime.bigint() - started) / 1e6).toBeLessThan(2000);
  });

  test("Docker Hub's API answers on registry-1.docker.io", () => {
    expect(apiHost('docker.io')).toBe('registry-1.docker.io');
    expect(apiHost('ghcr.io')).toBe('ghcr.io');
  });
});

describe('HostMatcher', () => {
  const m = new HostMatcher([
    'ghcr.io',
    'localhost:5000',
    '*.example.com',
    'docker.io',
    'quay.io:443',
  ]);
  test.each([
    ['ghcr.io', true],
    ['GHCR.io', true],
    ['ghcr.io:443', true],
    ['ghcr.io:5000', false],
    ['evil.ghcr.io', false],
    ['ghcr.io.evil.com', false],
    ['localhost:5000', true],
    ['localhost', false],
    ['localhost:5001', false],
    ['registry.example.com', true],
    ['a.b.example.com', true],
    ['example.com', false],
    ['badexample.com', false],
    ['registry.example.com:5000', false],
    ['docker.io', true],
    ['registry-1.docker.io', true],
    ['auth.docker.io', false],
    ['quay.io', true],
  ])('%s -> %s', (host, expected) => {
    expect(m.matches(host)).toBe(expected);
  });
  test('plain HTTP: port 80 is the default one', () => {
    expect(new HostMatcher(['insecure.local']).matches('insecure.local:80', '80')).toBe(true);
    expect(new HostMatcher(['insecure.local']).matches('insecure.local:80')).toBe(false);
  });
});

describe('imageUserOf (config.User)', () => {
  test.each([
    ['999', { found: true, uid: 999 }],
    ['101:101', { found: true, uid: 101, gid: 101 }],
    ['101:0', { found: true, uid: 101 }],
    ['101:app', { found: true, uid: 101 }],
    ['2147483647', { found: true, uid: 2147483647 }],
  ])('%j', (user, expected) => expect(imageUserOf(user)).toEqual(expected));
  test.each([
    ['', /sets no USER/],
    [undefined, /sets no USER/],
    ['0', /is root/],
    ['0:0', /is root/],
    ['root', /is root/],
    ['root:staff', /is root/],
    ['nginx', /not a numeric UID/],
    ['app:app', /not a numeric UID/],
    ['2147483648', /not a numeric UID/],
    ['-1', /not a numeric UID/],
    [42, /not a string/],
  ])('%j: none, because %s', (user, why) => {
    const result = imageUserOf(user);
    expect(result.found).toBe(false);
    expect(!result.found && result.reason).toMatch(why);
  });
});

describe('parseDockerConfig', () => {
  test('the auth form, the username/password form, and Docker Hub by its historical key', () => {
    const creds = parseDockerConfig(
      JSON.stringify({
        auths: {
          'ghcr.io': { auth: Buffer.from('me:p:ss').toString('base64') },
          'https://index.docker.io/v1/': { username: 'hub', password: 'x' },
          'https://Registry.Example.com:5000/v2/': { username: 'r', password: 'y' },
          'broken.io': { auth: 'not base64 with no colon' },
        },
      }),
    );
    expect(creds).toEqual(
      new Map([
        ['ghcr.io', { username: 'me', password: 'p:ss' }],
        ['docker.io', { username: 'hub', password: 'x' }],
        ['registry.example.com:5000', { username: 'r', password: 'y' }],
      ]),
    );
  });
  test.each([['{'], ['[]'], ['{"auths": 3}']])('%j is refused with a reason', (text) => {
    expect(typeof parseDockerConfig(text)).toBe('string');
  });
});

test('challengeParams reads a Bearer challenge', () => {
  expect(
    challengeParams(
      'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"',
    ),
  ).toEqual({
    realm: 'https://auth.docker.io/token',
    service: 'registry.docker.io',
    scope: 'repository:library/nginx:pull',
  });
});

describe('BoundedCache', () => {
  test('evicts the least recently used entry past its bound', () => {
    const c = new BoundedCache<number>(2);
    c.set('a', 1);
    c.set('b', 2);
    expect(c.get('a')).toBe(1); // a is now the most recent
    c.set('c', 3);
    expect([c.get('a'), c.get('b'), c.get('c'), c.size]).toEqual([1, undefined, 3, 2]);
  });
  test('an entry with a ttl expires; one without does not', () => {
    let now = 0;
    const c = new BoundedCache<string>(10, () => now);
    c.set('tag', 'd1', 1000);
    c.set('digest', 'u');
    now = 999;
    expect(c.get('tag')).toBe('d1');
    now = 1000;
    expect(c.get('tag')).toBeUndefined();
    now = 1e12;
    expect(c.get('digest')).toBe('u');
  });
});
