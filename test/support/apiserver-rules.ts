/**
 * The pod validation of kube-apiserver that a hardening patch can trip
 * (pkg/apis/core/validation/validation.go of Kubernetes 1.36). Returns the violations.
 */
const WINDOWS_FORBIDDEN_POD = [
  'seLinuxOptions',
  'seccompProfile',
  'appArmorProfile',
  'fsGroup',
  'fsGroupChangePolicy',
  'sysctls',
  'runAsUser',
  'runAsGroup',
  'supplementalGroups',
  'supplementalGroupsPolicy',
  'seLinuxChangePolicy',
];
const WINDOWS_FORBIDDEN_CONTAINER = [
  'seLinuxOptions',
  'seccompProfile',
  'appArmorProfile',
  'capabilities',
  'readOnlyRootFilesystem',
  'privileged',
  'allowPrivilegeEscalation',
  'procMount',
  'runAsUser',
  'runAsGroup',
];

export function containersOf(pod: any): any[] {
  return [
    ...(pod.spec.initContainers ?? []),
    ...(pod.spec.containers ?? []),
    ...(pod.spec.ephemeralContainers ?? []),
  ];
}

export function apiServerViolations(pod: any): string[] {
  const out: string[] = [];
  const windows = pod.spec?.os?.name === 'windows';
  for (const c of containersOf(pod)) {
    const sc = c.securityContext;
    if (!sc) continue;
    if (sc.allowPrivilegeEscalation === false && sc.privileged === true)
      out.push(`${c.name}: allowPrivilegeEscalation false with privileged`);
    if (
      sc.allowPrivilegeEscalation === false &&
      Array.isArray(sc.capabilities?.add) &&
      sc.capabilities.add.includes('CAP_SYS_ADMIN')
    ) {
      out.push(`${c.name}: allowPrivilegeEscalation false with CAP_SYS_ADMIN`);
    }
    if (windows)
      for (const f of WINDOWS_FORBIDDEN_CONTAINER)
        if (sc[f] != null) out.push(`${c.name}: ${f} on a Windows pod`);
  }
  if (windows && pod.spec.securityContext) {
    for (const f of WINDOWS_FORBIDDEN_POD)
      if (pod.spec.securityContext[f] != null) out.push(`pod: ${f} on a Windows pod`);
  }
  if (windows) {
    if (pod.spec.hostUsers != null) out.push('pod: hostUsers on a Windows pod');
    for (const f of ['hostPID', 'hostIPC', 'shareProcessNamespace'])
      if (pod.spec[f] === true) out.push(`pod: ${f} on a Windows pod`);
  }
  out.push(...sysctlViolations(pod), ...hostUsersViolations(pod));
  return out;
}

// validateSysctls: names as SysctlContainSlashFmt, at most 253 characters, no name twice
// (compared literally), and no sysctl of a namespace the pod shares with the host
// (ValidateHostSysctl, with component-helpers' sysctl.GetNamespace).
const SYSCTL_SEGMENT = '[a-z0-9]([-_a-z0-9]*[a-z0-9])?';
const SYSCTL_NAME = new RegExp(`^(${SYSCTL_SEGMENT}[./])*${SYSCTL_SEGMENT}$`);
const IPC_SYSCTLS = [
  'kernel.sem',
  'kernel.shmall',
  'kernel.shmmax',
  'kernel.shmmni',
  'kernel.shm_rmid_forced',
  'kernel.shm',
  'kernel.msgmax',
  'kernel.msgmnb',
  'kernel.msgmni',
  'kernel.msg',
];

function normalizeSysctl(name: string): string {
  const first = name.search(/[./]/);
  if (first < 0 || name[first] === '.') return name;
  return name.replace(/[./]/g, (c) => (c === '.' ? '/' : '.'));
}

function sysctlNamespace(name: string): 'net' | 'ipc' | undefined {
  const n = normalizeSysctl(name).split('*')[0];
  if (IPC_SYSCTLS.includes(n) || n.startsWith('fs.mqueue.')) return 'ipc';
  if (n.startsWith('net.')) return 'net';
  return undefined;
}

function sysctlViolations(pod: any): string[] {
  const sysctls = pod.spec?.securityContext?.sysctls;
  if (!Array.isArray(sysctls)) return [];
  const out: string[] = [];
  const seen = new Set<string>();
  for (const s of sysctls) {
    const name: string = s?.name ?? '';
    if (name === '') out.push('pod: sysctl without a name');
    else if (name.length > 253 || !SYSCTL_NAME.test(name))
      out.push(`pod: sysctl name ${name} invalid`);
    else if (seen.has(name)) out.push(`pod: sysctl ${name} duplicated`);
    seen.add(name);
    const ns = sysctlNamespace(name);
    if (ns === 'net' && pod.spec.hostNetwork === true)
      out.push(`pod: sysctl ${name} with hostNetwork`);
    if (ns === 'ipc' && pod.spec.hostIPC === true) out.push(`pod: sysctl ${name} with hostIPC`);
  }
  return out;
}

// validateHostUsers: hostUsers false with a host namespace or a raw block device.
function hostUsersViolations(pod: any): string[] {
  if (pod.spec?.hostUsers !== false) return [];
  const out: string[] = [];
  for (const f of ['hostNetwork', 'hostPID', 'hostIPC'])
    if (pod.spec[f] === true) out.push(`pod: ${f} with hostUsers false`);
  for (const c of containersOf(pod))
    if (Array.isArray(c.volumeDevices) && c.volumeDevices.length > 0)
      out.push(`${c.name}: volumeDevices with hostUsers false`);
  return out;
}
