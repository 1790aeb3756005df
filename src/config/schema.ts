/**
 * The configuration of the webhook: its shape, its defaults, and the zod schema that a file (or
 * the environment) is validated against. Every key of the YAML file is listed here, and a key
 * that is not listed is an error: a typo (`runAsUsr`) must never be silently ignored, or an
 * operator would believe a setting is in force when the default is.
 *
 * The schema describes one *layer* (all keys optional); defaults, file and environment layers are
 * merged by load.ts, which then checks the rules that span several keys.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { DEFAULT_POLICY } from '../engine/defaults';
import { UNPRIVILEGED_PORTS, USER_NAMESPACES, type UnprivilegedPorts, type UserNamespaces } from '../engine/policy';

export const CERT_SOURCES = ['development', 'files', 'self-managed'] as const;
export type CertSource = (typeof CERT_SOURCES)[number];

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface ExemptContainer {
  name?: string;
  image?: string;
}

export interface Config {
  hardening: {
    runAsUser: number;
    runAsGroup: number;
    runAsNonRoot: boolean;
    fsGroup: boolean;
    seccompProfile: boolean;
    unprivilegedPorts: UnprivilegedPorts;
    userNamespaces: UserNamespaces;
  };
  exceptions: {
    capabilityCeiling: string[];
    skipNamespaces: string[];
    exemptContainers: ExemptContainer[];
  };
  server: {
    address: string;
    port: number;
    metricsPort: number;
    maxInFlight: number;
    maxBodyBytes: number;
    requestTimeoutSeconds: number;
    headersTimeoutSeconds: number;
    keepAliveTimeoutSeconds: number;
    shutdownDelaySeconds: number;
    shutdownGraceSeconds: number;
  };
  certificates: {
    source: CertSource;
    certFile?: string;
    keyFile?: string;
    directory: string;
    selfManaged: {
      namespace?: string;
      serviceName: string;
      secretName: string;
      webhookConfigurationName: string;
      validityDays: number;
      renewBeforeDays: number;
      /** Names and addresses the serving certificate covers besides the Service's DNS names. */
      extraDnsNames: string[];
      extraIpAddresses: string[];
    };
  };
  log: { level: LogLevel };
}

// Where these numbers come from:
// - 7 MiB: etcd's default request limit is 1.5 MiB per object but the API server accepts up to
//   3 MiB objects and wraps them in an AdmissionReview with oldObject; controller-runtime
//   (pkg/webhook/admission/http.go) settled on 7 MiB, and so do we.
// - keep-alive 120 s: the API server keeps idle connections to webhooks up to 90 s; a server
//   that closes first can close a connection just as a request is sent on it, and that request
//   is not retried (shared/notes/kubernetes-facts.md).
// - headers 10 s: stops slowloris clients that trickle header bytes to hold sockets; on
//   Node >= 18 it runs only from the first byte of a request, so it does not cut idle
//   keep-alive connections (checked on Node 20), and Node requires it to be <= requestTimeout.
// - request 30 s: the longest timeoutSeconds a webhook configuration may have.
// - shutdown 5 s delay / 20 s grace: endpoints take a few seconds to drop a terminating pod;
//   the kubelet's default terminationGracePeriodSeconds is 30.
export const DEFAULT_CONFIG: Config = {
  hardening: {
    runAsUser: DEFAULT_POLICY.runAsUser,
    runAsGroup: DEFAULT_POLICY.runAsGroup,
    runAsNonRoot: DEFAULT_POLICY.runAsNonRoot,
    fsGroup: DEFAULT_POLICY.fsGroup,
    seccompProfile: DEFAULT_POLICY.seccompProfile,
    unprivilegedPorts: DEFAULT_POLICY.unprivilegedPorts,
    userNamespaces: DEFAULT_POLICY.userNamespaces,
  },
  exceptions: {
    capabilityCeiling: [...DEFAULT_POLICY.capabilityCeiling],
    skipNamespaces: [...DEFAULT_POLICY.skipNamespaces],
    exemptContainers: DEFAULT_POLICY.exemptContainers.map((e) => ({ ...e })),
  },
  server: {
    address: '0.0.0.0',
    port: 8443,
    metricsPort: 8080,
    maxInFlight: 512,
    maxBodyBytes: 7 * 1024 * 1024,
    requestTimeoutSeconds: 30,
    headersTimeoutSeconds: 10,
    keepAliveTimeoutSeconds: 120,
    shutdownDelaySeconds: 5,
    shutdownGraceSeconds: 20,
  },
  certificates: {
    // Replaced by load.ts: `files` when certFile/keyFile are given, else `development`.
    source: 'development',
    directory: '/var/run/pod-hardener/tls',
    selfManaged: {
      serviceName: 'pod-hardener',
      // The names and lifetime the shipped manifests and chart use (their RBAC allows exactly this
      // Secret), so a configuration that leaves them out still matches the install.
      secretName: 'pod-hardener-certs',
      webhookConfigurationName: 'pod-hardener',
      validityDays: 90,
      renewBeforeDays: 30,
      extraDnsNames: [],
      extraIpAddresses: [],
    },
  },
  log: { level: 'info' },
};

const show = (v: unknown): string => {
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return String(v);
};

/** An integer in [min, max]; the message names the range and what was given. */
export function integer(min: number, max = Number.MAX_SAFE_INTEGER) {
  const expected = max === Number.MAX_SAFE_INTEGER ? `an integer >= ${min}` : `an integer from ${min} to ${max}`;
  const message = (input: unknown) => `expected ${expected}, got ${show(input)}`;
  return z
    .number({ error: (iss) => message(iss.input) })
    .refine((v) => Number.isInteger(v) && v >= min && v <= max, { error: (iss) => message(iss.input) });
}

