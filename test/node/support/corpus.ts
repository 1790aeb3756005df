// The legacy corpus: patterns operators meet in images they cannot rebuild, each a pod of the
// images localhost/pod-hardener/legacy:VARIANT (scripts/cluster/images.sh says what each holds),
// with its own health check (a readiness probe), and the candidate changes that may make it run
// hardened, from the least permissive to the most: the first that runs is the one shown.

import { Annotations } from '../../../src/names';
import { apply, clusterEnv, kubectl, logs, statusOnNode } from './cluster';
import type { TransparencyResult } from './transparency';

type Manifest = any;

export interface Fix {
  /** The change, as the table of docs/hardening.md says it. */
  change: string;
  /** What the webhook's note must say for it to name this change (a key, a field). */
  named: string;
  apply: (pod: Manifest) => void;
}

export interface Row {
  id: string;
  pattern: string;
  pod: () => Manifest;
  fixes: Fix[];
}

export interface Outcome {
  runs: boolean;
  /** What an operator sees when it does not run: the reason and the container's last words. */
  seen?: string;
  /** The kernel's view of the main container when it runs. */
  kernel?: { uid: number; capEff: bigint };
  /** The warnings the API server returned with the pod (the webhook's notes among them). */
  warnings?: string;
}

const WEB_ROOT_PROBE = (port: number) => ({
  httpGet: { path: '/', port },
  periodSeconds: 1,
  failureThreshold: 60,
});
const FILE_PROBE = (file: string) => ({
  exec: { command: ['test', '-f', file] },
  periodSeconds: 1,
  failureThreshold: 60,
});

type LegacyImage = 'root' | 'named' | 'numeric' | 'uid999' | 'arbitrary';
/** How containerd knows the legacy images (imported, never pulled: imagePullPolicy Never). */
const LOCAL_LEGACY = 'localhost/pod-hardener/legacy:';

function pod(
  image: LegacyImage,
  main: Manifest,
  extra: Manifest = {},
  annotations: Record<string, string> = {},
): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { annotations },
    spec: {
      terminationGracePeriodSeconds: 0,
      automountServiceAccountToken: false,
      restartPolicy: 'Never',
      containers: [
        {
          name: 'app',
          image: `${LOCAL_LEGACY}${image}`,
          imagePullPolicy: 'Never',
          ...main,
        },
      ],
      ...extra,
    },
  };
}

const sh = (script: string) => ({ command: ['sh', '-c', script] });
const serve = (port: number) => `exec httpd -f -p ${port} -h /www`;
/** httpd on port 80, started straight from the copy of busybox that carries cap_net_bind_service+ep. */
const NETBIND_HTTPD = ['busybox-netbind', 'httpd', '-f', '-p', '80', '-h', '/www'];

/** The file-capability binary serving port 80, with NET_BIND_SERVICE in its capabilities.add. */
const netbindPod = (extra: Manifest = {}, annotations: Record<string, string> = {}): Manifest =>
  pod(
    'root',
    {
      command: NETBIND_HTTPD,
      readinessProbe: WEB_ROOT_PROBE(80),
      securityContext: { capabilities: { add: ['NET_BIND_SERVICE'] } },
    },
    extra,
    annotations,
  );

const skipContainer = (name: string): Fix => ({
  change: `annotation \`${Annotations.skipContainers}: "${name}"\` (the container then runs unhardened)`,
  named: `${Annotations.skipContainers}: "${name}"`,
  apply: (p) => {
    p.metadata.annotations[Annotations.skipContainers] = name;
  },
});

/** The capability allowlisted for the container (app) and kept in its capabilities.add. */
const allowCapability = (capability: string): Fix => ({
  change: `annotation \`${Annotations.containerCapabilitiesPrefix}app: ${capability}\` and \`capabilities.add: [${capability}]\``,
  named: `${Annotations.containerCapabilitiesPrefix}app`,
  apply: (p) => {
    p.metadata.annotations[`${Annotations.containerCapabilitiesPrefix}app`] = capability;
    const sc = (p.spec.containers[0].securityContext ??= {});
    sc.capabilities = { ...sc.capabilities, add: [capability] };
  },
});

