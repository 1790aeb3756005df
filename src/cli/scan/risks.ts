/**
 * What may stop working when a pod is hardened, each with its reason. Every risk is a difference
 * between the pod as it is and the pod the engine returns (identity, capabilities, privileged
 * mode) met with what the pod does that needs the old value (ports below 1024, host namespaces,
 * hostPath volumes). A container whose effective settings do not change gets none, so exempt and
 * skipped containers, and pods already hardened, never show a risk.
 *
 * Only what the API shows can be judged: an image's USER is invisible to it, so a container
 * without runAsUser is reported as "unknown" rather than root or not.
 */
import { targetKey } from '../../engine/describe';
import { eachContainer } from '../../engine/pod';
import { isJsonObject as isObject } from '../../engine/json';
import type { Change, Container, ContainerTarget, Pod, SecurityContext } from '../../engine/types';
import type { RiskEntry, RiskKind } from './report-schema';

const PORT_SYSCTL = 'net.ipv4.ip_unprivileged_port_start';
const PRIVILEGED_PORTS = 1024;
const HOST_NAMESPACES = ['hostNetwork', 'hostPID', 'hostIPC'] as const;

function risk(
  kind: RiskKind,
  target: string,
  reason: string,
  extra: Partial<RiskEntry> = {},
): RiskEntry {
  return {
    kind,
    target,
    reason,
    port: null,
    capabilities: [],
    hostNamespaces: [],
    volume: null,
    path: null,
    root: null,
    ...extra,
  };
}

const uid = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isInteger(v) ? v : undefined;

interface Identity {
  user: number | undefined;
  root: 'yes' | 'unknown' | 'no';
}

/** The effective user of a container as the kubelet would start it, from what the API shows. */
function identity(pod: Pod, container: Container | undefined): Identity {
  const podSc: SecurityContext = pod.spec?.securityContext ?? {};
  const sc: SecurityContext = container?.securityContext ?? {};
  const user = uid(sc.runAsUser) ?? uid(podSc.runAsUser);
  const nonRoot = (sc.runAsNonRoot ?? podSc.runAsNonRoot) === true;
  if (user === 0) return { user, root: 'yes' };
  if (user === undefined && !nonRoot) return { user, root: 'unknown' };
  return { user, root: 'no' };
}

/** Whether the pod's own sysctl lets a non-root process bind `port`. */
function sysctlAllows(pod: Pod, port: number): boolean {
  const sysctls = pod.spec?.securityContext?.sysctls;
  if (!Array.isArray(sysctls)) return false;
  return sysctls.some((s) => isObject(s) && s.name === PORT_SYSCTL && Number(s.value) <= port);
}

function lowPorts(container: Container): number[] {
  const ports = container.ports;
  if (!Array.isArray(ports)) return [];
  const out = new Set<number>();
  for (const p of ports) {
    const n = isObject(p) ? uid(p.containerPort) : undefined;
    if (n !== undefined && n > 0 && n < PRIVILEGED_PORTS) out.add(n);
  }
  return [...out];
}

/** hostPath volumes of the pod by name. */
function hostPaths(pod: Pod): Map<string, string> {
  const out = new Map<string, string>();
  const volumes = pod.spec?.volumes;
  if (!Array.isArray(volumes)) return out;
  for (const v of volumes) {
    if (isObject(v) && typeof v.name === 'string' && isObject(v.hostPath)) {
      out.set(v.name, typeof v.hostPath.path === 'string' ? v.hostPath.path : '');
    }
  }
  return out;
}

function mountedVolumes(container: Container): string[] {
  const mounts = container.volumeMounts;
  if (!Array.isArray(mounts)) return [];
  return mounts
    .filter((m) => isObject(m) && typeof m.name === 'string')
    .map((m) => (m as { name: string }).name);
}

const userText = (id: Identity) => (id.user === undefined ? 'the image user' : `UID ${id.user}`);

/**
 * The risks of hardening `before` into `after` (the engine's result for it), `changes` being the
 * engine's change list for that result.
 */
