import { X509Certificate } from 'node:crypto';
import {
  CertificateFiles,
  ReconcileDeps,
  SecretStore,
  WebhookCaBundles,
  delayUntil,
  reconcileOnce,
} from '../../../src/certs/reconcile';
import {
  RotationSettings,
  SecretKeys,
  SecretText,
  serviceDnsNames,
} from '../../../src/certs/rotation';

const settings: RotationSettings = {
  dnsNames: serviceDnsNames('pod-hardener', 'pod-hardener'),
  ipAddresses: ['127.0.0.1'],
  validityDays: 90,
  renewBeforeDays: 30,
  caCommonName: 'test CA',
};

const tick = () => new Promise((r) => setImmediate(r));

/** An API server's view of one Secret: create fails if it exists, update needs the current resourceVersion. */
class FakeSecret {
  data?: SecretText;
  rv = 0;
  writes = 0;
  constructor(initial?: SecretText) {
    if (initial) {
      this.data = initial;
      this.rv = 1;
    }
  }
  store(log: string[] = []): SecretStore {
    return {
      read: async () => {
        await tick();
        log.push('secret.read');
        return this.data ? { data: { ...this.data }, resourceVersion: String(this.rv) } : undefined;
      },
      create: async (data) => {
        await tick();
        log.push('secret.create');
        if (this.data) return false;
        this.data = { ...data };
        this.rv++;
        this.writes++;
        return true;
      },
      update: async (data, resourceVersion) => {
        await tick();
        log.push('secret.update');
        if (!this.data) throw new Error('404');
        if (resourceVersion !== String(this.rv)) return false;
        this.data = { ...data };
        this.rv++;
        this.writes++;
        return true;
      },
    };
  }
}

class FakeWebhooks {
  bundles = new Map<string, string>([
    ['enforce.pod-hardener.io', ''],
    ['audit.pod-hardener.io', ''],
  ]);
  patches = 0;
  api(log: string[] = []): WebhookCaBundles {
    return {
      read: async () => [...this.bundles].map(([name, caBundle]) => ({ name, caBundle })),
      write: async (changes) => {
        log.push('webhooks.write');
        this.patches++;
        const names = [...this.bundles.keys()];
        for (const c of changes) {
          expect(names[c.index]).toBe(c.name);
          this.bundles.set(c.name, c.caBundle);
        }
      },
    };
  }
}

class FakeFiles implements CertificateFiles {
  cert?: string;
  key?: string;
  writes = 0;
  constructor(private log: string[] = []) {}
  async read() {
    return { ...(this.cert ? { cert: this.cert } : {}), ...(this.key ? { key: this.key } : {}) };
  }
  async write(cert: string, key: string) {
    this.log.push('files.write');
    this.cert = cert;
    this.key = key;
    this.writes++;
  }
}

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

function deps(
  secret: FakeSecret,
  webhooks: FakeWebhooks,
  files: FakeFiles,
  log: string[] = [],
  now = () => new Date(),
): ReconcileDeps {
  return {
    secret: secret.store(log),
    webhooks: webhooks.api(log),
    files,
    settings,
    logger: quiet,
    now,
  };
}

