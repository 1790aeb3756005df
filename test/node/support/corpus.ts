// The legacy corpus: patterns operators meet in images they cannot rebuild, each a pod of the
// images localhost/pod-hardener/legacy:{root,named,numeric} (scripts/cluster/images.sh), with its
// own health check (a readiness probe), and the candidate changes that may make it run hardened.

import { Annotations } from '../../../src/names';
import { apply, kubectl, logs, statusOnNode } from './cluster';

type Manifest = any;

export interface Fix {
  /** The change, as the table of docs/hardening.md says it. */
  change: string;
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

function pod(
  image: 'root' | 'named' | 'numeric',
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
          image: `localhost/pod-hardener/legacy:${image}`,
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

const skipContainer = (name: string): Fix => ({
  change: `annotation \`${Annotations.skipContainers}: "${name}"\` (the container then runs unhardened)`,
  apply: (p) => {
    p.metadata.annotations[Annotations.skipContainers] = name;
  },
});

/** An image whose non-root USER (UID 101) writes to its own directory: the UID pod-hardener sets instead loses it. */
function ownDirectoryRow(id: string, image: 'named' | 'numeric', user: string): Row {
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
        change: 'pod `securityContext.runAsUser: 101` (an explicit non-root UID is kept)',
        apply: (p) => {
          p.spec.securityContext = { runAsUser: 101 };
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
        command: ['busybox-netbind', 'httpd', '-f', '-p', '80', '-h', '/www'],
        readinessProbe: WEB_ROOT_PROBE(80),
      }),
    fixes: [
      {
        change: `annotation \`${Annotations.allowedCapabilities}: NET_BIND_SERVICE\` and \`capabilities.add: [NET_BIND_SERVICE]\``,
        apply: (p) => {
          p.metadata.annotations[Annotations.allowedCapabilities] = 'NET_BIND_SERVICE';
          p.spec.containers[0].securityContext = { capabilities: { add: ['NET_BIND_SERVICE'] } };
        },
      },
      {
        change: 'declare `containerPort: 80` (pod-hardener then adds the unprivileged-port sysctl)',
        apply: (p) => {
          p.spec.containers[0].ports = [{ containerPort: 80 }];
        },
      },
      skipContainer('app'),
    ],
  },
  {
    id: 'filecap-allow',
    pattern: 'the same binary with the capability allowlisted (annotation and capabilities.add)',
    pod: () =>
      pod(
        'root',
        {
          command: ['busybox-netbind', 'httpd', '-f', '-p', '80', '-h', '/www'],
          readinessProbe: WEB_ROOT_PROBE(80),
          securityContext: { capabilities: { add: ['NET_BIND_SERVICE'] } },
        },
        {},
        { [Annotations.allowedCapabilities]: 'NET_BIND_SERVICE' },
      ),
    fixes: [
      {
        change: 'declare `containerPort: 80` (pod-hardener then adds the unprivileged-port sysctl)',
        apply: (p) => {
          p.spec.containers[0].ports = [{ containerPort: 80 }];
        },
      },
      {
        change: '`allowPrivilegeEscalation: true` on the container (file capabilities need it)',
        apply: (p) => {
          p.spec.containers[0].securityContext.allowPrivilegeEscalation = true;
        },
      },
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
    fixes: [
      {
        change: 'an `emptyDir` volume mounted at that directory',
        apply: (p) => {
          p.spec.volumes = [{ name: 'state', emptyDir: {} }];
          p.spec.containers[0].volumeMounts = [{ name: 'state', mountPath: '/var/lib/app' }];
        },
      },
    ],
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
  ownDirectoryRow('user-name', 'named', 'image `USER app` (a name; UID 101)'),
  ownDirectoryRow('user-numeric', 'numeric', 'image `USER 101`'),
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
              image: 'localhost/pod-hardener/legacy:root',
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
];

const FAILED_WAITING = new Set([
  'CrashLoopBackOff',
  'CreateContainerError',
  'CreateContainerConfigError',
  'RunContainerError',
  'ErrImageNeverPull',
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
  try {
    await apply(JSON.stringify(manifest));
  } catch (err) {
    const m = /Error from server[^:]*: (.*)/.exec((err as Error).message);
    return { runs: false, seen: `rejected: ${stable(m ? m[1] : (err as Error).message)}` };
  }
  try {
    const end = Date.now() + 45_000;
    for (;;) {
      const r = await kubectl(['-n', ns, 'get', 'pod', name, '-o', 'json'], { allowFail: true });
      const p = r.code === 0 ? JSON.parse(r.stdout) : undefined;
      if (p) {
        const ready = (p.status?.conditions ?? []).some(
          (c: any) => c.type === 'Ready' && c.status === 'True',
        );
        if (ready) {
          const k = statusOnNode(p, 'app');
          return { runs: true, kernel: { uid: k.uid, capEff: k.capEff } };
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
            };
          }
          if (waiting && FAILED_WAITING.has(waiting.reason)) {
            return {
              runs: false,
              seen: `${s.name}: ${waiting.reason}: ${stable(waiting.message ?? '')}`,
            };
          }
        }
      }
      if (Date.now() > end)
        return { runs: false, seen: 'not Ready within 45 s (its health check does not answer)' };
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

export function renderTable(
  results: Array<{
    row: Row;
    unhardened: Outcome;
    hardened: Outcome;
    fix?: { change: string; outcome: Outcome };
  }>,
): string {
  const lines = [
    '| legacy pattern | unhardened | hardened by pod-hardener | the one change that makes it run hardened |',
    '|---|---|---|---|',
  ];
  for (const r of results) {
    const fix = r.hardened.runs
      ? '(none needed)'
      : r.fix
        ? `${r.fix.change}: ${outcomeCell(r.fix.outcome)}`
        : 'none found';
    lines.push(
      `| ${r.row.pattern} | ${outcomeCell(r.unhardened)} | ${outcomeCell(r.hardened)} | ${fix} |`,
    );
  }
  return lines.join('\n');
}
