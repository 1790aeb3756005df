/**
 * Self-managed certificates: the webhook issues its own CA and serving certificate, keeps them
 * in a Secret shared by every replica, writes them for its TLS server, patches the caBundle of
 * its own MutatingWebhookConfiguration, and renews and rotates them before they expire.
 *
 * This module is the Kubernetes and file-system side only (@kubernetes/client-node, node:fs,
 * timers); the decisions are in rotation.ts and the pass itself in reconcile.ts, both tested
 * without an API server. @kubernetes/client-node 1.x is an ES module: Node >= 20.19 loads it
 * through require(), jest cannot, so no unit test imports this file.
 *
 * RBAC (manifests/overlays/self-managed/rbac.yaml): get/update on the one Secret, get/patch on
 * the one MutatingWebhookConfiguration. `create` on Secrets is only needed when the Secret does
 * not exist beforehand (local runs); the manifests ship it empty so the webhook needs no create.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as k8s from '@kubernetes/client-node';
import {
  CertificateFiles,
  Logger,
  SecretStore,
  WebhookCaBundles,
  delayUntil,
  reconcileOnce,
} from './reconcile';
import { RotationSettings, SecretText, nextDueTime, serviceDnsNames } from './rotation';

export interface SelfManagedOptions {
  namespace: string;
  serviceName: string;
  secretName: string;
  webhookConfigurationName: string;
  /** Where tls.crt and tls.key are written for the TLS server's file watcher. */
  directory: string;
  validityDays: number;
  renewBeforeDays: number;
  logger: Logger;
  /**
   * A kubeconfig file. Without it, client-node's default: $KUBECONFIG, else ~/.kube/config, else
   * the in-cluster service account (what a pod gets: neither file exists there).
   */
  kubeConfig?: string;
  /** Extra SANs beyond the Service's DNS names, e.g. 127.0.0.1 for a webhook registered by URL. */
  dnsNames?: string[];
  ipAddresses?: string[];
  /** Longest wait between passes (picks up other replicas' writes, repairs a reset caBundle). Default 1 h. */
  checkIntervalMs?: number;
  /** Aborts the first pass's retries (startup), e.g. on SIGTERM. */
  signal?: AbortSignal;
  /** The clock; tests pass their own. */
  now?: () => Date;
}

export interface SelfManagedCertificates {
  stop(): void;
}

const FIELD_MANAGER = 'pod-hardener';
const MIN_DELAY_MS = 60_000;
const RETRY_FIRST_MS = 1_000;
const RETRY_MAX_MS = 60_000;

/**
 * Resolves after the first successful pass: the Secret holds a certificate, the caBundle is
 * patched, and tls.crt/tls.key are in `directory`. Until then it retries with backoff, logging
 * each failure (API server unreachable, RBAC missing, webhook configuration not yet applied).
 * Later passes run on a timer until stop().
 */
