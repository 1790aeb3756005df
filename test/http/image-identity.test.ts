/**
 * Image identity through the real server and real registries on 127.0.0.1 (test/support/
 * fake-registry.ts): the image's numeric USER is kept; every way a lookup can fail gives the
 * defaults with a warning, within the budget, never a failed admission; a registry off the
 * allowlist is never contacted; a digest, once read, is answered from the cache.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pod } from '../support/pods';
import { podReview } from '../support/reviews';
import { FakeRegistry } from '../support/fake-registry';
import {
  closedPort,
  metricValue,
  post,
  scrape,
  startTestServer,
  tempDir,
  type TestServer,
} from '../support/http';
import { applyStrict, decodePatch } from '../support/strict-patch';
import { eventually } from '../support/eventually';

jest.setTimeout(60000);

// Generous for a loaded machine: the first lookups of the run (token flow included) must
// finish within it for the cases that keep the image's user.
const BUDGET_MS = 1000;
// What the machine may add to the budget: TLS, the review itself, a loaded CI runner.
const MARGIN_MS = 1000;

describe('image identity', () => {
  let server: TestServer;
  let bearer: FakeRegistry; // token auth, good credentials
  let basic: FakeRegistry; // Basic auth, good credentials
  let open: FakeRegistry; // anonymous
  let badCredentials: FakeRegistry; // token auth, the configured password is wrong
  let slow: FakeRegistry;
  let offList: FakeRegistry; // running, but not on the allowlist
  let unreachable: string;

  beforeAll(async () => {
    [bearer, basic, open, badCredentials, slow, offList] = await Promise.all([
      FakeRegistry.start('bearer'),
      FakeRegistry.start('basic'),
      FakeRegistry.start('none'),
      FakeRegistry.start('bearer'),
      FakeRegistry.start('none'),
      FakeRegistry.start('none'),
    ]);
    unreachable = `127.0.0.1:${await closedPort()}`;
    const dir = tempDir('ph-identity-');
    const credentialsFile = join(dir, '.dockerconfigjson');
    const auths = {
      ...JSON.parse(bearer.dockerConfig()).auths,
      ...JSON.parse(basic.dockerConfig()).auths,
      ...JSON.parse(badCredentials.dockerConfig('not-the-password')).auths,
    };
    writeFileSync(credentialsFile, JSON.stringify({ auths }));
    const allowed = [bearer, basic, open, badCredentials, slow].map((r) => r.host);
    allowed.push(unreachable);
    server = await startTestServer({
      yaml: JSON.stringify({
        imageIdentity: {
          enabled: true,
          registries: allowed,
          insecureRegistries: [...allowed, offList.host],
          credentialsFile,
          budgetMs: BUDGET_MS,
          lookupTimeoutMs: 5000,
        },
      }),
    });
  });
  afterAll(async () => {
    await server?.shutdown('test done');
    await Promise.all([bearer, basic, open, badCredentials, slow, offList].map((r) => r?.close()));
  });

  /** One pod with one container of `image` and nothing set, reviewed; its hardened form and the time taken. */
  async function review(image: string) {
    const object = pod({ containers: [{ name: 'app', image }] });
    const started = Date.now();
    const reply = await post(server, '/mutate', podReview(object, { namespace: 'team' }));
    const ms = Date.now() - started;
    expect(reply.status).toBe(200);
    expect(reply.json.response.allowed).toBe(true);
    const hardened = applyStrict(object, decodePatch(reply.json.response));
    const warnings: string[] = reply.json.response.warnings ?? [];
    return { hardened, warnings, ms };
  }

  /** The defaults, and a warning that says why the image's user was not used. */
  function expectDefaults(r: Awaited<ReturnType<typeof review>>, why: RegExp) {
    expect(r.hardened.spec.securityContext.runAsUser).toBe(1000);
    expect(r.hardened.spec.securityContext.runAsGroup).toBe(3000);
    expect(r.hardened.spec.containers[0].securityContext.runAsUser).toBeUndefined();
    const warning = r.warnings.find((w) => w.includes('image USER not used'));
    expect(warning).toMatch(why);
    expect(warning).toContain('runAsUser 1000 applies');
    expect(r.ms).toBeLessThan(BUDGET_MS + MARGIN_MS);
  }

  test('a numeric USER is kept (token auth with the configured credentials)', async () => {
    const { reference } = bearer.push('argoproj/argocd', 'v3', { user: '999' });
    const r = await review(reference);
    expect(r.hardened.spec.containers[0].securityContext.runAsUser).toBe(999);
    expect(r.hardened.spec.securityContext.runAsUser).toBeUndefined();
    expect(r.warnings).toContain(
      'pod-hardener: container "app": runAsUser unset -> 999 (image USER)',
    );
    expect(r.ms).toBeLessThan(BUDGET_MS + MARGIN_MS);
    // The token came from the realm with the credentials, and was used on the API.
    expect(bearer.requests.some((q) => q.path === '/token')).toBe(true);
    expect(bearer.apiRequests().at(-1)?.authorization).toMatch(/^Bearer /);
  });

  test('USER uid:gid behind Basic auth gives the user and the group', async () => {
    const { reference } = basic.push('web', '1', { user: '101:101', docker: true });
    const r = await review(reference);
    expect(r.hardened.spec.containers[0].securityContext).toMatchObject({
      runAsUser: 101,
      runAsGroup: 101,
    });
  });

  test('an index: the linux/amd64 manifest is the one read', async () => {
    const { reference } = open.push('multi', '1', { user: '999', index: { arm64User: '5' } });
    const r = await review(reference);
    expect(r.hardened.spec.containers[0].securityContext.runAsUser).toBe(999);
  });

  test.each([
    ['a user name', { user: 'nginx' }, /USER "nginx" is not a numeric UID/],
    ['a user and group name', { user: 'app:app' }, /USER "app:app" is not a numeric UID/],
    ['root by number', { user: '0' }, /USER "0" is root/],
    ['root by name', { user: 'root' }, /USER "root" is root/],
    ['no USER', {}, /sets no USER, so it runs as root/],
  ])('%s: the defaults, with a notice', async (_what, options, why) => {
    const { reference } = open.push('named', `t${Math.random().toString(36).slice(2)}`, options);
    expectDefaults(await review(reference), why);
  });

  test('unreachable registry: the defaults with a warning', async () => {
    expectDefaults(await review(`${unreachable}/app:1`), /cannot reach 127\.0\.0\.1:\d+/);
  });

  test('a registry off the allowlist is never contacted', async () => {
    const { reference } = offList.push('app', '1', { user: '999' });
    expectDefaults(await review(reference), /not in imageIdentity\.registries; not looked up/);
    expect(offList.requests).toEqual([]);
    expect(
      metricValue(await scrape(server), 'pod_hardener_image_identity_lookups_total', {
        outcome: 'failed',
        reason: 'not_allowed',
      }),
    ).toBe(1);
  });

  test('slow registry: the budget holds; the lookup goes on and serves the next pod', async () => {
    const { reference } = slow.push('app', '1', { user: '999' });
    slow.delayMs = BUDGET_MS * 1.5;
    const first = await review(reference);
    expectDefaults(first, new RegExp(`did not answer within ${BUDGET_MS} ms`));
    expect(first.ms).toBeGreaterThanOrEqual(BUDGET_MS - 50);
    expect(
      metricValue(await scrape(server), 'pod_hardener_image_identity_lookups_total', {
        outcome: 'miss',
        reason: '',
      }),
    ).toBe(1);
    await eventually(
      async () =>
        metricValue(
          await scrape(server),
          'pod_hardener_image_identity_fetch_duration_seconds_count',
          {
            result: 'ok',
          },
        ) >= 1 && slow.apiRequests().length >= 2,
      { what: 'the background lookup to finish', timeoutMs: 20000, everyMs: 25 },
    );
    await eventually(
      async () => {
        const r = await review(reference);
        return r.hardened.spec.containers[0].securityContext?.runAsUser === 999;
      },
      { what: 'the cached answer', timeoutMs: 20000, everyMs: 25 },
    );
    slow.delayMs = 0;
  });

  test('bad credentials: the defaults with a warning', async () => {
    const { reference } = badCredentials.push('private', '1', { user: '999' });
    expectDefaults(await review(reference), /refused the configured credentials/);
  });

  test('a malformed image config: the defaults with a warning', async () => {
    const { reference } = open.push('broken', '1', {
      rawConfig: Buffer.from('{"config": {"User": '),
    });
    expectDefaults(await review(reference), /the image config is not JSON/);
  });

  test('an oversized config is not read past the limit', async () => {
    const { reference } = open.push('huge', '1', {
      user: '999',
      oversizedConfig: 64 * 1024 * 1024,
    });
    expectDefaults(await review(reference), /over the 4194304 bytes allowed/);
  });

  test('a redirect is followed to an allowed host only, without the credentials', async () => {
    // `slow` (allowed) stands for a blob storage host; `offList` for one that is not allowed.
    slow.delayMs = 0;
    try {
      // From a registry that needs credentials: the storage host must not get them.
      basic.redirectBlobsTo = `http://${slow.host}`;
      slow.push('cdn', '1', { user: '999' });
      const { reference } = basic.push('cdn', '1', { user: '999' });
      const followed = await review(reference);
      expect(followed.hardened.spec.containers[0].securityContext.runAsUser).toBe(999);
      const atStorage = slow.requests.filter((q) => q.path.startsWith('/v2/cdn/blobs/'));
      expect(atStorage).toHaveLength(1);
      expect(atStorage[0].authorization).toBeUndefined();
      expect(basic.requests.some((q) => q.authorization?.startsWith('Basic '))).toBe(true);

      open.redirectBlobsTo = `http://${offList.host}`;
      offList.push('cdn2', '1', { user: '999' });
      const { reference: second } = open.push('cdn2', '1', { user: '999' });
      expectDefaults(await review(second), /is not an allowed registry host/);
      expect(offList.requests).toEqual([]);
    } finally {
      basic.redirectBlobsTo = undefined;
      open.redirectBlobsTo = undefined;
    }
  });

  test('a digest reference is read once, then answered from the cache', async () => {
    const { digest } = open.push('pinned', '1', { user: '999' });
    const reference = `${open.host}/pinned@${digest}`;
    const before = open.apiRequests().length;
    const first = await review(reference);
    expect(first.hardened.spec.containers[0].securityContext.runAsUser).toBe(999);
    const made = open.apiRequests().length;
    expect(made).toBeGreaterThan(before);
    const hits = metricValue(await scrape(server), 'pod_hardener_image_identity_lookups_total', {
      outcome: 'hit',
      reason: '',
    });
    const second = await review(reference);
    expect(second.hardened.spec.containers[0].securityContext.runAsUser).toBe(999);
    expect(open.apiRequests().length).toBe(made);
    expect(
      metricValue(await scrape(server), 'pod_hardener_image_identity_lookups_total', {
        outcome: 'hit',
        reason: '',
      }),
    ).toBe(hits + 1);
  });

  test('a container with its own non-root user and group makes no lookup', async () => {
    const { reference } = open.push('own', '1', { user: '999' });
    const before = open.requests.length;
    const object = pod({
      containers: [
        { name: 'app', image: reference, securityContext: { runAsUser: 5000, runAsGroup: 5000 } },
      ],
    });
    const reply = await post(server, '/mutate', podReview(object, { namespace: 'team' }));
    expect(reply.status).toBe(200);
    expect(open.requests.length).toBe(before);
  });
});

