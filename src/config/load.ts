/**
 * Loads the configuration once: command line, YAML file, environment; validates every layer,
 * merges them with explicit precedence (defaults < file < environment), checks the rules that
 * span several keys, and deep-freezes the result (cert-manager's "validate the merged
 * configuration once", fastify's frozen options).
 *
 * Nothing here touches `process`: argv, env and the file reader are parameters, so tests pass
 * their own (t3-env habit), and a config reload runs exactly the same code.
 */
import { parseArgs } from 'node:util';
import YAML from 'yaml';
import type { z } from 'zod';
import { MAX_USERNS_ID } from '../engine/policy';
import { deepFreeze } from './freeze';
import {
  DEFAULT_CONFIG,
  ENV_VARS,
  knownKeys,
  layerSchema,
  type Config,
  type ConfigLayer,
} from './schema';

export { ENV_VARS, policySettings } from './schema';

export interface LoadOptions {
  /** Command-line arguments after the script name (`process.argv.slice(2)`). */
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  /** Reads a whole file as UTF-8; throws when it cannot (fs.readFileSync shape). */
  readFile: (path: string) => string;
  /**
   * `offline`: the configuration is read for its policy only (the offline tool), so the checks
   * that depend on where the webhook runs (certificate source, files, own namespace, all set
   * by the Deployment's environment) are not made. Default `server`.
   */
  purpose?: 'server' | 'offline';
}

export interface LoadedConfig {
  readonly config: Config;
  /** The YAML file that was read, when there was one. */
  readonly file?: string;
  /**
   * The bytes of `file` this configuration was parsed from: the configuration watch starts from
   * them, so that an edit made after this read is never mistaken for what is in force.
   */
  readonly fileText?: string;
  /** Things worth a log line that do not stop the start (e.g. an ignored service-link variable). */
  readonly warnings: readonly string[];
}