describe('reconcileOnce', () => {
  it('bootstraps: stores certificates, patches every caBundle, then writes the files', async () => {
    const log: string[] = [];
    const secret = new FakeSecret();
    const webhooks = new FakeWebhooks();
    const files = new FakeFiles(log);
    const r = await reconcileOnce(deps(secret, webhooks, files, log));

    expect(r.wrote?.ca).toBe('create');
    expect(r.patchedWebhooks).toEqual(['enforce.pod-hardener.io', 'audit.pod-hardener.io']);
    expect(r.wroteFiles).toBe(true);
    expect(files.cert).toBe(secret.data![SecretKeys.tlsCert]);
    expect(files.key).toBe(secret.data![SecretKeys.tlsKey]);
    for (const bundle of webhooks.bundles.values())
      expect(bundle).toBe(secret.data![SecretKeys.caBundle]);
    // Trust before use: the caBundle is patched before the TLS server gets the certificate.
    expect(log.indexOf('webhooks.write')).toBeLessThan(log.indexOf('files.write'));
    expect(new X509Certificate(files.cert!).checkIP('127.0.0.1')).toBe('127.0.0.1');
  });

  it('does nothing the second time: no Secret write, no patch, no file write', async () => {
    const secret = new FakeSecret();
    const webhooks = new FakeWebhooks();
    const files = new FakeFiles();
    await reconcileOnce(deps(secret, webhooks, files));
    const r = await reconcileOnce(deps(secret, webhooks, files));
    expect(r).toMatchObject({ patchedWebhooks: [], wroteFiles: false });
    expect(r.wrote).toBeUndefined();
    expect([secret.writes, webhooks.patches, files.writes]).toEqual([1, 1, 1]);
  });

  it('repairs a caBundle someone reset, patching only that webhook', async () => {
    const secret = new FakeSecret();
    const webhooks = new FakeWebhooks();
    const files = new FakeFiles();
    await reconcileOnce(deps(secret, webhooks, files));
    webhooks.bundles.set('audit.pod-hardener.io', '');
    const r = await reconcileOnce(deps(secret, webhooks, files));
    expect(r.patchedWebhooks).toEqual(['audit.pod-hardener.io']);
    expect(secret.writes).toBe(1);
  });

  it.each([
    ['the Secret does not exist (create races)', undefined],
    ['the Secret was shipped empty (update races)', {}],
  ])('two replicas starting at once end with one certificate: %s', async (_, initial) => {
    const secret = new FakeSecret(initial);
    const webhooks = new FakeWebhooks();
    const a = new FakeFiles();
    const b = new FakeFiles();
    const [ra, rb] = await Promise.all([
      reconcileOnce(deps(secret, webhooks, a)),
      reconcileOnce(deps(secret, webhooks, b)),
    ]);
    expect(secret.writes).toBe(1);
    expect([ra.wrote, rb.wrote].filter(Boolean)).toHaveLength(1);
    expect(a.cert).toBe(secret.data![SecretKeys.tlsCert]);
    expect(b.cert).toBe(a.cert);
    expect(b.key).toBe(a.key);
  });

  it('adopts a certificate another replica renewed, without writing the Secret', async () => {
    const secret = new FakeSecret();
    const webhooks = new FakeWebhooks();
    const a = new FakeFiles();
    const b = new FakeFiles();
    const t0 = Date.now();
    await reconcileOnce(deps(secret, webhooks, a));
    await reconcileOnce(deps(secret, webhooks, b));
    // 61 days later replica a renews; replica b then only picks the new files up.
    const later = () => new Date(t0 + 61 * 86_400_000);
    const ra = await reconcileOnce(deps(secret, webhooks, a, [], later));
    expect(ra.wrote).toMatchObject({ ca: 'keep', renewServing: true });
    const rb = await reconcileOnce(deps(secret, webhooks, b, [], later));
    expect(rb.wrote).toBeUndefined();
    expect(rb.wroteFiles).toBe(true);
    expect(b.cert).toBe(a.cert);
    expect(secret.writes).toBe(2);
  });

  it('gives up after repeated conflicts instead of looping forever', async () => {
    const secret = new FakeSecret({});
    const store = secret.store();
    const flappy: SecretStore = { ...store, update: async () => false };
    const d = { ...deps(secret, new FakeWebhooks(), new FakeFiles()), secret: flappy };
    await expect(reconcileOnce(d)).rejects.toThrow(/kept changing/);
  });
});

describe('delayUntil', () => {
  const now = new Date('2030-01-01T00:00:00Z');
  it('waits until the due time, within bounds', () => {
    expect(delayUntil(new Date(now.getTime() + 5000), now, 1000, 60_000)).toBe(5000);
    expect(delayUntil(new Date(now.getTime() - 5000), now, 1000, 60_000)).toBe(1000);
    expect(delayUntil(new Date(now.getTime() + 1e9), now, 1000, 60_000)).toBe(60_000);
    expect(delayUntil(undefined, now, 1000, 60_000)).toBe(60_000);
  });
});