describe('pod-hardener harden --image-identity', () => {
  test('the same resolver: a Deployment whose image says USER 999 keeps it', async () => {
    const { hardenCommand } = await import('../../src/cli/manifests/command');
    const registry = await FakeRegistry.start('bearer');
    try {
      const { reference } = registry.push('argocd', 'v3', { user: '999' });
      const dir = tempDir('ph-identity-cli-');
      writeFileSync(join(dir, 'auth.json'), registry.dockerConfig());
      const config = join(dir, 'config.yaml');
      writeFileSync(
        config,
        JSON.stringify({
          imageIdentity: {
            registries: [registry.host],
            insecureRegistries: [registry.host],
            credentialsFile: join(dir, 'auth.json'),
          },
        }),
      );
      const manifest = [
        'apiVersion: apps/v1',
        'kind: Deployment',
        'metadata: {name: argocd-server}',
        'spec:',
        '  selector: {matchLabels: {app: a}}',
        '  template:',
        '    metadata: {labels: {app: a}}',
        '    spec:',
        '      containers:',
        `        - {name: server, image: "${reference}"}`,
        '',
      ].join('\n');
      const run = async (flags: string[]) => {
        let stdout = '';
        let stderr = '';
        const code = await hardenCommand.run(['-f', '-', '--config', config, ...flags], {
          stdout: (t) => void (stdout += t),
          stderr: (t) => void (stderr += t),
          readStdin: () => Promise.resolve(manifest),
          env: {},
          readFile: (p) => readFileSync(p, 'utf8'),
          writeFile: () => undefined,
          stderrIsTTY: false,
          now: () => Date.now(),
        });
        return { code, stdout, stderr };
      };
      const withIdentity = await run(['--image-identity']);
      // No lookup failed; the one note is the group, which the image's USER does not name.
      expect(withIdentity.stderr).toBe(
        [
          `pod-hardener: -:1: Deployment default/argocd-server: container "server": may stop working: no runAsGroup: UID 999 runs in its image's group today (0 where the image has none for it); hardened, in GID 3000: what only that group may write is not writable`,
          `pod-hardener: -:1: Deployment default/argocd-server: container "server": fix: runAsGroup: the image's group if not 0 (kept); an emptyDir where it writes`,
          '',
        ].join('\n'),
      );
      expect(withIdentity.stdout).toMatch(/name: server[\s\S]*runAsUser: 999/);
      // Without the flag, no request and the default user.
      const before = registry.requests.length;
      const without = await run([]);
      expect(without.stdout).not.toContain('999');
      expect(without.stdout).toContain('runAsUser: 1000');
      expect(registry.requests.length).toBe(before);
    } finally {
      await registry.close();
    }
  });
});

