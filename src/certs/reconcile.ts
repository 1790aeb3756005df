/**
 * One pass of the self-managed certificate bootstrap, written against small interfaces (the
 * Secret, the webhook configuration, the certificate directory) so that it runs in unit tests
 * against fakes, and against the API server through @kubernetes/client-node in self-managed.ts.
 *
 * Several replicas start at once and must end up serving one certificate. The Secret is the
 * single source of truth, and writes to it are conditional: `create` fails with AlreadyExists
 * and `update` (carrying the resourceVersion that was read) fails with Conflict when another
 * replica wrote first. The loser re-reads and takes the winner's certificate. Nothing is ever
 * written from a stale read, so no replica can overwrite a newer certificate with its own.
 *
 * Order matters for trust: the caBundle is patched *before* the certificate files are written,
 * so a replica never serves a certificate the API server cannot yet verify.
 */
import {
  Plan,
  RotationSettings,
  SecretText,
  SecretKeys,
  caBundleOf,
  decide,
  execute,
  isNoop,
} from './rotation';

export interface StoredSecret {
  data: SecretText;
  resourceVersion: string;
}

/** The Secret, by name (the RBAC allows no other). */
export interface SecretStore {
  /** undefined when it does not exist. */
  read(): Promise<StoredSecret | undefined>;
  /** false when it already exists (AlreadyExists): someone else created it first. */
  create(data: SecretText): Promise<boolean>;
  /** false on a resourceVersion conflict: someone else updated it first. */
  update(data: SecretText, resourceVersion: string): Promise<boolean>;
}

/** The caBundle of every webhook in the webhook configuration. */
export interface WebhookCaBundles {
  /** Each webhook's name and current caBundle (PEM text, '' when unset). */
  read(): Promise<{ name: string; caBundle: string }[]>;
  /** Sets the caBundle of the named webhooks (positions as returned by read, for a guarded patch). */
  write(changes: { index: number; name: string; caBundle: string }[]): Promise<void>;
}

/** The directory the TLS server watches. */
export interface CertificateFiles {
  /** Current tls.crt and tls.key, undefined when absent. */
  read(): Promise<{ cert?: string; key?: string }>;
  /** Replaces both, each atomically. */
  write(cert: string, key: string): Promise<void>;
}

export interface Logger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface ReconcileResult {
  /** The Secret data now in force. */
  data: SecretText;
  /** What this pass wrote to the Secret (undefined: nothing, the stored data was good or another replica's write won). */
  wrote?: Plan;
  /** Webhooks whose caBundle was patched. */
  patchedWebhooks: string[];
  /** Whether tls.crt/tls.key were (re)written. */
  wroteFiles: boolean;
}

/** A write lost to another replica this many times in a row means something is wrong. */
const MAX_ATTEMPTS = 5;

export interface ReconcileDeps {
  secret: SecretStore;
  webhooks: WebhookCaBundles;
  files: CertificateFiles;
  settings: RotationSettings;
  logger: Logger;
  now: () => Date;
}

/** Brings Secret, caBundle and files in line; throws on API or file errors (the caller retries). */
export async function reconcileOnce(d: ReconcileDeps): Promise<ReconcileResult> {
  const { data, wrote } = await settleSecret(d);
  const now = d.now();

  const bundle = caBundleOf(data, now);
  const webhooks = await d.webhooks.read();
  const changes = webhooks
    .map((w, index) => ({ index, name: w.name, caBundle: bundle, current: w.caBundle }))
    .filter((w) => w.current !== bundle)
    .map(({ index, name, caBundle }) => ({ index, name, caBundle }));
  if (changes.length > 0) {
    await d.webhooks.write(changes);
    d.logger.info(
      { webhooks: changes.map((c) => c.name) },
      'patched caBundle of the webhook configuration',
    );
  }

  const cert = data[SecretKeys.tlsCert];
  const key = data[SecretKeys.tlsKey];
  const onDisk = await d.files.read();
  const wroteFiles = onDisk.cert !== cert || onDisk.key !== key;
  if (wroteFiles) {
    await d.files.write(cert, key);
    d.logger.info({}, 'wrote the serving certificate for the TLS server');
  }
  return {
    data,
    ...(wrote ? { wrote } : {}),
    patchedWebhooks: changes.map((c) => c.name),
    wroteFiles,
  };
}

async function settleSecret(d: ReconcileDeps): Promise<{ data: SecretText; wrote?: Plan }> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const stored = await d.secret.read();
    const current = stored?.data ?? {};
    const now = d.now();
    const plan = decide(current, now, d.settings);
    if (isNoop(plan)) return { data: current };

    const next = await execute(plan, current, now, d.settings);
    const won = stored
      ? await d.secret.update(next, stored.resourceVersion)
      : await d.secret.create(next);
    if (won) {
      d.logger.info(
        { ca: plan.ca, renewServing: plan.renewServing, reasons: plan.reasons },
        'stored new certificates in the Secret',
      );
      return { data: next, wrote: plan };
    }
    d.logger.info({ attempt }, 'another replica wrote the certificate Secret first; using theirs');
  }
  throw new Error(
    `the certificate Secret kept changing under us (${MAX_ATTEMPTS} conflicting writes in a row)`,
  );
}

/**
 * How long to wait before the next pass: until the next thing falls due, but at least
 * `minMs` (a clock that lags must not spin) and at most `maxMs` (to pick up what other
 * replicas wrote, and to repair a caBundle someone reset).
 */
export function delayUntil(due: Date | undefined, now: Date, minMs: number, maxMs: number): number {
  if (!due) return maxMs;
  return Math.max(minMs, Math.min(maxMs, due.getTime() - now.getTime()));
}