const declarePort80: Fix = {
  change: 'declare `containerPort: 80` (pod-hardener then adds the unprivileged-port sysctl)',
  named: 'containerPort',
  apply: (p) => {
    p.spec.containers[0].ports = [{ containerPort: 80 }];
  },
};

const allowEscalation: Fix = {
  change: '`allowPrivilegeEscalation: true` on the container (file capabilities need it)',
  named: 'allowPrivilegeEscalation',
  apply: (p) => {
    p.spec.containers[0].securityContext.allowPrivilegeEscalation = true;
  },
};

/** Two changes made together, said in that order. */
const both = (first: Fix, second: Fix): Fix => ({
  change: `${first.change}, and ${second.change}`,
  named: first.named,
  apply: (p) => {
    first.apply(p);
    second.apply(p);
  },
});

const emptyDirAt = (path: string): Fix => ({
  change: 'an `emptyDir` volume mounted at that directory',
  named: 'emptyDir',
  apply: (p) => {
    p.spec.volumes = [{ name: 'state', emptyDir: {} }];
    p.spec.containers[0].volumeMounts = [{ name: 'state', mountPath: path }];
  },
});

/** A non-root image whose USER (`uid`) writes to its own directory: the UID pod-hardener sets instead loses it. */
function ownDirectoryRow(id: string, image: LegacyImage, user: string, uid: number): Row {
  return {
    id,
    pattern: `${user} writing to its own directory /srv/app (0700)`,
    pod: () =>
      pod(image, {
        ...sh(`echo x > /srv/app/f && ${serve(8080)}`),
        readinessProbe: WEB_ROOT_PROBE(8080),
      }),
    fixes: [
      {
        change: `pod \`securityContext.runAsUser: ${uid}\` (an explicit non-root UID is kept)`,
        named: 'runAsUser',
        apply: (p) => {
          p.spec.securityContext = { runAsUser: uid };
        },
      },
    ],
  };
}