describe('pod-hardener scan --image-identity', () => {
  test('a running pod whose image says USER 999 would run as 999', async () => {
    const { scanCommand } = await import('../../src/cli/scan/command');
    const { FakeKubeApi } = await import('../support/fake-kube-api');
    const { storedPod } = await import('../support/stored-pods');
    const registry = await FakeRegistry.start('none');
    try {
      const { reference } = registry.push('argocd', 'v3', { user: '999' });
      const dir = tempDir('ph-identity-scan-');
      const config = join(dir, 'config.yaml');
      writeFileSync(
        config,
        JSON.stringify({
          imageIdentity: { registries: [registry.host], insecureRegistries: [registry.host] },
        }),
      );
      const api = new FakeKubeApi([{ name: 'shop', labels: {} }]).set(
        '/api/v1/namespaces/shop/pods',
        [storedPod('argocd', { containers: [{ name: 'server', image: reference }] })],
      );
      let stdout = '';
      const scan = scanCommand(() => ({
        api,
        context: 'test',
        server: 'https://127.0.0.1:6443',
        namespace: 'shop',
      }));
      const code = await scan.run(
        ['-n', 'shop', '--config', config, '--image-identity', '-o', 'json'],
        {
          stdout: (t) => void (stdout += t),
          stderr: () => undefined,
          readStdin: () => Promise.resolve(''),
          env: {},
          readFile: (p) => readFileSync(p, 'utf8'),
          writeFile: () => undefined,
          stderrIsTTY: false,
          now: () => Date.now(),
        },
      );
      expect(code).toBe(1); // something would change (the rest of the hardening)
      expect(stdout).toContain('runAsUser unset -> 999 (image USER)');
      expect(registry.apiRequests().length).toBeGreaterThan(0);
    } finally {
      await registry.close();
    }
  });
});
