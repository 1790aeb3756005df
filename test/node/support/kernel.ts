// What the kernel should show for a container, worked out from the stored pod alone (never by
// calling the engine, so a wrong rule cannot agree with a wrong expectation), and the parser of
// what it does show (/proc/<pid>/status).

export interface ProcStatus {
  uid: number;
  gid: number;
  groups: number[];
  capPrm: bigint;
  capEff: bigint;
  capBnd: bigint;
  noNewPrivs: number;
  seccomp: number;
}

export function parseProcStatus(text: string): ProcStatus {
  const field = (name: string): string => {
    const m = new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(text);
    if (!m) throw new Error(`no ${name} line in /proc status:\n${text}`);
    return m[1].trim();
  };
  return {
    uid: Number(field('Uid').split(/\s+/)[1]), // effective
    gid: Number(field('Gid').split(/\s+/)[1]),
    groups:
      field('Groups') === ''
        ? []
        : field('Groups')
            .split(/\s+/)
            .map(Number)
            .sort((a, b) => a - b),
    capPrm: BigInt(`0x${field('CapPrm')}`),
    capEff: BigInt(`0x${field('CapEff')}`),
    capBnd: BigInt(`0x${field('CapBnd')}`),
    noNewPrivs: Number(field('NoNewPrivs')),
    seccomp: Number(field('Seccomp')),
  };
}

// Linux capability numbers (include/uapi/linux/capability.h).
export const CAPABILITY_BITS: Readonly<Record<string, number>> = {
  CHOWN: 0,
  DAC_OVERRIDE: 1,
  DAC_READ_SEARCH: 2,
  FOWNER: 3,
  FSETID: 4,
  KILL: 5,
  SETGID: 6,
  SETUID: 7,
  SETPCAP: 8,
  LINUX_IMMUTABLE: 9,
  NET_BIND_SERVICE: 10,
  NET_BROADCAST: 11,
  NET_ADMIN: 12,
  NET_RAW: 13,
  IPC_LOCK: 14,
  IPC_OWNER: 15,
  SYS_MODULE: 16,
  SYS_RAWIO: 17,
  SYS_CHROOT: 18,
  SYS_PTRACE: 19,
  SYS_PACCT: 20,
  SYS_ADMIN: 21,
  SYS_BOOT: 22,
  SYS_NICE: 23,
  SYS_RESOURCE: 24,
  SYS_TIME: 25,
  SYS_TTY_CONFIG: 26,
  MKNOD: 27,
  LEASE: 28,
  AUDIT_WRITE: 29,
  AUDIT_CONTROL: 30,
  SETFCAP: 31,
  MAC_OVERRIDE: 32,
  MAC_ADMIN: 33,
  SYSLOG: 34,
  WAKE_ALARM: 35,
  BLOCK_SUSPEND: 36,
  AUDIT_READ: 37,
  PERFMON: 38,
  BPF: 39,
  CHECKPOINT_RESTORE: 40,
};

// The set containerd gives a container that asks for nothing (its oci.DefaultCaps, the same
// list Docker uses).
export const RUNTIME_DEFAULT_CAPS = [
  'CHOWN',
  'DAC_OVERRIDE',
  'FSETID',
  'FOWNER',
  'MKNOD',
  'NET_RAW',
  'SETGID',
  'SETUID',
  'SETFCAP',
  'SETPCAP',
  'NET_BIND_SERVICE',
  'SYS_CHROOT',
  'KILL',
  'AUDIT_WRITE',
];

export function capMask(names: readonly string[]): bigint {
  let m = 0n;
  for (const n of names) {
    const bit = CAPABILITY_BITS[normaliseCap(n)];
    if (bit === undefined) throw new Error(`unknown capability ${n}`);
    m |= 1n << BigInt(bit);
  }
  return m;
}

function normaliseCap(name: string): string {
  return name.toUpperCase().replace(/^CAP_/, '');
}

/** The users of the probe image's /etc/passwd: UID -> primary GID. */
export const PROBE_IMAGE_USERS: Readonly<Record<number, number>> = {
  0: 0,
  1000: 3000,
  65532: 65532,
  65534: 65534,
};

export interface ExpectOptions {
  /** The UID the image runs as when the pod sets none (USER of the image; 0 for the probe image). */
  imageUid?: number;
  /** The image's /etc/passwd, for the GID of a UID set without a group. */
  imageUsers?: Readonly<Record<number, number>>;
  /** The bounding set a privileged container gets: everything this node's runtime may grant. */
  hostBounding: bigint;
}

/** The kernel's view that the stored pod's security contexts imply for one of its containers. */
export function expectedStatus(pod: any, containerName: string, opts: ExpectOptions): ProcStatus {
  const spec = pod.spec ?? {};
  const all = [
    ...(spec.containers ?? []),
    ...(spec.initContainers ?? []),
    ...(spec.ephemeralContainers ?? []),
  ];
  const c = all.find((x: any) => x.name === containerName);
  if (!c) throw new Error(`pod has no container ${containerName}`);
  const sc = c.securityContext ?? {};
  const psc = spec.securityContext ?? {};
  const users = opts.imageUsers ?? PROBE_IMAGE_USERS;
  const privileged = sc.privileged === true;

  const uid: number = sc.runAsUser ?? psc.runAsUser ?? opts.imageUid ?? 0;
  // A UID without a GID gets the primary group of that user in the image (0 when unknown).
  const gid: number = sc.runAsGroup ?? psc.runAsGroup ?? users[uid] ?? 0;
  const groups = new Set<number>([gid]);
  if (psc.fsGroup !== undefined) groups.add(psc.fsGroup);
  for (const g of psc.supplementalGroups ?? []) groups.add(g);

  let bounding: bigint;
  if (privileged) {
    bounding = opts.hostBounding;
  } else {
    const drop: string[] = (sc.capabilities?.drop ?? []).map(normaliseCap);
    const add: string[] = (sc.capabilities?.add ?? []).map(normaliseCap);
    bounding = drop.includes('ALL') ? 0n : capMask(RUNTIME_DEFAULT_CAPS) & ~capMask(drop);
    bounding |= add.includes('ALL') ? opts.hostBounding : capMask(add);
    bounding &= opts.hostBounding;
  }
  // Kubernetes sets no ambient capabilities: a non-root process keeps none in its permitted and
  // effective sets; root has its whole bounding set there.
  const effective = uid === 0 ? bounding : 0n;

  const profile: string | undefined = sc.seccompProfile?.type ?? psc.seccompProfile?.type;
  const seccomp = !privileged && (profile === 'RuntimeDefault' || profile === 'Localhost') ? 2 : 0;

  return {
    uid,
    gid,
    groups: [...groups].sort((a, b) => a - b),
    capPrm: effective,
    capEff: effective,
    capBnd: bounding,
    noNewPrivs: sc.allowPrivilegeEscalation === false && !privileged ? 1 : 0,
    seccomp,
  };
}

/** One line of figures for the suite's output. */
export function describeStatus(s: ProcStatus): string {
  const hex = (v: bigint) => `0x${v.toString(16)}`;
  return `Uid ${s.uid} Gid ${s.gid} Groups [${s.groups.join(',')}] CapPrm ${hex(s.capPrm)} CapEff ${hex(s.capEff)} CapBnd ${hex(s.capBnd)} NoNewPrivs ${s.noNewPrivs} Seccomp ${s.seccomp}`;
}