/** Thrown by loadConfig with every problem found, each prefixed by where it came from. */
export class ConfigError extends Error {
  constructor(readonly errors: readonly string[]) {
    super(`invalid configuration:\n${errors.map((e) => `  - ${e}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

export const CONFIG_ENV = 'POD_HARDENER_CONFIG';
export const NAMESPACE_ENV = 'POD_HARDENER_NAMESPACE';

/**
 * The kubelet injects Docker-link variables for every Service of the pod's namespace unless
 * `enableServiceLinks: false`: a Service named `pod-hardener` yields
 * `POD_HARDENER_PORT=tcp://10.96.0.12:443`, and one named `pod-hardener-metrics` yields
 * `POD_HARDENER_METRICS_PORT=tcp://...`. Those are not ours; they are ignored with a warning
 * rather than crash-looping the webhook on a value nobody wrote.
 */
const SERVICE_LINK = /^(tcp|udp|sctp):\/\/\S+:\d+$/;
/** The other variables the kubelet injects for a Service (`<NAME>_SERVICE_HOST`, `<NAME>_PORT_443_TCP_ADDR`, ...). */
const SERVICE_LINK_NAME =
  /_SERVICE_(HOST|PORT)(_\w+)?$|_PORT_\d+_(TCP|UDP|SCTP)(_(PROTO|PORT|ADDR))?$/;

const ENV_PREFIX = 'POD_HARDENER_';
/** Every variable pod-hardener reads; any other POD_HARDENER_* is a start-up warning. */
const KNOWN_ENV = new Set([CONFIG_ENV, NAMESPACE_ENV, ...ENV_VARS.map((v) => v.name)]);

export function loadConfig(options: LoadOptions): LoadedConfig {
  const errors: string[] = [];
  const warnings: string[] = [];

  const file = configFilePath(options, errors);
  let fileLayer: ConfigLayer = {};
  let fileText: string | undefined;
  if (file !== undefined) {
    try {
      fileText = options.readFile(file);
      fileLayer = parseFileLayer(file, fileText, errors);
    } catch (err) {
      errors.push(`config ${file}: cannot read it: ${(err as Error).message}`);
    }
  }
  const envLayer = readEnvLayer(options.env, errors, warnings);
  if (errors.length > 0) throw new ConfigError(errors);

  const merged = structuredClone<Config>(DEFAULT_CONFIG);
  merge(merge(merged, fileLayer), envLayer);

  // The webhook's own namespace (downward API) is only a default: a namespace written in the
  // file wins, unlike the other variables.
  const ownNamespace = nonEmpty(options.env[NAMESPACE_ENV]);
  if (merged.certificates.selfManaged.namespace === undefined && ownNamespace !== undefined) {
    merged.certificates.selfManaged.namespace = ownNamespace;
  }
  const sourceGiven = envLayer.certificates?.source ?? fileLayer.certificates?.source;
  crossChecks(merged, sourceGiven !== undefined, options.purpose === 'offline', errors);
  if (errors.length > 0) throw new ConfigError(errors);

  return deepFreeze({
    config: merged,
    ...(file !== undefined ? { file, fileText } : {}),
    warnings,
  });
}

const USAGE = 'usage: pod-hardener [--config FILE]';

function configFilePath(options: LoadOptions, errors: string[]): string | undefined {
  let file: string | undefined;
  try {
    const { values } = parseArgs({
      args: [...options.argv],
      options: { config: { type: 'string' } },
      strict: true,
      allowPositionals: false,
    });
    file = values.config;
  } catch (err) {
    errors.push(`arguments: ${(err as Error).message.split('\n')[0]} (${USAGE})`);
    return undefined;
  }
  if (file !== undefined && file.trim() === '') {
    errors.push('argument --config: expected a file path');
    return undefined;
  }
  // The command line wins over the environment.
  return file ?? nonEmpty(options.env[CONFIG_ENV]);
}

function parseFileLayer(file: string, text: string, errors: string[]): ConfigLayer {
  const where = `config ${file}`;
  const doc = YAML.parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    for (const e of doc.errors) {
      const pos = e.linePos?.[0];
      const at = pos ? `line ${pos.line}, column ${pos.col}: ` : '';
      errors.push(
        `${where}: ${at}${e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '')}`,
      );
    }
    return {};
  }
  // An empty file (or an empty ConfigMap key) means "all defaults".
  const raw: unknown = doc.toJS({ maxAliasCount: 100 }) ?? {};
  return validateLayer(raw, errors, (path) => `${where}: ${path === '' ? '' : `${path}: `}`);
}

function readEnvLayer(env: LoadOptions['env'], errors: string[], warnings: string[]): ConfigLayer {
  warnings.push(...unknownVariables(env));
  const raw: Record<string, unknown> = {};
  const byPath = new Map<string, string>();
  for (const v of ENV_VARS) {
    const value = nonEmpty(env[v.name]);
    if (value === undefined) continue;
    if (v.number && SERVICE_LINK.test(value)) {
      warnings.push(
        `env ${v.name}=${value} ignored: it looks like a Kubernetes service-link variable (a Service named ` +
          `${v.name.slice(0, -'_PORT'.length).toLowerCase().replace(/_/g, '-')}); set enableServiceLinks: false in the pod spec`,
      );
      continue;
    }
    let parsed: unknown = value;
    if (v.number) {
      if (!/^[0-9]+$/.test(value)) {
        errors.push(`env ${v.name}: expected a whole number, got ${JSON.stringify(value)}`);
        continue;
      }
      parsed = Number(value);
    }
    let at = raw;
    for (const key of v.path.slice(0, -1)) at = (at[key] ??= {}) as Record<string, unknown>;
    at[v.path[v.path.length - 1]] = parsed;
    byPath.set(v.path.join('.'), v.name);
  }
  return validateLayer(raw, errors, (path) => `env ${byPath.get(path) ?? path}: `);
}

/**
 * POD_HARDENER_* variables that pod-hardener does not read, each with the closest one it does:
 * `POD_HARDENER_RUN_AS_USR=5` is a warning naming POD_HARDENER_RUN_AS_USER, never silence. Not an
 * error: the Deployment's environment may carry variables for another version of the webhook.
 */
function unknownVariables(env: LoadOptions['env']): string[] {
  const out: string[] = [];
  for (const name of Object.keys(env).sort()) {
    if (!name.startsWith(ENV_PREFIX) || KNOWN_ENV.has(name) || SERVICE_LINK_NAME.test(name))
      continue;
    if (name.endsWith('_PORT') && SERVICE_LINK.test(env[name] ?? '')) continue;
    const hint = closest(name, [...KNOWN_ENV]);
    out.push(
      `env ${name} ignored: pod-hardener reads no such variable${hint !== undefined ? ` (did you mean ${hint}?)` : ''}`,
    );
  }
  return out;
}

function validateLayer(
  raw: unknown,
  errors: string[],
  prefix: (path: string) => string,
): ConfigLayer {
  const result = layerSchema.safeParse(raw);
  if (result.success) return result.data;
  for (const issue of result.error.issues) errors.push(...describe(issue, prefix));
  return {};
}

function describe(issue: z.core.$ZodIssue, prefix: (path: string) => string): string[] {
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeys(issue.path);
    return issue.keys.map((key) => {
      const path = formatPath([...issue.path, key]);
      const hint = closest(key, known);
      const help =
        hint !== undefined
          ? `did you mean ${hint}?`
          : known.length > 0
            ? `known keys: ${known.join(', ')}`
            : '';
      return `${prefix(path)}unknown key${help ? ` (${help})` : ''}`;
    });
  }
  const path = formatPath(issue.path);
  return [`${prefix(path)}${issue.message}`];
}

/** `exceptions.exemptContainers[0].image` */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

function closest(key: string, known: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of known) {
    const d = candidate.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key, candidate);
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  return bestDistance <= Math.max(2, Math.floor(key.length / 4)) ? best : undefined;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}

