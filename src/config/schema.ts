/**
 * The configuration of the webhook, defined once: this zod schema gives every key its
 * validation, its default, its environment variable (where it has one) and, through z.infer,
 * its type. The defaults, the env table (load.ts) and the file layer are derived from it; the
 * engine's policy view (PolicySettings) is the engine's own type, held to this schema by a
 * type-level check (PolicyInStep). So adding a key is one line here (and, for a hardening or
 * exceptions key, one in engine/policy.ts): e.g.
 *
 *   unprivilegedPorts: oneOf(['auto', 'never']).default('auto'),
 *
 * in `hardening` is at once a file key, a default, a type and a field of every compiled policy.
 *
 * Every key of the YAML file is listed here, and a key that is not listed is an error: a typo
 * (`runAsUsr`) must never be silently ignored, or an operator would believe a setting is in
 * force when the default is.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import type { PolicySettings } from '../engine/policy';
import { deepFreeze } from './freeze';

export const CERT_SOURCES = ['development', 'files', 'self-managed'] as const;
export type CertSource = (typeof CERT_SOURCES)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

const show = (v: unknown): string => {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return typeof v;
};

/** An integer in [min, max]; the message names the range and what was given. */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  const expected =
    max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
  const message = (input: unknown) => `expected ${expected}, got ${show(input)}`;
  return z
    .number({ error: (iss) => message(iss.input) })
    .refine((v) => Number.isInteger(v) && v >= min && v <= max, {
      error: (iss) => message(iss.input),
    });
}

const bool = () => z.boolean({ error: (iss) => `expected true or false, got ${show(iss.input)}` });

const text = (what = 'a non-empty string') =>
  z
    .string({ error: (iss) => `expected ${what}, got ${show(iss.input)}` })
    .refine((s) => s.trim().length > 0 && s === s.trim(), {
      error: `expected ${what} without surrounding spaces`,
    });

const list = <T extends z.ZodType>(item: T) =>
  z.array(item, { error: (iss) => `expected a list, got ${show(iss.input)}` });

const oneOf = <T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, {
    error: (iss) => `expected one of ${values.join(', ')}, got ${show(iss.input)}`,
  });

// A capability as users write it (`NET_BIND_SERVICE`, `cap_chown`), or `*` for any.
const capability = z
  .string({ error: (iss) => `expected a capability name, got ${show(iss.input)}` })
  .regex(/^(\*|[A-Za-z][A-Za-z0-9_]*)$/, {
    error: (iss) =>
      `expected a capability name such as NET_BIND_SERVICE, or "*", got ${show(iss.input)}`,
  });

// Kubernetes namespace names are DNS labels; patterns may use `*`.
const namespacePattern = z
  .string({ error: (iss) => `expected a namespace name or pattern, got ${show(iss.input)}` })
  .regex(/^[a-z0-9*]([-a-z0-9*]*[a-z0-9*])?$/, {
    error: (iss) =>
      `expected a namespace name or pattern (lowercase letters, digits, "-", "*"), got ${show(iss.input)}`,
  });

const exemptContainer = z
  .strictObject(
    {
      name: text('a container name or pattern').optional(),
      image: text('an image or pattern').optional(),
    },
    {
      error: (iss) => `expected a mapping with name and/or image, got ${show(iss.input)}`,
    },
  )
  // An empty rule would exempt every container of every pod.
  .refine((r) => r.name !== undefined || r.image !== undefined, {
    error: 'give name, image or both: an empty rule would exempt every container',
  });

// For the serving certificate's SANs (a webhook reached by `url` rather than a Service).
const dnsName = z
  .string({ error: (iss) => `expected a DNS name, got ${show(iss.input)}` })
  .regex(/^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, {
    error: (iss) => `expected a DNS name (lowercase), got ${show(iss.input)}`,
  });
const ipAddress = z
  .string({ error: (iss) => `expected an IP address, got ${show(iss.input)}` })
  .refine((s) => isIP(s) !== 0, {
    error: (iss) => `expected an IP address, got ${show(iss.input)}`,
  });

