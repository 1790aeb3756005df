/**
 * What may stop working when a pod is hardened, each with its reason and the one change that
 * fixes it: the one source of these notes for the webhook's warnings, `kubectl harden` and
 * `scan` (hardenPod returns them). Every risk is a difference
 * between the pod as it is and the pod the engine returns (identity, capabilities, privileged
 * mode) met with what the pod does that needs the old value (ports below 1024, host namespaces,
 * hostPath volumes). A container whose effective settings do not change gets none, so exempt and
 * skipped containers, and pods already hardened, never show a risk.
 *
 * Only what the API shows can be judged: an image's USER is invisible to it, so a container
 * without runAsUser is reported as "unknown" rather than root or not.
 */
import { IMAGE_USER } from './context';
import { targetKey } from './describe';
import { eachContainer } from './pod';
import { isJsonObject as isObject } from './json';
import type { Change, Container, ContainerTarget, Pod, SecurityContext, Target } from './types';

export type RiskKind =
  | 'runsAsRoot'
  | 'imageUserReplaced'
  | 'lowPort'
  | 'capabilitiesLost'
  | 'privileged'
  | 'hostNamespace'
  | 'hostPath';

export interface RiskEntry {
  kind: RiskKind;
  target: string;
  /** Why it may stop working, and what fixes it. */
  reason: string;
  /** lowPort: the declared containerPort; else null. */
  port: number | null;
  /** capabilitiesLost: what is removed from capabilities.add; else []. */
  capabilities: string[];
  /** hostNamespace: hostNetwork, hostPID, hostIPC as used; else []. */
  hostNamespaces: string[];
  /** hostPath: the volume and its path on the node; else null. */
  volume: string | null;
  path: string | null;
  /** runsAsRoot: "yes" (the API says UID 0) or "unknown" (no runAsUser: the image's USER decides); else null. */
  root: 'yes' | 'unknown' | null;
}

const PORT_SYSCTL = 'net.ipv4.ip_unprivileged_port_start';
const PRIVILEGED_PORTS = 1024;
const HOST_NAMESPACES = ['hostNetwork', 'hostPID', 'hostIPC'] as const;

/** A risk and the target it concerns, as notices name targets. */
export interface TargetedRisk {
  risk: RiskEntry;
  target: Target;
}

function risk(
  kind: RiskKind,
  target: Target,
  reason: string,
  extra: Partial<RiskEntry> = {},
): TargetedRisk {
  return {
    target,
    risk: {
      kind,
      target: targetKey(target),
      reason,
      port: null,
      capabilities: [],
      hostNamespaces: [],
      volume: null,
      path: null,
      root: null,
      ...extra,
    },
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
export function risksOf(before: Pod, after: Pod, changes: readonly Change[]): TargetedRisk[] {
  const risks: TargetedRisk[] = [];
  const hardenedContainers = new Map<string, Container>();
  for (const { list, container } of eachContainer(after))
    hardenedContainers.set(`${list}\0${container.name as string}`, container);
  const paths = hostPaths(before);
  // Each container's changes, grouped once: filtering the whole list per container would cost
  // containers x changes, both as large as a hostile pod makes them.
  const byContainer = new Map<string, Change[]>();
  for (const c of changes) {
    if (c.target.kind !== 'container') continue;
    const key = `${c.target.list}\0${c.target.name}`;
    const list = byContainer.get(key);
    if (list) list.push(c);
    else byContainer.set(key, [c]);
  }
  let anyAffected = false;
  let userAfterAny: Identity | undefined;

  for (const { list, container } of eachContainer(before)) {
    const name = container.name as string;
    const target: ContainerTarget = { kind: 'container', list, name };
    const hardened = hardenedContainers.get(`${list}\0${name}`);
    const was = identity(before, container);
    const now = identity(after, hardened);
    const own = byContainer.get(`${list}\0${name}`) ?? [];
    // A run user read from the image's own config (image identity) is the user it ran as already.
    const fromImage = own.some((c) => c.rule === 'runAsUser' && c.because === IMAGE_USER);
    const userChanged = was.user !== now.user && now.user !== undefined && !fromImage;
    const nonRootNow = now.root === 'no';

    if (userChanged && was.root === 'yes') {
      risks.push(
        risk(
          'runsAsRoot',
          target,
          `runs as root today (runAsUser 0); once hardened it runs as ${userText(now)} without capabilities: writing root-owned paths of the image, chown, changing user and binding ports below 1024 fail. Fix: an image that runs as a non-root user`,
          { root: 'yes' },
        ),
      );
    } else if (userChanged && was.root === 'unknown') {
      risks.push(
        risk(
          'runsAsRoot',
          target,
          `no runAsUser: the image's USER decides (root, unless the image names another user; the API cannot tell); once hardened it runs as ${userText(now)} without capabilities, so anything that needs root fails. Fix: set runAsUser to the image's non-root UID, which is kept`,
          { root: 'unknown' },
        ),
      );
    } else if (userChanged && was.user === undefined) {
      risks.push(
        risk(
          'imageUserReplaced',
          target,
          `no runAsUser but runAsNonRoot: the image's own non-root USER runs today: once hardened, ${userText(now)} replaces it, and files the image gave its user may not be writable. Fix: set runAsUser to the image's UID, which is kept`,
        ),
      );
    }

    const removed = own
      .filter((c) => c.rule === 'capabilities.add')
      .flatMap((c) => c.removed ?? []);
    if (removed.length > 0) {
      const shown = removed.slice(0, 10);
      // A binary that carries the capability as a file capability (setcap) cannot even be
      // executed once it is outside the bounding set, whatever the non-root UID.
      const fileCaps =
        now.root === 'no'
          ? `; running as ${userText(now)}, a binary that carries ${removed.length === 1 ? 'it' : 'one of them'} as a file capability (setcap) no longer even starts ("operation not permitted" at exec)`
          : '';
      risks.push(
        risk(
          'capabilitiesLost',
          target,
          `loses ${shown.join(', ')}${removed.length > shown.length ? ` and ${removed.length - shown.length} more` : ''} (capabilities.add, not allowlisted): what needs ${removed.length === 1 ? 'it' : 'them'} fails with "operation not permitted"${fileCaps}. Fix: annotation capabilities.pod-hardener.io/${name}: "${shown.join(',')}" (within the operator's capabilityCeiling)`,
          { capabilities: removed },
        ),
      );
    }

    const unprivileged = own.some((c) => c.rule === 'privileged');
    if (unprivileged) {
      risks.push(
        risk(
          'privileged',
          target,
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
          target,
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
            target,
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
        { kind: 'pod' },
        `uses ${used.join(', ')}: typical of node agents (networking, logging, monitoring) that need root or capabilities on the node: once hardened, its containers run as ${userText(userAfterAny!)} without them`,
        { hostNamespaces: [...used] },
      ),
    );
  }
  return risks;
}
