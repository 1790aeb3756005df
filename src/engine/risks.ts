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
 *
 * The reason and the fix are kept apart because the API server cuts every warning to 256
 * characters once a response's warnings pass 4 KiB (other admission steps add theirs): as two
 * warnings, each short, the fix reaches the person who applied the pod whatever else was said.
 * A fix names only what works where the pod is: the skip annotation where the operator lets
 * this namespace skip, else the operator's exemption; an allowlist only within the ceiling.
 */
import { Annotations } from '../names';
import { normalizeCapability } from './capabilities';
import { IMAGE_USER } from './context';
import { targetKey } from './describe';
import { eachContainer } from './pod';
import { isJsonObject as isObject } from './json';
import type { Policy } from './policy';
import type { Change, Container, ContainerTarget, Pod, SecurityContext, Target } from './types';

export type RiskKind =
  | 'runsAsRoot'
  | 'imageUserReplaced'
  | 'groupReplaced'
  | 'lowPort'
  | 'capabilitiesLost'
  | 'privileged'
  | 'hostNamespace'
  | 'hostPath';

export interface RiskEntry {
  kind: RiskKind;
  target: string;
  /** Why it may stop working. */
  reason: string;
  /** The change that keeps it running, as the pod's author or the operator would make it. */
  fix: string;
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
  fix: string,
  extra: Partial<RiskEntry> = {},
): TargetedRisk {
  return {
    target,
    risk: {
      kind,
      target: targetKey(target),
      reason,
      fix,
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
  /** The run group as the API shows it; undefined: the image's, for that user. */
  group: number | undefined;
  root: 'yes' | 'unknown' | 'no';
}

/** The effective user of a container as the kubelet would start it, from what the API shows. */
function identity(pod: Pod, container: Container | undefined): Identity {
  const podSc: SecurityContext = pod.spec?.securityContext ?? {};
  const sc: SecurityContext = container?.securityContext ?? {};
  const user = uid(sc.runAsUser) ?? uid(podSc.runAsUser);
  const group = uid(sc.runAsGroup) ?? uid(podSc.runAsGroup);
  const nonRoot = (sc.runAsNonRoot ?? podSc.runAsNonRoot) === true;
  if (user === 0) return { user, group, root: 'yes' };
  if (user === undefined && !nonRoot) return { user, group, root: 'unknown' };
  return { user, group, root: 'no' };
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
const pronoun = (n: number) => (n === 1 ? 'it' : 'them');

/** Where the pod is reviewed: what the operator allows there decides which fix can work. */
export interface RiskScope {
  policy: Policy;
  namespace: string;
}

/**
 * How a container is left unhardened where the pod is: by its author where the operator lets
 * the namespace skip (`skipAllowed`, asked once per review), else by the operator. Warnings are
 * cut at 250 characters, so the fixes name annotations by their keys alone.
 */
function leaveUnhardened(skipAllowed: boolean, name: string): string {
  return skipAllowed
    ? `${Annotations.skipContainers}: "${name}"`
    : 'an operator exemption (exceptions.exemptContainers)';
}

/** The container's own allowlist annotation, with the capabilities it would list when known. */
const allowlist = (name: string, capabilities?: readonly string[]) =>
  `${Annotations.containerCapabilitiesPrefix}${name}${capabilities ? `: "${capabilities.join(',')}"` : ''}`;

/**
 * The risks of hardening `before` into `after` (the engine's result for it), `changes` being the
 * engine's change list for that result, in the namespace and under the policy of `scope`.
 */
export function risksOf(
  before: Pod,
  after: Pod,
  changes: readonly Change[],
  scope: RiskScope,
): TargetedRisk[] {
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
  const skipAllowed = scope.policy.skipAllowedIn(scope.namespace);

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
    const unhardened = leaveUnhardened(skipAllowed, name);

    if (userChanged && was.root === 'yes') {
      risks.push(
        risk(
          'runsAsRoot',
          target,
          `runs as root today (runAsUser 0); hardened, it runs as ${userText(now)} with no capabilities: chown, su, ports below 1024 and writes to root-owned files fail`,
          `a non-root runAsUser the image works with; an emptyDir where it writes; needs root, so unhardened: ${unhardened}`,
          { root: 'yes' },
        ),
      );
    } else if (userChanged && was.root === 'unknown') {
      risks.push(
        risk(
          'runsAsRoot',
          target,
          `no runAsUser: the image's USER runs today, root unless the image names another (the API cannot tell); hardened, it runs as ${userText(now)} with no capabilities`,
          `runAsUser = the image's UID if not 0; emptyDir where it writes; setcap binary: capabilities.add + ${allowlist(name)}; needs root: ${unhardened}`,
          { root: 'unknown' },
        ),
      );
    } else if (userChanged && was.user === undefined) {
      risks.push(
        risk(
          'imageUserReplaced',
          target,
          `no runAsUser but runAsNonRoot: the image's own non-root USER runs today; hardened, ${userText(now)} replaces it, and files the image gave its user may not be writable`,
          `runAsUser: the image's UID, which is kept (or image identity on, which reads it)`,
        ),
      );
    }

    // The user is kept (the pod's own, or its image's) but the group is new: today the runtime
    // gives the image's group for that user, and group 0 when the image has none for it (images
    // built for arbitrary UIDs make their files group-0 writable on purpose).
    const groupFromImage = own.some((c) => c.rule === 'runAsGroup' && c.because === IMAGE_USER);
    if (
      !userChanged &&
      nonRootNow &&
      was.group === undefined &&
      now.group !== undefined &&
      !groupFromImage
    ) {
      risks.push(
        risk(
          'groupReplaced',
          target,
          `no runAsGroup: ${userText(now)} runs in its image's group today (0 where the image has none for it); hardened, in GID ${now.group}: what only that group may write is not writable`,
          `runAsGroup: the image's group if not 0 (kept); an emptyDir where it writes`,
        ),
      );
    }

    const removed = own
      .filter((c) => c.rule === 'capabilities.add')
      .flatMap((c) => c.removed ?? []);
    if (removed.length > 0) {
      const shown = removed.slice(0, 10);
      const more =
        removed.length > shown.length ? ` and ${removed.length - shown.length} more` : '';
      const them = pronoun(removed.length);
      const above = removed.filter((c) => !scope.policy.ceilingAllows(normalizeCapability(c)));
      // A binary that carries the capability as a file capability (setcap) cannot even be
      // executed once it is outside the bounding set, whatever the non-root UID. A process that
      // used it as root gets nothing back from an allowlist: as a non-root UID its effective set
      // is empty, and the bounding set only serves file capabilities.
      const fileCaps = nonRootNow
        ? `; as ${userText(now)}, a setcap binary that carries ${them} no longer even starts`
        : '';
      const fix =
        above.length > 0
          ? `above the operator's capabilityCeiling, no allowlist keeps ${above.slice(0, 10).join(', ')}: run it unhardened: ${unhardened}`
          : was.root !== 'no' && nonRootNow
            ? `a setcap binary: ${allowlist(name, shown)}; needs ${them} as root, so unhardened: ${unhardened}`
            : allowlist(name, shown);
      risks.push(
        risk(
          'capabilitiesLost',
          target,
          `loses ${shown.join(', ')}${more} (capabilities.add, not allowlisted): what needs ${them} fails ("operation not permitted")${fileCaps}`,
          fix,
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
          'privileged: true becomes false: host devices, mounts, iptables and the kernel settings privileged mode reaches are out of reach',
          `a container that needs privileged mode cannot be hardened: run it unhardened: ${unhardened}`,
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
          `declares containerPort ${port}: as ${userText(now)} it may not bind a port below 1024 ${why}`,
          hostNetwork
            ? 'listen on a port of 1024 or more'
            : `listen on a port of 1024 or more, or set sysctl ${PORT_SYSCTL}: "${port}" in the pod's securityContext`,
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
            `files under ${path} on the node that ${userText(now)} may use; else run it unhardened: ${unhardened}`,
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
        `uses ${used.join(', ')}: typical of node agents (networking, logging, monitoring) that need root or capabilities on the node; hardened, its containers run as ${userText(userAfterAny!)} without them`,
        skipAllowed
          ? `a node agent that needs them runs unhardened: ${Annotations.skip}: "true"`
          : 'a node agent that needs them runs unhardened: an operator exemption (exceptions.exemptContainers) for its containers',
        { hostNamespaces: [...used] },
      ),
    );
  }
  return risks;
}
