/**
 * The shapes a hostile pod author can send to make one review expensive, each grown to a size in
 * bytes. kube-apiserver hands the decoded object to mutating webhooks before it checks the
 * 256 KiB annotation limit or names, and accepts request bodies up to 3 MiB, so every dimension a
 * pod author controls can reach that size here. Shared by the HTTP test (a worst case must not
 * delay another review) and `npm run bench:adversarial` (time per review against size).
 */
import { Annotations } from '../../src/names';
import { pod } from './pods';

export interface HostileShape {
  name: string;
  /** What the dimension is, for the benchmark's table. */
  what: string;
  /** The pod, about `bytes` large in JSON. */
  build(bytes: number): any;
  /**
   * The operator configuration that makes the dimension reach the most code: a ceiling of `*`
   * lets every listed capability through to the allowlist, an exemption pattern is matched
   * against every image.
   */
  yaml?: string;
}

const container = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  image: 'registry.example/app:1',
  ...extra,
});

/** Distinct words of the same length, so sizes grow by count, not by word length. */
const word = (prefix: string, i: number) => `${prefix}${i.toString(36).padStart(6, '0')}`;

function words(prefix: string, bytes: number, separator: string): string {
  const out: string[] = [];
  let size = 0;
  for (let i = 0; size < bytes; i++) {
    const w = word(prefix, i);
    out.push(w);
    size += w.length + separator.length;
  }
  return out.join(separator);
}

export const HOSTILE_SHAPES: readonly HostileShape[] = [
  {
    name: 'summary',
    what: 'a pod-supplied pod-hardener.io/hardened annotation of distinct groups and targets',
    build: (bytes) =>
      pod({}, { [Annotations.hardened]: words('runAsUser=', bytes, '; ') + ' [a,b]' }),
  },
  {
    name: 'summaryTargets',
    what: 'one summary group with a long target list',
    build: (bytes) =>
      pod({}, { [Annotations.hardened]: `runAsUser=1000 [${words('c', bytes, ',')}]` }),
  },
  {
    name: 'skipContainers',
    what: 'skip-containers naming containers that do not exist',
    build: (bytes) => pod({}, { [Annotations.skipContainers]: words('x', bytes, ',') }),
    yaml: 'exceptions: { skipNamespaces: ["*"] }',
  },
  {
    name: 'allowlist',
    what: 'a pod-wide capability allowlist of distinct names, under a ceiling of *',
    build: (bytes) =>
      pod(
        {
          containers: [
            container('app', { securityContext: { capabilities: { add: ['NET_ADMIN'] } } }),
          ],
        },
        { [Annotations.allowedCapabilities]: words('CAP_X', bytes, ',') },
      ),
    yaml: 'exceptions: { capabilityCeiling: ["*"] }',
  },
  {
    name: 'allowlistPerContainer',
    what: 'many containers, each with its own allowlist, beside a large pod-wide one',
    build: (bytes) => {
      const n = Math.max(1, Math.floor(bytes / 200));
      const containers = Array.from({ length: n }, (_, i) => container(word('c', i)));
      const annotations: Record<string, string> = {
        [Annotations.allowedCapabilities]: words('CAP_X', bytes / 2, ','),
      };
      for (const c of containers)
        annotations[Annotations.containerCapabilitiesPrefix + c.name] = 'NET_RAW';
      return pod({ containers }, annotations);
    },
    yaml: 'exceptions: { capabilityCeiling: ["*"] }',
  },
  {
    name: 'containers',
    what: 'containers with root, privileged, added capabilities and low ports',
    build: (bytes) =>
      pod({
        containers: Array.from({ length: Math.max(1, Math.floor(bytes / 190)) }, (_, i) =>
          container(word('c', i), {
            ports: [{ containerPort: 80 }],
            securityContext: {
              runAsUser: 0,
              privileged: true,
              capabilities: { add: ['SYS_TIME'] },
            },
          }),
        ),
      }),
  },
  {
    name: 'addList',
    what: 'one container adding many capabilities',
    build: (bytes) =>
      pod({
        containers: [
          container('app', {
            securityContext: { capabilities: { add: words('CAP_Y', bytes, ',').split(',') } },
          }),
        ],
      }),
  },
  {
    name: 'sysctls',
    what: 'pod sysctls, searched for the low-port one',
    build: (bytes) =>
      pod({
        securityContext: {
          sysctls: Array.from({ length: Math.max(1, Math.floor(bytes / 40)) }, (_, i) => ({
            name: word('net.x.', i),
            value: '1',
          })),
        },
        containers: [container('web', { ports: [{ containerPort: 80 }] })],
      }),
  },
  {
    name: 'longNames',
    what: 'a container name and an image as long as the body allows',
    build: (bytes) =>
      pod({
        containers: [{ name: 'a'.repeat(bytes / 2), image: `${'a'.repeat(bytes / 2)}:1` }],
      }),
    yaml: 'exceptions: { exemptContainers: [{ name: "*a*a*a*a*b", image: "*a*a*a*a*b" }] }',
  },
  {
    name: 'volumes',
    what: 'volumes in the way of user namespaces',
    build: (bytes) =>
      pod({
        volumes: Array.from({ length: Math.max(1, Math.floor(bytes / 50)) }, (_, i) => ({
          name: word('v', i),
          hostPath: { path: '/x' },
        })),
      }),
    yaml: 'hardening: { userNamespaces: "on" }',
  },
];

/** The body of a review of `pod`, as bytes of JSON, to size what a shape built. */
export const jsonSize = (value: unknown) => Buffer.byteLength(JSON.stringify(value));