export async function startSelfManagedCertificates(
  o: SelfManagedOptions,
): Promise<SelfManagedCertificates> {
  const kc = loadKubeConfig(o.kubeConfig);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const admission = kc.makeApiClient(k8s.AdmissionregistrationV1Api);

  const settings: RotationSettings = {
    dnsNames: [...new Set([...serviceDnsNames(o.serviceName, o.namespace), ...(o.dnsNames ?? [])])],
    ipAddresses: [...new Set(o.ipAddresses ?? [])],
    validityDays: o.validityDays,
    renewBeforeDays: o.renewBeforeDays,
    caCommonName: `${o.serviceName}.${o.namespace} pod-hardener CA`,
  };
  const now = o.now ?? (() => new Date());
  const checkIntervalMs = o.checkIntervalMs ?? 60 * 60 * 1000;
  // The floor keeps a certificate that is already due from renewing in a loop; a shorter check
  // interval the operator chose lowers it.
  const minDelayMs = Math.min(MIN_DELAY_MS, checkIntervalMs);
  const deps = {
    secret: secretStore(core, o.namespace, o.secretName),
    webhooks: webhookCaBundles(admission, o.webhookConfigurationName),
    files: certificateFiles(o.directory),
    settings,
    logger: o.logger,
    now,
  };
  const context = {
    namespace: o.namespace,
    secret: o.secretName,
    webhookConfiguration: o.webhookConfigurationName,
  };

  // First pass: retry until it succeeds; the server stays unready meanwhile.
  let result;
  for (let failures = 0; ; failures++) {
    try {
      result = await reconcileOnce(deps);
      break;
    } catch (err) {
      if (o.signal?.aborted) throw err;
      const delay = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** failures);
      o.logger.error(
        { ...context, error: describeError(err), retryInMs: delay },
        'self-managed certificates: bootstrap failed; retrying',
      );
      // Rejects with an AbortError when the signal fires (shutdown); the caller ignores it then.
      await sleep(delay, undefined, { signal: o.signal });
    }
  }
  o.logger.info(
    { ...context, dnsNames: settings.dnsNames, ipAddresses: settings.ipAddresses },
    'self-managed certificates ready',
  );

  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let failures = 0;
  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(() => void pass(), ms);
    timer.unref(); // never the reason the process stays up
  };
  const pass = async () => {
    try {
      const r = await reconcileOnce(deps);
      failures = 0;
      schedule(delayUntil(nextDueTime(r.data, settings), now(), minDelayMs, checkIntervalMs));
    } catch (err) {
      failures++;
      const delay = Math.min(
        checkIntervalMs,
        RETRY_FIRST_MS * 2 ** Math.min(failures, 16),
        RETRY_MAX_MS * 5,
      );
      o.logger.error(
        { ...context, error: describeError(err), retryInMs: delay },
        'self-managed certificates: check failed; the current certificate stays in use',
      );
      schedule(delay);
    }
  };
  schedule(delayUntil(nextDueTime(result.data, settings), now(), minDelayMs, checkIntervalMs));

  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}

const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * An explicit file; else $KUBECONFIG or ~/.kube/config (client-node's lookup); else the pod's
 * service account. With none of them client-node would silently fall back to
 * http://localhost:8080 and fail with a confusing message, so say what is missing instead.
 */
function loadKubeConfig(file: string | undefined): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  if (file) {
    kc.loadFromFile(file);
  } else if (process.env.KUBECONFIG || existsSync(join(homedir(), '.kube', 'config'))) {
    kc.loadFromDefault();
  } else if (existsSync(SERVICE_ACCOUNT_TOKEN)) {
    kc.loadFromCluster();
  } else {
    throw new Error(
      `no Kubernetes credentials for the self-managed certificates: no service-account token at ${SERVICE_ACCOUNT_TOKEN} ` +
        '(in a pod: automountServiceAccountToken must be true, as in manifests/overlays/self-managed), and no KUBECONFIG or ~/.kube/config',
    );
  }
  return kc;
}

function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown })?.code;
  return typeof code === 'number' ? code : undefined;
}

/** A short, log-friendly description; an ApiException's body carries the API server's message. */
function describeError(err: unknown): object {
  const status = statusOf(err);
  if (status !== undefined) {
    const body = (err as { body?: unknown }).body;
    let message: unknown = body;
    try {
      message =
        typeof body === 'string'
          ? ((JSON.parse(body) as { message?: string }).message ?? body)
          : body;
    } catch {
      // not JSON: keep the body as it is
    }
    return { status, message };
  }
  return { message: err instanceof Error ? err.message : String(err) };
}

const b64decode = (v: string) => Buffer.from(v, 'base64').toString('utf8');
const b64encode = (v: string) => Buffer.from(v, 'utf8').toString('base64');