export const CORPUS: Row[] = [
  {
    id: 'port80',
    pattern: 'a server that binds port 80 as root (declares containerPort 80)',
    pod: () =>
      pod('root', {
        ...sh(serve(80)),
        ports: [{ containerPort: 80 }],
        readinessProbe: WEB_ROOT_PROBE(80),
      }),
    fixes: [
      {
        change:
          'pod `securityContext.sysctls: [{name: net.ipv4.ip_unprivileged_port_start, value: "0"}]`',
        named: 'ip_unprivileged_port_start',
        apply: (p) => {
          p.spec.securityContext = {
            sysctls: [{ name: 'net.ipv4.ip_unprivileged_port_start', value: '0' }],
          };
        },
      },
    ],
  },
  {
    id: 'filecap',
    pattern:
      'a binary with the file capability cap_net_bind_service+ep that binds port 80, no allowlist',
    pod: () =>
      pod('root', {
        command: NETBIND_HTTPD,
        readinessProbe: WEB_ROOT_PROBE(80),
      }),
    fixes: [allowCapability('NET_BIND_SERVICE'), declarePort80, skipContainer('app')],
  },
  {
    id: 'filecap-allow',
    pattern: 'the same binary with the capability allowlisted (annotation and capabilities.add)',
    pod: () => netbindPod({}, { [Annotations.allowedCapabilities]: 'NET_BIND_SERVICE' }),
    fixes: [declarePort80, allowEscalation, skipContainer('app')],
  },
  {
    // Hardened, NET_BIND_SERVICE leaves capabilities.add and with it the bounding set, and the
    // kernel refuses to exec a binary whose file capabilities (+ep) it cannot grant in full.
    // Declaring the port adds the sysctl but leaves the bounding set without the capability; the
    // allowlist keeps it there. runc starts the binary straight from a process whose permitted
    // set holds the capability, so no_new_privs (allowPrivilegeEscalation: false) takes nothing
    // away, as in the filecap-allow row; allowing escalation too is tried next in case it does.
    id: 'filecap-uid101',
    pattern:
      'the same binary at an explicit non-root UID (`runAsUser: 101`, `capabilities.add: [NET_BIND_SERVICE]`), no allowlist',
    pod: () => netbindPod({ securityContext: { runAsUser: 101 } }),
    fixes: [
      declarePort80,
      allowCapability('NET_BIND_SERVICE'),
      both(allowCapability('NET_BIND_SERVICE'), allowEscalation),
      skipContainer('app'),
    ],
  },
  {
    id: 'rootdir',
    pattern: 'writes to a root-owned directory of its image (/var/lib/app)',
    pod: () =>
      pod('root', {
        ...sh(`echo state > /var/lib/app/state && ${serve(8080)}`),
        readinessProbe: WEB_ROOT_PROBE(8080),
      }),
    fixes: [emptyDirAt('/var/lib/app')],
  },
  {
    id: 'emptydir',
    pattern: 'writes to an emptyDir volume',
    pod: () =>
      pod(
        'root',
        {
          ...sh(`mkdir -p /data/sub && echo x > /data/sub/f && ${serve(8080)}`),
          readinessProbe: WEB_ROOT_PROBE(8080),
          volumeMounts: [{ name: 'data', mountPath: '/data' }],
        },
        { volumes: [{ name: 'data', emptyDir: {} }] },
      ),
    fixes: [],
  },
  ownDirectoryRow('user-name', 'named', 'image `USER app` (a name; UID 101)', 101),
  ownDirectoryRow('user-numeric', 'numeric', 'image `USER 101`', 101),
  ownDirectoryRow('user-999', 'uid999', "image `USER 999` owning its files (as argo-cd's)", 999),
  {
    // USER 1001 has no /etc/passwd entry, so the runtime runs it in group 0, which owns /srv/data
    // (0775). pod-hardener never gives group 0: runAsGroup 0 and fsGroup 0 become the run group,
    // 0 leaves supplementalGroups, and image identity keeps the UID, not a group the image does
    // not name. So a directory of the pod's own is the fix that keeps the container hardened.
    id: 'group-zero',
    pattern:
      'image `USER 1001` built for any UID in group 0, writing to /srv/data (root:root 0775; bitnami and OpenShift style)',
    pod: () =>
      pod('arbitrary', {
        ...sh(`echo x > /srv/data/f && ${serve(8080)}`),
        readinessProbe: WEB_ROOT_PROBE(8080),
      }),
    fixes: [emptyDirAt('/srv/data'), skipContainer('app')],
  },
  {
    id: 'chown-init',
    pattern: 'an init container that chowns a volume as root for the app (UID 101)',
    pod: () =>
      pod(
        'root',
        {
          ...sh(`test "$(stat -c %u /data)" = 101 && ${serve(8080)}`),
          readinessProbe: WEB_ROOT_PROBE(8080),
          volumeMounts: [{ name: 'data', mountPath: '/data' }],
        },
        {
          volumes: [{ name: 'data', emptyDir: {} }],
          initContainers: [
            {
              name: 'fix-perms',
              image: `${LOCAL_LEGACY}root`,
              imagePullPolicy: 'Never',
              command: ['chown', '101:101', '/data'],
              volumeMounts: [{ name: 'data', mountPath: '/data' }],
            },
          ],
        },
      ),
    fixes: [skipContainer('fix-perms')],
  },
  {
    id: 'su',
    pattern: 'a process that switches user itself (`su app`)',
    pod: () =>
      pod('root', {
        ...sh(`su -s /bin/sh app -c 'touch /tmp/ok && sleep 3600'`),
        readinessProbe: FILE_PROBE('/tmp/ok'),
      }),
    fixes: [
      {
        change:
          'pod `securityContext.runAsUser: 101` and no `su` (the image runs as that user directly)',
        named: 'runAsUser',
        apply: (p) => {
          p.spec.securityContext = { runAsUser: 101 };
          p.spec.containers[0].command = ['sh', '-c', 'touch /tmp/ok && sleep 3600'];
        },
      },
      skipContainer('app'),
    ],
  },
  {
    id: 'net-admin',
    pattern: 'needs a capability above the ceiling (NET_ADMIN: adds an address to its interface)',
    pod: () =>
      pod(
        'root',
        {
          ...sh(`ip addr add 127.0.0.2/32 dev lo && touch /tmp/ok && sleep 3600`),
          readinessProbe: FILE_PROBE('/tmp/ok'),
          securityContext: { capabilities: { add: ['NET_ADMIN'] } },
        },
        {},
        { [Annotations.allowedCapabilities]: 'NET_ADMIN' },
      ),
    fixes: [skipContainer('app')],
  },
  {
    // busybox's ping opens a raw ICMP socket (SOCK_RAW), which needs CAP_NET_RAW, and the
    // busybox the images carry (Debian's 1.35) does not fall back to an unprivileged ICMP socket
    // (seen with strace: EPERM, then "permission denied (are you root?)", whatever
    // net.ipv4.ping_group_range says).
    // The ping goes to the loopback only. Allowlisted, NET_RAW stays in the bounding set of a
    // process that runs as UID 1000, which gains no capability from it: busybox carries no file
    // capability. The allowlist is tried first all the same, as an operator would.
    id: 'hostnet-raw',
    pattern:
      "a hostNetwork daemon that needs NET_RAW (`capabilities: {drop: [ALL], add: [NET_RAW]}`; an ARP probe, as metallb's speaker sends)",
    // arping opens a packet socket, which takes CAP_NET_RAW whatever the node's
    // ping_group_range (ping may get an ICMP datagram socket without it). The probe is
    // duplicate address detection for the node's own address on the cluster's private bridge:
    // nothing answers, and arping -D exits 0 then.
    pod: () =>
      pod(
        'root',
        {
          ...sh(
            `arping -D -c1 -w1 -I ${clusterEnv().bridge} ${clusterEnv().gateway} && touch /tmp/ok && sleep 3600`,
          ),
          readinessProbe: FILE_PROBE('/tmp/ok'),
          securityContext: { capabilities: { drop: ['ALL'], add: ['NET_RAW'] } },
        },
        { hostNetwork: true },
      ),
    fixes: [allowCapability('NET_RAW'), skipContainer('app')],
  },
];

