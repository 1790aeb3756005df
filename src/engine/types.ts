/**
 * Types of the hardening engine. The engine is pure: a pod and a policy in, the hardened pod and
 * the list of changes out. It never sees HTTP, files or the environment.
 *
 * Pods are typed loosely on purpose: the engine must accept every pod the API server can send
 * (and `null` where a field is optional), and must carry unknown and future fields through
 * untouched, so it only names the fields it reads or writes.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
// Unknown fields are kept as they are; `unknown` so that the typed fields below may be narrower.
export type JsonObject = { [key: string]: unknown };

export interface Capabilities extends JsonObject {
  add?: Json;
  drop?: Json;
}

/** The fields of a (container or pod) securityContext that the engine reads or writes. */
export interface SecurityContext extends JsonObject {
  runAsUser?: Json;
  runAsGroup?: Json;
  runAsNonRoot?: Json;
  seccompProfile?: Json;
  fsGroup?: Json;
  fsGroupChangePolicy?: Json;
  privileged?: Json;
  allowPrivilegeEscalation?: Json;
  capabilities?: Capabilities | null;
  sysctls?: Json;
  supplementalGroups?: Json;
  supplementalGroupsPolicy?: Json;
  appArmorProfile?: Json;
  seLinuxOptions?: Json;
  procMount?: Json;
}

export interface Container extends JsonObject {
  name?: Json;
  image?: Json;
  securityContext?: SecurityContext | null;
  ports?: Json;
  volumeDevices?: Json;
}

export interface PodSpec extends JsonObject {
  securityContext?: SecurityContext | null;
  containers?: Container[];
  initContainers?: Container[] | null;
  ephemeralContainers?: Container[] | null;
  volumes?: Json;
  os?: Json;
  hostNetwork?: Json;
  hostPID?: Json;
  hostIPC?: Json;
  hostUsers?: Json;
}

export interface ObjectMeta extends JsonObject {
  name?: Json;
  generateName?: Json;
  namespace?: Json;
  annotations?: { [key: string]: Json } | null;
}

export interface Pod extends JsonObject {
  metadata?: ObjectMeta;
  spec?: PodSpec;
}

/** The three container lists of a pod, named as in the PodSpec. */
export type ContainerList = 'containers' | 'initContainers' | 'ephemeralContainers';

export interface ContainerTarget {
  kind: 'container';
  list: ContainerList;
  name: string;
}
export type Target = { kind: 'pod' } | ContainerTarget;

/** The hardening rules (docs/hardening.md, "The rules"), one name each (also the metric label). */
export type RuleName =
  | 'runAsUser'
  | 'runAsGroup'
  | 'runAsNonRoot'
  | 'fsGroup'
  | 'privileged'
  | 'capabilities.drop'
  | 'capabilities.add'
  | 'allowPrivilegeEscalation'
  | 'seccompProfile'
  | 'unprivilegedPorts'
  | 'userNamespaces'
  | 'supplementalGroups'
  | 'supplementalGroupsPolicy'
  | 'appArmorProfile'
  | 'seLinuxOptions'
  | 'procMount';

/** One value the engine set, overrode or removed. Warnings, annotations, logs and metrics are views of these. */
export interface Change {
  rule: RuleName;
  target: Target;
  /** Field path below the target, e.g. `securityContext.runAsUser`. */
  field: string;
  /** The value before; `undefined` when the field was absent or null. */
  from?: Json;
  /** The value after; for `capabilities.add`, the removed entries are in `removed`. */
  to?: Json;
  removed?: string[];
  /** Why the value was set, where the value alone does not say (the sysctl: `web:80,app:NET_BIND_SERVICE`). */
  because?: string;
}

export type NoticeKind =
  | 'skipPod'
  | 'mirrorPod'
  | 'skipContainers'
  | 'exemptContainer'
  | 'capabilityAllowlist'
  | 'skipDenied'
  | 'capabilityAboveCeiling'
  | 'escalationNotForced'
  | 'privilegedKept'
  | 'windowsPod'
  | 'badAnnotation'
  | 'capabilityNotEffective'
  | 'unprivilegedPorts'
  | 'userNamespacesNotSet'
  | 'imageIdentity'
  /** pods/ephemeralcontainers: the request body differs from the stored pod outside the ephemeral containers. */
  | 'requestNotStored'
  /** A confinement rule that could not apply where it would have demanded something of the node. */
  | 'confinementNotApplied'
  /** A change that may stop the workload, with the one change that fixes it (risks.ts). */
  | 'mayStopWorking';

/** Something worth telling that is not a change: an exception honoured or denied, a rule not applied and why. */
export interface Notice {
  kind: NoticeKind;
  target: Target;
  message: string;
  /** mayStopWorking: the change that keeps the workload running (risks.ts), said after the message. */
  fix?: string;
}

/**
 * `create`: a new pod, every container and the pod level may be hardened.
 * `ephemeral`: an UPDATE of pods/ephemeralcontainers; only the ephemeral containers not in
 * `existingEphemeral` are hardened, and nothing else may change (the API server only accepts
 * changes to spec.ephemeralContainers on that subresource).
 */
export type HardenScope =
  { kind: 'create' } | { kind: 'ephemeral'; existingEphemeral: ReadonlySet<string> };

export interface HardenOptions {
  scope: HardenScope;
  /** The pod's namespace, for the operator's bounds on skip annotations. */
  namespace: string;
  /**
   * Image identity (opt-in): what the registry said each image runs as, by image as the pod
   * writes it. Absent, or an image not in it, the policy's UID and GID apply as always.
   */
  imageUsers?: ReadonlyMap<string, ImageUser>;
}

/**
 * The numeric `USER[:GROUP]` an image's config names, found before the review (the engine makes
 * no lookups), or why there is none: the image names a user by name or runs as root, or the
 * lookup failed or did not answer in time. A container that runs with neither its own nor the
 * pod's non-root UID then gets the image's, or the policy's default with `reason` as a notice.
 */
export type ImageUser =
  | { readonly found: true; readonly uid: number; readonly gid?: number }
  | { readonly found: false; readonly reason: string };

export interface HardenResult {
  /** The hardened pod: a copy where anything changed; the input itself is never modified. */
  pod: Pod;
  changes: Change[];
  notices: Notice[];
  /** True when the whole pod was left alone by the skip annotation. */
  skipped: boolean;
  /** The changes in the compact form of summary.ts (empty when none), for the audit annotation. */
  summary: string;
}
