/**
 * The pod validation of kube-apiserver that a hardening patch can trip
 * (pkg/apis/core/validation/validation.go: Windows pods, privileged or SYS_ADMIN with no
 * privilege escalation). Returns the violations.
 */
const WINDOWS_FORBIDDEN_POD = ['seLinuxOptions', 'seccompProfile', 'appArmorProfile', 'fsGroup', 'fsGroupChangePolicy', 'sysctls', 'runAsUser', 'runAsGroup', 'supplementalGroups', 'supplementalGroupsPolicy', 'seLinuxChangePolicy'];
const WINDOWS_FORBIDDEN_CONTAINER = ['seLinuxOptions', 'seccompProfile', 'appArmorProfile', 'capabilities', 'readOnlyRootFilesystem', 'privileged', 'allowPrivilegeEscalation', 'procMount', 'runAsUser', 'runAsGroup'];

export function containersOf(pod: any): any[] {
  return [...(pod.spec.initContainers ?? []), ...(pod.spec.containers ?? []), ...(pod.spec.ephemeralContainers ?? [])];
}

export function apiServerViolations(pod: any): string[] {
  const out: string[] = [];
  const windows = pod.spec?.os?.name === 'windows';
  for (const c of containersOf(pod)) {
    const sc = c.securityContext;
    if (!sc) continue;
    if (sc.allowPrivilegeEscalation === false && sc.privileged === true) out.push(`${c.name}: allowPrivilegeEscalation false with privileged`);
    if (sc.allowPrivilegeEscalation === false && Array.isArray(sc.capabilities?.add) && sc.capabilities.add.includes('CAP_SYS_ADMIN')) {
      out.push(`${c.name}: allowPrivilegeEscalation false with CAP_SYS_ADMIN`);
    }
    if (windows) for (const f of WINDOWS_FORBIDDEN_CONTAINER) if (sc[f] != null) out.push(`${c.name}: ${f} on a Windows pod`);
  }
  if (windows && pod.spec.securityContext) {
    for (const f of WINDOWS_FORBIDDEN_POD) if (pod.spec.securityContext[f] != null) out.push(`pod: ${f} on a Windows pod`);
  }
  return out;
}