function secretStore(core: k8s.CoreV1Api, namespace: string, name: string): SecretStore {
  // The object last read, so an update keeps its labels, annotations and type (`replace`
  // replaces the whole object, and kubectl's last-applied annotation must survive).
  let last: k8s.V1Secret | undefined;
  return {
    async read() {
      try {
        last = await core.readNamespacedSecret({ name, namespace });
      } catch (err) {
        if (statusOf(err) === 404) {
          last = undefined;
          return undefined;
        }
        throw err;
      }
      const data: SecretText = {};
      for (const [k, v] of Object.entries(last.data ?? {})) data[k] = b64decode(v);
      return { data, resourceVersion: last.metadata?.resourceVersion ?? '' };
    },
    async create(data) {
      try {
        await core.createNamespacedSecret({
          namespace,
          fieldManager: FIELD_MANAGER,
          body: {
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: {
              name,
              namespace,
              labels: {
                'app.kubernetes.io/name': 'pod-hardener',
                'app.kubernetes.io/component': 'certificates',
              },
            },
            type: 'Opaque',
            data: encode(data),
          },
        });
        return true;
      } catch (err) {
        if (statusOf(err) === 409) return false; // AlreadyExists: another replica created it
        throw err;
      }
    },
    async update(data, resourceVersion) {
      const base: k8s.V1Secret =
        last?.metadata?.resourceVersion === resourceVersion
          ? last
          : { metadata: { name, namespace } };
      try {
        await core.replaceNamespacedSecret({
          name,
          namespace,
          fieldManager: FIELD_MANAGER,
          body: {
            ...base,
            apiVersion: 'v1',
            kind: 'Secret',
            // The resourceVersion makes this a compare-and-swap: 409 if anyone wrote since.
            // managedFields left out: the server keeps its own bookkeeping when none is sent.
            metadata: {
              ...base.metadata,
              managedFields: undefined,
              name,
              namespace,
              resourceVersion,
            },
            data: encode(data),
          },
        });
        return true;
      } catch (err) {
        if (statusOf(err) === 409) return false; // Conflict: another replica updated it
        throw err;
      }
    },
  };
}

function encode(data: SecretText): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(data)) out[k] = b64encode(v);
  return out;
}

function webhookCaBundles(
  admission: k8s.AdmissionregistrationV1Api,
  name: string,
): WebhookCaBundles {
  return {
    async read() {
      const config = await admission.readMutatingWebhookConfiguration({ name });
      return (config.webhooks ?? []).map((w) => ({
        name: w.name,
        caBundle: w.clientConfig.caBundle ? b64decode(w.clientConfig.caBundle) : '',
      }));
    },
    async write(changes) {
      // A JSON patch with a `test` of each webhook's name: if the list was reordered since it was
      // read, the patch fails (and the next pass retries) instead of touching the wrong entry.
      const ops = changes.flatMap((c) => [
        { op: 'test', path: `/webhooks/${c.index}/name`, value: c.name },
        {
          op: 'add',
          path: `/webhooks/${c.index}/clientConfig/caBundle`,
          value: b64encode(c.caBundle),
        },
      ]);
      await admission.patchMutatingWebhookConfiguration(
        { name, body: ops, fieldManager: FIELD_MANAGER },
        k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
      );
    },
  };
}

function certificateFiles(directory: string): CertificateFiles {
  const certPath = join(directory, 'tls.crt');
  const keyPath = join(directory, 'tls.key');
  const readOptional = async (path: string) => {
    try {
      return await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  };
  /** Write a temporary file in the same directory, then rename: readers see old or new, never half. */
  const atomicWrite = async (path: string, content: string) => {
    const tmp = join(directory, `.${randomBytes(6).toString('hex')}.tmp`);
    try {
      await writeFile(tmp, content, { mode: 0o600 });
      await rename(tmp, path);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  };
  return {
    async read() {
      const [cert, key] = await Promise.all([readOptional(certPath), readOptional(keyPath)]);
      return { ...(cert !== undefined ? { cert } : {}), ...(key !== undefined ? { key } : {}) };
    },
    async write(cert, key) {
      await mkdir(directory, { recursive: true });
      // Key first: a watcher that fires between the two renames sees a new key with the old
      // certificate, which fails to load, and keeps the old pair until the certificate follows.
      await atomicWrite(keyPath, key);
      await atomicWrite(certPath, cert);
    },
  };
}