const address = text('an IP address or host name').refine(
  (s) => isIP(s) !== 0 || /^[A-Za-z0-9]([-.A-Za-z0-9]*[A-Za-z0-9])?$/.test(s),
  {
    error: (iss) => `expected an IP address (0.0.0.0, ::) or host name, got ${show(iss.input)}`,
  },
);

// A registry as image references name it (`ghcr.io`, `localhost:5000`, `[::1]:5000`), or
// `*.example.com` for every subdomain; hosts/matching rules: src/image-identity/hosts.ts.
const registryHost = z
  .string({ error: (iss) => `expected a registry host, got ${show(iss.input)}` })
  .regex(
    /^((\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*|\[[0-9a-f:.]+\])(:[0-9]{1,5})?$/,
    {
      error: (iss) =>
        `expected a registry host such as ghcr.io, localhost:5000 or *.example.com (lowercase, no scheme or path), got ${show(iss.input)}`,
    },
  );

const platform = z
  .string({ error: (iss) => `expected a platform, got ${show(iss.input)}` })
  .regex(/^[a-z0-9]+\/[a-z0-9_]+(\/[a-z0-9]+)?$/, {
    error: (iss) =>
      `expected a platform os/architecture[/variant] such as linux/amd64, got ${show(iss.input)}`,
  });

/** A mapping of settings; absent, every setting in it takes its default. */
const section = <T extends z.ZodRawShape>(shape: T) =>
  z
    .strictObject(shape, { error: (iss) => `expected a mapping, got ${show(iss.input)}` })
    .prefault({} as never);

/** The environment variable that sets a key, registered on the key's own schema. */
const envVars = z.registry<{ env: string }>();
const env = <T extends z.ZodType>(schema: T, name: string): T => {
  envVars.add(schema, { env: name });
  return schema;
};

// UID/GID 0 is root: a "hardened" value of 0 would defeat the product.
const MAX_ID = 2147483647;

/**
 * The whole configuration. The `hardening` and `exceptions` defaults are pod-hardener's secure
 * defaults, each with its reason; test/unit/config/defaults.test.ts pins them: changing one is a
 * product decision, not a refactor.
 */
export const configSchema = z.strictObject(
  {
    hardening: section({
      // A plain user: 1000 is the first UID most distributions give a human user; it owns
      // nothing on the host.
      runAsUser: env(integer(1, MAX_ID), 'POD_HARDENER_RUN_AS_USER').default(1000),
      // A group distinct from the user and from common system groups (0-999).
      runAsGroup: env(integer(1, MAX_ID), 'POD_HARDENER_RUN_AS_GROUP').default(3000),
      // Makes the kubelet refuse to start a container that would still run as UID 0. Safe to
      // force because the engine also sets a numeric runAsUser: images whose USER is a name
      // (`nginx`) would otherwise fail to start, since the kubelet cannot verify a name.
      runAsNonRoot: bool().default(true),
      // Without it, a process moved off root can no longer write the volumes it owned (PVC
      // permission denied); OnRootMismatch keeps large volumes from being chowned on every start.
      fsGroup: bool().default(true),
      // The container runtime's default seccomp profile blocks ~50 rarely used, dangerous
      // syscalls and is what Pod Security "restricted" requires.
      seccompProfile: bool().default(true),
      // A process moved off root can no longer bind port 80, and a capability kept in
      // capabilities.add does not help it: Kubernetes has no ambient capabilities, so a non-root
      // process gets none in its effective set. The pod sysctl
      // net.ipv4.ip_unprivileged_port_start=0 does (a "safe" sysctl since Kubernetes 1.22,
      // allowed by Pod Security restricted, scoped to the pod's own network namespace), so it is
      // added where a hardened container needs it.
      unprivilegedPorts: env(oneOf(['auto', 'never']), 'POD_HARDENER_UNPRIVILEGED_PORTS').default(
        'auto',
      ),
      // User namespaces need every node's runtime to support them (containerd >= 2.0 or CRI-O >=
      // 1.25, runc >= 1.2 or crun >= 1.9, Linux >= 6.3); a node without that refuses the pod.
      // Only the operator knows the nodes.
      userNamespaces: env(oneOf(['off', 'on']), 'POD_HARDENER_USER_NAMESPACES').default('off'),
      // `strict` sets supplementalGroupsPolicy: Strict, so the kubelet stops adding the groups an
      // image's /etc/group gives the run UID (group 0 among them) without the pod saying so. Off
      // by default: a kubelet whose runtime does not report support (containerd < 2.0; see the
      // node's status.features.supplementalGroupsPolicy, which `pod-hardener scan` shows) refuses
      // every pod that sets it.
      supplementalGroupsPolicy: env(
        oneOf(['off', 'strict']),
        'POD_HARDENER_SUPPLEMENTAL_GROUPS_POLICY',
      ).default('off'),
    }),
    exceptions: section({
      // The most an annotation may keep in capabilities.add: the capabilities a container
      // runtime grants by default anyway (containerd/Docker), so an annotation can never give a
      // container more than an unhardened default container had. NET_ADMIN, SYS_ADMIN,
      // SYS_PTRACE and the like need the operator to raise the ceiling.
      capabilityCeiling: list(capability).default([
        'AUDIT_WRITE',
        'CHOWN',
        'DAC_OVERRIDE',
        'FOWNER',
        'FSETID',
        'KILL',
        'MKNOD',
        'NET_BIND_SERVICE',
        'NET_RAW',
        'SETFCAP',
        'SETGID',
        'SETPCAP',
        'SETUID',
        'SYS_CHROOT',
      ]),
      // The namespaces where the skip annotations (pod-hardener.io/skip, skip-containers) are
      // honoured: none by default, so that a pod author cannot escape hardening with one
      // annotation until an operator allows it for that namespace. Kept in this configuration
      // rather than in a namespace label: whoever may label a namespace (often its own tenants)
      // is not necessarily whom the operator trusts with exceptions, and the webhook reads no
      // namespace object on the admission path. `["*"]` restores the earlier default (every namespace).
      skipNamespaces: list(namespacePattern).default([]),
      // No container is exempt by default: an exemption by name alone could be claimed by any
      // pod. Service-mesh init containers are exempted by name *and* image in the configuration.
      exemptContainers: list(exemptContainer).default([]),
    }),
    // Where the server's numbers come from:
    // - 7 MiB: etcd's default request limit is 1.5 MiB per object but the API server accepts up
    //   to 3 MiB objects and wraps them in an AdmissionReview with oldObject; controller-runtime
    //   (pkg/webhook/admission/http.go) settled on 7 MiB, and so do we.
    // - keep-alive 120 s: the API server keeps idle connections to webhooks up to 90 s; a server
    //   that closes first can close a connection just as a request is sent on it, and that
    //   request is not retried (Go's net/http transport does not retry a POST).
    // - headers 10 s: stops slowloris clients that trickle header bytes to hold sockets; on
    //   Node >= 18 it runs only from the first byte of a request, so it does not cut idle
    //   keep-alive connections (test/http/timeouts.test.ts), and Node requires it to be <=
    //   requestTimeout.
    // - request 30 s: the longest timeoutSeconds a webhook configuration may have.
    // - shutdown 5 s delay / 20 s grace: endpoints take a few seconds to drop a terminating pod;
    //   the kubelet's default terminationGracePeriodSeconds is 30.
    server: section({
      address: env(address, 'POD_HARDENER_ADDRESS').default('0.0.0.0'),
      port: env(integer(1, 65535), 'POD_HARDENER_PORT').default(8443),
      metricsPort: env(integer(1, 65535), 'POD_HARDENER_METRICS_PORT').default(8080),
      maxInFlight: integer(1, 100000).default(512),
      maxBodyBytes: integer(1024, 64 * 1024 * 1024).default(7 * 1024 * 1024),
      requestTimeoutSeconds: integer(1, 600).default(30),
      headersTimeoutSeconds: integer(1, 600).default(10),
      keepAliveTimeoutSeconds: integer(91, 3600).default(120),
      shutdownDelaySeconds: integer(0, 600).default(5),
      shutdownGraceSeconds: integer(1, 3600).default(20),
    }),
    certificates: section({
      // When not given, load.ts chooses: `files` when certFile/keyFile are given, else
      // `development`.
      source: env(oneOf(CERT_SOURCES), 'POD_HARDENER_CERT_SOURCE').default('development'),
      certFile: env(text('a file path'), 'POD_HARDENER_TLS_CERT_FILE').optional(),
      keyFile: env(text('a file path'), 'POD_HARDENER_TLS_KEY_FILE').optional(),
      directory: text('a directory path').default('/var/run/pod-hardener/tls'),
      selfManaged: section({
        // Defaults to the webhook's own namespace (POD_HARDENER_NAMESPACE, load.ts).
        namespace: text('a namespace name').optional(),
        serviceName: text('a Service name').default('pod-hardener'),
        // The names and lifetime the shipped manifests and chart use (their RBAC allows exactly
        // this Secret), so a configuration that leaves them out still matches the install.
        secretName: text('a Secret name').default('pod-hardener-certs'),
        webhookConfigurationName: text('a MutatingWebhookConfiguration name').default(
          'pod-hardener',
        ),
        validityDays: integer(1, 3650).default(90),
        renewBeforeDays: integer(1, 3650).default(30),
        // How often each replica re-reads the Secret when nothing falls due sooner: how soon it
        // serves a certificate another replica (or an operator) wrote there, and repairs a reset
        // caBundle. Hourly costs nothing; a few seconds is for clusters that rotate on demand.
        checkIntervalSeconds: integer(5, 86400).default(3600),
        // Names and addresses the serving certificate covers besides the Service's DNS names
        // (a webhook reached by `url` rather than a Service).
        extraDnsNames: list(dnsName).default([]),
        extraIpAddresses: list(ipAddress).default([]),
      }),
    }),
    log: section({ level: env(oneOf(LOG_LEVELS), 'POD_HARDENER_LOG_LEVEL').default('info') }),
    // Image identity (docs/image-identity.md): the image's own numeric USER instead of the
    // policy's UID and GID. Off by default: it makes the webhook contact registries, and only
    // the operator knows which ones it may reach. The numbers:
    // - budget 200 ms per review: the API server waits timeoutSeconds (a few seconds) for the
    //   whole answer; a registry that is slower than that costs the pod its image's user, never
    //   its admission. Lookups go on after the budget (up to lookupTimeoutMs) and fill the cache.
    // - tags re-read after 60 s: a tag may move; a digest never does, so it is cached until evicted.
    imageIdentity: section({
      enabled: bool().default(false),
      registries: list(registryHost).default([]),
      insecureRegistries: list(registryHost).default([]),
      credentialsFile: env(
        text('a file path'),
        'POD_HARDENER_IMAGE_IDENTITY_CREDENTIALS_FILE',
      ).optional(),
      budgetMs: env(integer(1, 10000), 'POD_HARDENER_IMAGE_IDENTITY_BUDGET_MS').default(200),
      lookupTimeoutMs: integer(100, 60000).default(5000),
      platform: env(platform, 'POD_HARDENER_IMAGE_IDENTITY_PLATFORM').default('linux/amd64'),
      cacheEntries: integer(1, 1000000).default(10000),
      tagTtlSeconds: integer(0, 86400).default(60),
    }),
  },
  { error: (iss) => `expected a mapping at the top level, got ${show(iss.input)}` },
);

export type Config = z.output<typeof configSchema>;
export type ExemptContainer = Config['exceptions']['exemptContainers'][number];

export type { PolicySettings } from '../engine/policy';

/** What the operator decides about pods (`hardening` and `exceptions`), as this schema gives it. */
type SchemaPolicy = Config['hardening'] & Config['exceptions'];

/**
 * Compiles only while the schema's policy view is what the engine takes: the same keys, each of a
 * type the engine accepts. A setting added here and not to the engine's PolicySettings (or the
 * reverse), or a type that drifts, fails the build on this line.
 */
export type PolicyInStep = Assert<
  [keyof SchemaPolicy] extends [keyof PolicySettings]
    ? [keyof PolicySettings] extends [keyof SchemaPolicy]
      ? SchemaPolicy extends PolicySettings
        ? true
        : false
      : false
    : false
>;
type Assert<T extends true> = T;

/** The policy view of a configuration: its `hardening` and `exceptions` keys, side by side. */
export function policySettings(config: Config): PolicySettings {
  return { ...config.hardening, ...config.exceptions };
}

/** Every key at its default, frozen. */
export const DEFAULT_CONFIG: Config = deepFreeze(configSchema.parse({}));

/** The secure defaults of the policy (UID 1000, GID 3000, ...), frozen. */
export const DEFAULT_POLICY: PolicySettings = deepFreeze(policySettings(DEFAULT_CONFIG));

type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { [K in keyof T]?: DeepPartial<T[K]> }
    : T;

/** One layer of configuration (the file, or the environment): every key optional, no defaults. */
export type ConfigLayer = DeepPartial<Config>;

/** The schema of one layer: the same keys and checks, every key optional, no default filled in. */
export const layerSchema = layerOf(configSchema) as z.ZodType<ConfigLayer>;

function layerOf(schema: z.ZodType): z.ZodType {
  const inner =
    schema instanceof z.ZodDefault || schema instanceof z.ZodPrefault
      ? (schema.unwrap() as z.ZodType)
      : schema;
  if (!(inner instanceof z.ZodObject)) return inner;
  const shape = Object.fromEntries(
    Object.entries(inner.shape as Record<string, z.ZodType>).map(([key, value]) => [
      key,
      optional(layerOf(value)),
    ]),
  );
  return inner.clone({ ...inner._zod.def, shape });
}

function optional(schema: z.ZodType): z.ZodType {
  return schema instanceof z.ZodOptional ? schema : schema.optional();
}

export interface EnvVar {
  name: string;
  /** The key it sets, `['server', 'port']`. */
  path: readonly string[];
  /** The key is a number: the variable's text is parsed as a whole number first. */
  number: boolean;
}

/** The environment variables that set a key, each with the key it sets, read off the schema. */
export const ENV_VARS: readonly EnvVar[] = Object.freeze(envVarsOf(configSchema, []));

function envVarsOf(schema: z.ZodType, path: readonly string[]): EnvVar[] {
  let inner = schema;
  while (
    inner instanceof z.ZodDefault ||
    inner instanceof z.ZodPrefault ||
    inner instanceof z.ZodOptional
  )
    inner = inner.unwrap() as z.ZodType;
  if (inner instanceof z.ZodObject) {
    return Object.entries(inner.shape as Record<string, z.ZodType>).flatMap(([key, value]) =>
      envVarsOf(value, [...path, key]),
    );
  }
  const name = envVars.get(inner)?.env;
  return name === undefined ? [] : [{ name, path, number: inner instanceof z.ZodNumber }];
}

/** The known keys below each path, for "did you mean" hints on unknown keys. */
export function knownKeys(path: readonly PropertyKey[]): string[] {
  let schema: z.ZodType = configSchema;
  for (const key of path) {
    const inner = unwrap(schema);
    if (inner instanceof z.ZodArray && typeof key === 'number') {
      schema = inner.element as z.ZodType;
      continue;
    }
    if (!(inner instanceof z.ZodObject)) return [];
    const next = (inner.shape as Record<string, z.ZodType>)[String(key)];
    if (next === undefined) return [];
    schema = next;
  }
  const inner = unwrap(schema);
  return inner instanceof z.ZodObject ? Object.keys(inner.shape) : [];
}

function unwrap(schema: z.ZodType): z.ZodType {
  let s: z.ZodType = schema;
  for (;;) {
    if (s instanceof z.ZodOptional || s instanceof z.ZodDefault || s instanceof z.ZodPrefault)
      s = s.unwrap() as z.ZodType;
    else if (s instanceof z.ZodPipe) s = s.in as z.ZodType;
    else return s;
  }
}