/**
 * A pod's legacy images taken from the node tier's registry (scripts/cluster/registry.sh pushes
 * every variant there) and pulled as any registry image is: image identity reads only images of
 * an allowlisted registry, never what containerd holds under a local name. Always pulled: the
 * registry is local and cheap, and containerd may hold an older build's image under the same
 * reference.
 */
export const fromRegistry =
  (registry: string) =>
  (p: Manifest): void => {
    for (const c of [...(p.spec.initContainers ?? []), ...p.spec.containers]) {
      c.image = (c.image as string).replace(LOCAL_LEGACY, `${registry}/pod-hardener/legacy:`);
      c.imagePullPolicy = 'Always';
    }
  };

/** Every image the corpus runs, once `change` has been made to each pod, sorted. */
export function corpusImages(change: (pod: Manifest) => void): string[] {
  const images = new Set<string>();
  for (const row of CORPUS) {
    const p = row.pod();
    change(p);
    for (const c of [...(p.spec.initContainers ?? []), ...p.spec.containers]) images.add(c.image);
  }
  return [...images].sort();
}

const FAILED_WAITING = new Set([
  'CrashLoopBackOff',
  'CreateContainerError',
  'CreateContainerConfigError',
  'RunContainerError',
  'ErrImageNeverPull',
  // A pull from the registry that failed says so at once, not after the wait for Ready.
  'ErrImagePull',
  'ImagePullBackOff',
  'InvalidImageName',
]);

/** Removes what differs from run to run (IDs, addresses, times) from a message. */
function stable(text: string): string {
  return text
    .replace(/[0-9a-f]{64}/g, '<id>')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 160);
}

