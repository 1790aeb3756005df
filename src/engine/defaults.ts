import type { PolicySettings } from './policy';

/**
 * The secure defaults of pod-hardener, with the reason for each. Pinned by
 * test/unit/engine/defaults.test.ts: changing one is a product decision, not a refactor.
 */
export const DEFAULT_POLICY: PolicySettings = Object.freeze({
  // Layer 1 of the seed document: a plain user. 1000 is the first UID most distributions give a
  // human user; it owns nothing on the host.
  runAsUser: 1000,
  // A group distinct from the user and from common system groups (0-999), as in the seed document.
  runAsGroup: 3000,
  // Makes the kubelet refuse to start a container that would still run as UID 0. Safe to force
  // because the engine also sets a numeric runAsUser: images whose USER is a name (`nginx`) would
  // otherwise fail to start, since the kubelet cannot verify a name.
  runAsNonRoot: true,
  // Without it, a process moved off root can no longer write the volumes it owned (PVC
  // permission denied); OnRootMismatch keeps large volumes from being chowned on every start.
  fsGroup: true,
  // The container runtime's default seccomp profile blocks ~50 rarely used, dangerous syscalls
  // and is what Pod Security "restricted" requires.
  seccompProfile: true,
  // A process moved off root can no longer bind port 80, and a capability kept in
  // capabilities.add does not help it: Kubernetes has no ambient capabilities, so a non-root
  // process gets none in its effective set. The pod sysctl net.ipv4.ip_unprivileged_port_start=0
  // does (a "safe" sysctl since Kubernetes 1.22, allowed by Pod Security restricted, scoped to
  // the pod's own network namespace), so it is added where a hardened container needs it.
  unprivilegedPorts: 'auto',
  // User namespaces need every node's runtime to support them (containerd >= 2.0 or CRI-O >=
  // 1.25, runc >= 1.2 or crun >= 1.9, Linux >= 6.3); a node without that refuses the pod
  // ("runtime does not support user namespaces"). Only the operator knows the nodes.
  userNamespaces: 'off',
  // The most an annotation may keep in capabilities.add: the capabilities a container runtime
  // grants by default anyway (containerd/Docker), so an annotation can never give a container
  // more than an unhardened default container had. NET_ADMIN, SYS_ADMIN, SYS_PTRACE and the like
  // need the operator to raise the ceiling in the configuration.
  capabilityCeiling: Object.freeze([
    'AUDIT_WRITE', 'CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID', 'KILL', 'MKNOD',
    'NET_BIND_SERVICE', 'NET_RAW', 'SETFCAP', 'SETGID', 'SETPCAP', 'SETUID', 'SYS_CHROOT',
  ]) as string[],
  // Skip annotations are honoured in every opted-in namespace, as the product contract promises
  // pod authors; operators who want exceptions only in some namespaces narrow this list.
  skipNamespaces: Object.freeze(['*']) as string[],
  // No container is exempt by default: an exemption by name alone could be claimed by any pod.
  // Service-mesh init containers are exempted by name *and* image in the configuration.
  exemptContainers: Object.freeze([]) as unknown as PolicySettings['exemptContainers'],
});