/** The certificate source against the files and namespace it needs (the Deployment's environment). */
function certificateSourceChecks(
  c: Config,
  sourceGiven: boolean,
  err: (path: string, message: string) => void,
): void {
  const certs = c.certificates;
  const hasCert = certs.certFile !== undefined;
  const hasKey = certs.keyFile !== undefined;
  if (!sourceGiven) certs.source = hasCert || hasKey ? 'files' : 'development';

  if (certs.source === 'files') {
    if (!hasCert)
      err(
        'certificates.certFile',
        'required when certificates.source is "files" (or set POD_HARDENER_TLS_CERT_FILE)',
      );
    if (!hasKey)
      err(
        'certificates.keyFile',
        'required when certificates.source is "files" (or set POD_HARDENER_TLS_KEY_FILE)',
      );
  } else {
    const why =
      certs.source === 'development'
        ? 'the development source generates its own certificate'
        : 'the self-managed source writes tls.crt and tls.key into certificates.directory';
    if (hasCert)
      err(
        'certificates.certFile',
        `set, but certificates.source is "${certs.source}": ${why}; remove one of them`,
      );
    if (hasKey)
      err(
        'certificates.keyFile',
        `set, but certificates.source is "${certs.source}": ${why}; remove one of them`,
      );
  }
  if (certs.source === 'self-managed' && certs.selfManaged.namespace === undefined) {
    err(
      'certificates.selfManaged.namespace',
      `required when certificates.source is "self-managed" (set ${NAMESPACE_ENV} from the downward API)`,
    );
  }
}

/** Rules that span several keys, checked on the merged result so the source of a value does not matter. */
function crossChecks(c: Config, sourceGiven: boolean, offline: boolean, errors: string[]): void {
  const err = (path: string, message: string) => errors.push(`config: ${path}: ${message}`);
  const certs = c.certificates;
  if (!offline) certificateSourceChecks(c, sourceGiven, err);
  const sm = certs.selfManaged;
  if (sm.renewBeforeDays >= sm.validityDays) {
    err(
      'certificates.selfManaged.renewBeforeDays',
      `must be less than validityDays (${sm.validityDays}), got ${sm.renewBeforeDays}`,
    );
  }

  const identity = c.imageIdentity;
  if (identity.enabled && identity.registries.length === 0)
    err(
      'imageIdentity.registries',
      'required when imageIdentity.enabled is true: the registries the webhook may contact',
    );
  if (identity.lookupTimeoutMs < identity.budgetMs)
    err(
      'imageIdentity.lookupTimeoutMs',
      `must be at least budgetMs (${identity.budgetMs}), got ${identity.lookupTimeoutMs}`,
    );

  // A user namespace maps 65536 IDs by default (the kubelet's userNamespaces.idsPerPod): a
  // process given a UID or GID beyond them cannot start.
  const h = c.hardening;
  if (h.userNamespaces === 'on') {
    for (const key of ['runAsUser', 'runAsGroup'] as const) {
      if (h[key] > MAX_USERNS_ID)
        err(
          `hardening.${key}`,
          `must be at most ${MAX_USERNS_ID} with userNamespaces "on" (the IDs a user namespace maps), got ${h[key]}`,
        );
    }
  }

  const s = c.server;
  if (s.port === s.metricsPort)
    err('server.metricsPort', `must differ from server.port (both ${s.port})`);
  if (s.headersTimeoutSeconds > s.requestTimeoutSeconds) {
    err(
      'server.headersTimeoutSeconds',
      `must be <= requestTimeoutSeconds (${s.requestTimeoutSeconds}), got ${s.headersTimeoutSeconds}`,
    );
  }
  if (s.shutdownDelaySeconds >= s.shutdownGraceSeconds) {
    err(
      'server.shutdownDelaySeconds',
      `must be less than shutdownGraceSeconds (${s.shutdownGraceSeconds}), got ${s.shutdownDelaySeconds}`,
    );
  }
}

/** Objects merge key by key; lists and scalars replace; `undefined` leaves the value below. */
function merge(base: Record<string, unknown>, layer: object): Record<string, unknown> {
  for (const [key, value] of Object.entries(layer)) {
    if (value === undefined) continue;
    const below = base[key];
    if (isPlainObject(value) && isPlainObject(below)) merge(below, value);
    else base[key] = structuredClone(value);
  }
  return base;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Empty variables count as unset (an optional ConfigMap reference gives ""). */
function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