/** Creates one variant of a row, waits until it runs or fails, records what was seen, deletes it. */
export async function runVariant(
  ns: string,
  row: Row,
  suffix: string,
  change?: (pod: Manifest) => void,
): Promise<Outcome> {
  const manifest = row.pod();
  const name = `${row.id}-${suffix}`;
  manifest.metadata.name = name;
  manifest.metadata.namespace = ns;
  change?.(manifest);
  let warnings: string;
  try {
    warnings = await apply(JSON.stringify(manifest));
  } catch (err) {
    const m = /Error from server[^:]*: (.*)/.exec((err as Error).message);
    return { runs: false, seen: `rejected: ${stable(m ? m[1] : (err as Error).message)}` };
  }
  try {
    // Long enough for the first pulls from the node tier's registry, all rows at once (a run
    // right after the cluster came up saw two rows still starting after 45 s); a row that fails
    // says so as soon as its container ends or its pull fails.
    const end = Date.now() + 90_000;
    for (;;) {
      const r = await kubectl(['-n', ns, 'get', 'pod', name, '-o', 'json'], { allowFail: true });
      const p = r.code === 0 ? JSON.parse(r.stdout) : undefined;
      if (p) {
        const ready = (p.status?.conditions ?? []).some(
          (c: any) => c.type === 'Ready' && c.status === 'True',
        );
        if (ready) {
          const k = statusOnNode(p, 'app');
          return { runs: true, kernel: { uid: k.uid, capEff: k.capEff }, warnings };
        }
        const statuses = [
          ...(p.status?.initContainerStatuses ?? []),
          ...(p.status?.containerStatuses ?? []),
        ];
        for (const s of statuses) {
          const waiting = s.state?.waiting;
          const term = s.state?.terminated ?? s.lastState?.terminated;
          if (term && term.exitCode !== 0) {
            const said = term.message
              ? stable(term.message)
              : stable(
                  (await logs(ns, name, s.name).catch(() => '')).trim().split('\n').pop() ?? '',
                );
            return {
              runs: false,
              seen: `${s.name}: ${term.reason ?? 'exited'} (exit ${term.exitCode}): ${said}`,
              warnings,
            };
          }
          if (waiting && FAILED_WAITING.has(waiting.reason)) {
            return {
              runs: false,
              seen: `${s.name}: ${waiting.reason}: ${stable(waiting.message ?? '')}`,
              warnings,
            };
          }
        }
      }
      if (Date.now() > end)
        return {
          runs: false,
          seen: 'not Ready within 90 s (its health check does not answer)',
          warnings,
        };
      await new Promise((res) => setTimeout(res, 300));
    }
  } finally {
    await kubectl(
      ['-n', ns, 'delete', 'pod', name, '--grace-period=0', '--force', '--wait=false'],
      { allowFail: true },
    );
  }
}

function outcomeCell(o: Outcome): string {
  if (o.runs && o.kernel)
    return `runs (Uid ${o.kernel.uid}, CapEff 0x${o.kernel.capEff.toString(16)})`;
  return `**does not run**: ${(o.seen ?? '').replace(/\|/g, '\\|')}`;
}

/** The figure under the table: how many patterns run hardened as they are, without and with image identity. */
function summary(results: TransparencyResult[]): string {
  const off = results.filter((r) => r.hardened.runs).length;
  const on = results.filter((r) => r.identity.runs).length;
  return `${off} of ${results.length} patterns run hardened unchanged with image identity off, ${on} with it on.`;
}

/**
 * The webhook's note that names `named`: the "fix:" line of its warnings (risks.ts) that says it,
 * without the "Warning: pod-hardener: " every line starts with; the last of them, since the notes
 * go from the general (the user) to the particular (a capability).
 */
export function noteNaming(warnings: string | undefined, named: string): string | undefined {
  return (warnings ?? '')
    .split('\n')
    .map((line) => line.replace(/^Warning: pod-hardener: /, '').trim())
    .filter((line) => /^[^:]*: fix: /.test(line) && line.includes(named))
    .pop();
}

export function renderTable(results: TransparencyResult[]): string {
  const lines = [
    "| legacy pattern | unhardened | hardened by pod-hardener | hardened, image identity on | the one change that makes it run hardened (image identity off) | the webhook's note that names it (image identity off) |",
    '|---|---|---|---|---|---|',
  ];
  const cell = (text: string) => text.replace(/\|/g, '\\|');
  for (const r of results) {
    const fix = r.hardened.runs
      ? '(none needed)'
      : r.fix
        ? `${r.fix.change}: ${outcomeCell(r.fix.outcome)}`
        : 'none found';
    const note = r.fix ? noteNaming(r.hardened.warnings, r.fix.named) : undefined;
    const cells = [r.unhardened, r.hardened, r.identity].map(outcomeCell);
    lines.push(
      `| ${r.row.pattern} | ${cells.join(' | ')} | ${fix} | ${r.hardened.runs ? '-' : note ? `\`${cell(note)}\`` : '**none**'} |`,
    );
  }
  return [...lines, '', summary(results)].join('\n');
}
