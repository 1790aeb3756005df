import { normalizeCapability } from '../capabilities';
import { effective, type HardenTarget, type Rule, type RuleContext } from '../context';
import { targetShort, valueText } from '../describe';
import { isJsonObject } from '../json';
import type { Json } from '../types';

export const UNPRIVILEGED_PORT_SYSCTL = 'net.ipv4.ip_unprivileged_port_start';
const NET_BIND_SERVICE = 'NET_BIND_SERVICE';

/**
 * Sysctl names may be written with slashes (`net/ipv4/ip_unprivileged_port_start`); the kubelet
 * reads a name whose first separator is `/` with `/` and `.` swapped, so both spellings are the
 * same sysctl and the API server would accept the pod with both (it compares names literally).
 */
function sysctlName(name: string): string {
  const slash = name.indexOf('/');
  const dot = name.indexOf('.');
  if (slash < 0 || (dot >= 0 && dot < slash)) return name;
  return name.replace(/[./]/g, (c) => (c === '/' ? '.' : '/'));
}

/** The ports below 1024 a container declares, lowest first. */
function lowPorts(ports: Json | undefined): number[] {
  if (!Array.isArray(ports)) return [];
  const out = new Set<number>();
  for (const p of ports) {
    const port = isJsonObject(p) ? p.containerPort : undefined;
    if (typeof port === 'number' && Number.isInteger(port) && port > 0 && port < 1024)
      out.add(port);
  }
  return [...out].sort((a, b) => a - b);
}

/** True when NET_BIND_SERVICE is still in capabilities.add: after capabilities.ts, only by allowlist. */
function keepsNetBindService(t: HardenTarget): boolean {
  const add = t.container.securityContext?.capabilities?.add;
  return (
    Array.isArray(add) && add.some((c) => normalizeCapability(c as string) === NET_BIND_SERVICE)
  );
}

/** Why the sysctl is not added to a pod that needs it; undefined when it is. */
function whyNot(
  ctx: RuleContext,
  existing: { value: Json | undefined } | undefined,
): string | undefined {
  if (existing) return `the pod sets it itself (${JSON.stringify(existing.value ?? '')}), kept`;
  if (ctx.policy.settings.unprivilegedPorts === 'never')
    return 'not added: hardening.unprivilegedPorts is "never"';
  // The API server refuses net.* sysctls beside hostNetwork: the pod shares the node's network
  // namespace, whose own value applies.
  if (ctx.pod.spec!.hostNetwork === true)
    return "not added: the pod uses hostNetwork, where the node's own value applies";
  if (!ctx.podLevelMutable)
    return 'not added: the pod level cannot change on pods/ephemeralcontainers';
  return undefined;
}

/**
 * Ports: the pod sysctl net.ipv4.ip_unprivileged_port_start=0 when a container hardened here
 * keeps NET_BIND_SERVICE by allowlist or declares a containerPort below 1024. Such a container
 * now runs as a non-root UID, and a non-root process has no effective capabilities in
 * Kubernetes: without the sysctl it can no longer bind port 80, allowlist or not (measured on
 * containerd and runc: CapEff 0, bind fails; with the sysctl, bind works). The sysctl is scoped
 * to the pod's network namespace, a "safe" sysctl of the kubelet since 1.22 and allowed by Pod
 * Security restricted. Never beside hostNetwork (the API server refuses it), never over a value
 * the pod sets (the pod's own choice, whatever it is), never where the pod level may not change.
 * Runs after capabilities.ts, so only allowlisted NET_BIND_SERVICE entries are left to count.
 */
export const unprivilegedPorts: Rule = (ctx) => {
  const needs: string[] = [];
  const portsOf = new Map<HardenTarget, number[]>();
  const withCapability = new Set<HardenTarget>();
  for (const t of ctx.targets) {
    const ports = lowPorts(t.container.ports);
    if (ports.length > 0) portsOf.set(t, ports);
    for (const port of ports) needs.push(`${targetShort(t.ref)}:${port}`);
    if (keepsNetBindService(t)) {
      withCapability.add(t);
      needs.push(`${targetShort(t.ref)}:${NET_BIND_SERVICE}`);
    }
  }
  if (needs.length === 0) return;

  const sysctls = ctx.podSecurityContext()?.sysctls;
  const list = Array.isArray(sysctls) ? sysctls : [];
  const found = list.find(
    (s) =>
      isJsonObject(s) &&
      typeof s.name === 'string' &&
      sysctlName(s.name) === UNPRIVILEGED_PORT_SYSCTL,
  );
  const existing = found === undefined ? undefined : { value: (found as { value?: Json }).value };
  const why = whyNot(ctx, existing);

  if (why === undefined) {
    const to = [...list, { name: UNPRIVILEGED_PORT_SYSCTL, value: '0' }];
    ctx.writablePodSecurityContext().sysctls = to;
    ctx.changes.push({
      rule: 'unprivilegedPorts',
      target: { kind: 'pod' },
      field: 'securityContext.sysctls',
      from: Array.isArray(sysctls) ? sysctls : undefined,
      to,
      because: needs.join(','),
    });
  }

  const outcome = why ?? 'added by pod-hardener';
  for (const t of withCapability) {
    ctx.notices.push({
      kind: 'unprivilegedPorts',
      target: t.ref,
      message: `for ports below 1024, the pod sysctl ${UNPRIVILEGED_PORT_SYSCTL}=0 takes the place of ${NET_BIND_SERVICE}: ${outcome}`,
    });
  }
  // A port that may no longer bind is said once per container, where the sysctl is not added
  // or the pod's own value does not reach down to it.
  for (const [t, ports] of portsOf) {
    if (withCapability.has(t)) continue;
    // Sysctl values are strings in the API; anything else (even an object Number() cannot
    // convert) says nothing about the port.
    const start = typeof existing?.value === 'string' ? Number(existing.value) : undefined;
    if (why === undefined || (start !== undefined && Number.isInteger(start) && start <= ports[0]))
      continue;
    const uid = effective(ctx, t.container, 'runAsUser');
    ctx.notices.push({
      kind: 'unprivilegedPorts',
      target: t.ref,
      message: `declares port ${ports.join(',')} and runs as UID ${valueText(uid)}: it binds only where ${UNPRIVILEGED_PORT_SYSCTL} <= ${ports[0]}; ${why}`,
    });
  }
};