export function risksOf(before: Pod, after: Pod, changes: readonly Change[]): RiskEntry[] {
  const risks: RiskEntry[] = [];
  const hardenedContainers = new Map<string, Container>();
  for (const { list, container } of eachContainer(after))
    hardenedContainers.set(`${list}\0${container.name as string}`, container);
  const paths = hostPaths(before);
  let anyAffected = false;
  let userAfterAny: Identity | undefined;

  for (const { list, container } of eachContainer(before)) {
    const name = container.name as string;
    const target: ContainerTarget = { kind: 'container', list, name };
    const key = targetKey(target);
    const hardened = hardenedContainers.get(`${list}\0${name}`);
    const was = identity(before, container);
    const now = identity(after, hardened);
    const own = changes.filter(
      (c) => c.target.kind === 'container' && c.target.list === list && c.target.name === name,
    );
    const userChanged = was.user !== now.user && now.user !== undefined;
    const nonRootNow = now.root === 'no';

    if (userChanged && was.root === 'yes') {
      risks.push(
        risk(
          'runsAsRoot',
          key,
          `runs as root today (runAsUser 0); once hardened it runs as ${userText(now)} without capabilities: writing root-owned paths of the image, chown, changing user and binding ports below 1024 fail. Fix: an image that runs as a non-root user`,
          { root: 'yes' },
        ),
      );
    } else if (userChanged && was.root === 'unknown') {
      risks.push(
        risk(
          'runsAsRoot',
          key,
          `no runAsUser: the image's USER decides (root, unless the image names another user; the API cannot tell); once hardened it runs as ${userText(now)} without capabilities, so anything that needs root fails. Fix: set runAsUser to the image's non-root UID, which is kept`,
          { root: 'unknown' },
        ),
      );
    } else if (userChanged && was.user === undefined) {
      risks.push(
        risk(
          'imageUserReplaced',
          key,
          `no runAsUser but runAsNonRoot: the image's own non-root USER runs today: once hardened, ${userText(now)} replaces it, and files the image gave its user may not be writable. Fix: set runAsUser to the image's UID, which is kept`,
        ),
      );
    }

    const removed = own
      .filter((c) => c.rule === 'capabilities.add')
      .flatMap((c) => c.removed ?? []);
    if (removed.length > 0) {
      risks.push(
        risk(
          'capabilitiesLost',
          key,
          `loses ${removed.join(', ')} (capabilities.add, not allowlisted): what needs ${removed.length === 1 ? 'it' : 'them'} fails with "operation not permitted". Fix: annotation capabilities.pod-hardener.io/${name}: "${removed.join(',')}" (within the operator's capabilityCeiling)`,
          { capabilities: removed },
        ),
      );
    }

    const unprivileged = own.some((c) => c.rule === 'privileged');
    if (unprivileged) {
      risks.push(
        risk(
          'privileged',
          key,
          'privileged: true becomes false: access to host devices, mounts, iptables and kernel settings that privileged mode gives fails. A container that needs it cannot be hardened: exempt it (exceptions.exemptContainers) or skip the pod',
        ),
      );
    }

    for (const port of lowPorts(container)) {
      const couldBind = was.root !== 'no' || sysctlAllows(before, port);
      const hostNetwork = after.spec?.hostNetwork === true;
      const canBind = !nonRootNow || (!hostNetwork && sysctlAllows(after, port));
      if (!couldBind || canBind) continue;
      const why = hostNetwork
        ? `with hostNetwork the node's ${PORT_SYSCTL} decides (1024 unless changed)`
        : `unless the pod sets sysctl ${PORT_SYSCTL} to ${port} or less`;
      risks.push(
        risk(
          'lowPort',
          key,
          `declares containerPort ${port}: running as ${userText(now)}, it may not bind a port below 1024 ${why}. Fix: listen on a port of 1024 or more${hostNetwork ? '' : `, or set that sysctl in the pod's securityContext`}`,
          { port },
        ),
      );
    }

    if (userChanged) {
      for (const volume of mountedVolumes(container)) {
        const path = paths.get(volume);
        if (path === undefined) continue;
        risks.push(
          risk(
            'hostPath',
            key,
            `mounts hostPath ${path} (volume ${volume}): files on the node usually belong to root, and fsGroup does not apply to hostPath; as ${userText(now)} it may not read or write them`,
            { volume, path },
          ),
        );
      }
    }

    if (userChanged || removed.length > 0 || unprivileged) {
      anyAffected = true;
      userAfterAny ??= now;
    }
  }

  const used = HOST_NAMESPACES.filter((k) => before.spec?.[k] === true);
  if (used.length > 0 && anyAffected) {
    risks.unshift(
      risk(
        'hostNamespace',
        'pod',
        `uses ${used.join(', ')}: typical of node agents (networking, logging, monitoring) that need root or capabilities on the node: once hardened, its containers run as ${userText(userAfterAny!)} without them`,
        { hostNamespaces: [...used] },
      ),
    );
  }
  return risks;
}