const bool = () => z.boolean({ error: (iss) => `expected true or false, got ${show(iss.input)}` });

const text = (what = 'a non-empty string') =>
  z
    .string({ error: (iss) => `expected ${what}, got ${show(iss.input)}` })
    .refine((s) => s.trim().length > 0 && s === s.trim(), { error: `expected ${what} without surrounding spaces` });

const list = <T extends z.ZodType>(item: T) =>
  z.array(item, { error: (iss) => `expected a list, got ${show(iss.input)}` });

const oneOf = <T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: (iss) => `expected one of ${values.join(', ')}, got ${show(iss.input)}` });

// A capability as users write it (`NET_BIND_SERVICE`, `cap_chown`), or `*` for any.
const capability = z
  .string({ error: (iss) => `expected a capability name, got ${show(iss.input)}` })
  .regex(/^(\*|[A-Za-z][A-Za-z0-9_]*)$/, { error: (iss) => `expected a capability name such as NET_BIND_SERVICE, or "*", got ${show(iss.input)}` });

// Kubernetes namespace names are DNS labels; patterns may use `*`.
const namespacePattern = z
  .string({ error: (iss) => `expected a namespace name or pattern, got ${show(iss.input)}` })
  .regex(/^[a-z0-9*]([-a-z0-9*]*[a-z0-9*])?$/, { error: (iss) => `expected a namespace name or pattern (lowercase letters, digits, "-", "*"), got ${show(iss.input)}` });

const exemptContainer = z
  .strictObject({ name: text('a container name or pattern').optional(), image: text('an image or pattern').optional() }, {
    error: (iss) => `expected a mapping with name and/or image, got ${show(iss.input)}`,
  })
  // An empty rule would exempt every container of every pod.
  .refine((r) => r.name !== undefined || r.image !== undefined, { error: 'give name, image or both: an empty rule would exempt every container' });

// For the serving certificate's SANs (a webhook reached by `url` rather than a Service).
const dnsName = z
  .string({ error: (iss) => `expected a DNS name, got ${show(iss.input)}` })
  .regex(/^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/, { error: (iss) => `expected a DNS name (lowercase), got ${show(iss.input)}` });
const ipAddress = z
  .string({ error: (iss) => `expected an IP address, got ${show(iss.input)}` })
  .refine((s) => isIP(s) !== 0, { error: (iss) => `expected an IP address, got ${show(iss.input)}` });

const address = text('an IP address or host name').refine((s) => isIP(s) !== 0 || /^[A-Za-z0-9]([-.A-Za-z0-9]*[A-Za-z0-9])?$/.test(s), {
  error: (iss) => `expected an IP address (0.0.0.0, ::) or host name, got ${show(iss.input)}`,
});

const section = <T extends z.ZodRawShape>(shape: T) =>
  z.strictObject(shape, { error: (iss) => `expected a mapping, got ${show(iss.input)}` }).optional();

/** One layer of configuration: every key optional, unknown keys rejected. */
export const layerSchema = z.strictObject(
  {
    hardening: section({
      // UID/GID 0 is root: a "hardened" default of 0 would defeat the product.
      runAsUser: integer(1, 2147483647).optional(),
      runAsGroup: integer(1, 2147483647).optional(),
      runAsNonRoot: bool().optional(),
      fsGroup: bool().optional(),
      seccompProfile: bool().optional(),
      unprivilegedPorts: oneOf(UNPRIVILEGED_PORTS).optional(),
      userNamespaces: oneOf(USER_NAMESPACES).optional(),
    }),
    exceptions: section({
      capabilityCeiling: list(capability).optional(),
      skipNamespaces: list(namespacePattern).optional(),
      exemptContainers: list(exemptContainer).optional(),
    }),
    server: section({
      address: address.optional(),
      port: integer(1, 65535).optional(),
      metricsPort: integer(1, 65535).optional(),
      maxInFlight: integer(1, 100000).optional(),
      maxBodyBytes: integer(1024, 64 * 1024 * 1024).optional(),
      requestTimeoutSeconds: integer(1, 600).optional(),
      headersTimeoutSeconds: integer(1, 600).optional(),
      keepAliveTimeoutSeconds: integer(91, 3600).optional(),
      shutdownDelaySeconds: integer(0, 600).optional(),
      shutdownGraceSeconds: integer(1, 3600).optional(),
    }),
    certificates: section({
      source: oneOf(CERT_SOURCES).optional(),
      certFile: text('a file path').optional(),
      keyFile: text('a file path').optional(),
      directory: text('a directory path').optional(),
      selfManaged: section({
        namespace: text('a namespace name').optional(),
        serviceName: text('a Service name').optional(),
        secretName: text('a Secret name').optional(),
        webhookConfigurationName: text('a MutatingWebhookConfiguration name').optional(),
        validityDays: integer(1, 3650).optional(),
        renewBeforeDays: integer(1, 3650).optional(),
        extraDnsNames: list(dnsName).optional(),
        extraIpAddresses: list(ipAddress).optional(),
      }),
    }),
    log: section({ level: oneOf(LOG_LEVELS).optional() }),
  },
  { error: (iss) => `expected a mapping at the top level, got ${show(iss.input)}` },
);

/** One layer (file or environment) after validation: every key optional. */
export type ConfigLayer = z.infer<typeof layerSchema>;

/** The known keys below each path, for "did you mean" hints on unknown keys. */
export function knownKeys(path: readonly PropertyKey[]): string[] {
  let schema: z.ZodType = layerSchema;
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
    if (s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
    else if (s instanceof z.ZodPipe) s = s.in as z.ZodType;
    else return s;
  }
}
