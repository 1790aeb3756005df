import type { CapabilityAllowlist } from './exceptions';
import type { Policy } from './policy';
import type {
  Change,
  Container,
  ContainerTarget,
  ImageUser,
  Json,
  Notice,
  Pod,
  RuleName,
  SecurityContext,
  Target,
} from './types';

/** A container the rules harden, in the draft pod. */
export interface HardenTarget {
  ref: ContainerTarget;
  container: Container;
  /** Normalized capabilities it may keep in capabilities.add. */
  allowed: CapabilityAllowlist;
  /** What its image runs as, when image identity looked it up (HardenOptions.imageUsers). */
  imageUser?: ImageUser;
}

/**
 * What every rule gets: the draft pod (see draft.ts for what may be written), the containers to
 * harden and those left untouched, and the lists the rules report into.
 */
export class RuleContext {
  readonly changes: Change[] = [];
  readonly notices: Notice[] = [];

  constructor(
    readonly policy: Policy,
    readonly pod: Pod,
    readonly targets: HardenTarget[],
    /** Containers left as they are; their effective settings must not change either. */
    readonly untouched: Container[],
    /** False on pods/ephemeralcontainers updates, where only the new containers may change. */
    readonly podLevelMutable: boolean,
  ) {}

  podSecurityContext(): SecurityContext | undefined {
    return this.pod.spec!.securityContext ?? undefined;
  }

  /** The pod-level securityContext, created when absent or null. */
  writablePodSecurityContext(): SecurityContext {
    const spec = this.pod.spec!;
    if (!spec.securityContext) spec.securityContext = {};
    return spec.securityContext;
  }

  /**
   * True when the pod level may change `field` without changing a container left untouched: on
   * pod creation, where every untouched container sets the field itself.
   */
  podFieldSettable(field: string): boolean {
    return this.podLevelMutable && this.untouched.every((c) => c.securityContext?.[field] != null);
  }

  /** A container's securityContext, created when absent or null. */
  writableSecurityContext(container: Container): SecurityContext {
    if (!container.securityContext) container.securityContext = {};
    return container.securityContext;
  }

  record(
    rule: RuleName,
    target: Target,
    field: string,
    from: Json | undefined,
    to: Json | undefined,
  ): void {
    this.changes.push({ rule, target, field, from: from ?? undefined, to });
  }
}

export type Rule = (ctx: RuleContext) => void;

type InheritedField = 'runAsUser' | 'runAsGroup' | 'runAsNonRoot' | 'seccompProfile';

/** A field as the container runs with it: its own value, else the pod's. */
export function effective(
  ctx: RuleContext,
  container: Container,
  field: InheritedField,
): Json | undefined {
  return container.securityContext?.[field] ?? ctx.podSecurityContext()?.[field] ?? undefined;
}

/**
 * The shared shape of the fields a container inherits from the pod level (container value,
 * else pod value). The pod level is fixed when it may be and is needed: on pod creation, when
 * some hardened container inherits it, and only if every untouched container sets the field itself, so that fixing the pod level never changes a
 * container the operator or the pod author exempted. Otherwise each hardened container whose
 * effective value is not acceptable gets its own. A container value that is set but not
 * acceptable is always overridden, since it would win over the pod level.
 */
export function ensureInherited(
  ctx: RuleContext,
  rule: RuleName,
  field: InheritedField,
  acceptable: (value: Json | undefined) => boolean,
  fixed: () => Json,
  fromImage?: (t: HardenTarget) => number | undefined,
): void {
  const podValue = ctx.podSecurityContext()?.[field];
  // containerd refuses to start a pod's sandbox whose pod level names a group without a user
  // ("user group ... is specified without user", seen on the node with containerd 2.3): a pod
  // level without runAsUser (its containers each set their own) gets no runAsGroup either, and
  // the containers get theirs. run-as-user.ts runs first, so the pod's runAsUser is final here.
  const podSettable =
    ctx.podFieldSettable(field) &&
    (field !== 'runAsGroup' || ctx.podSecurityContext()?.runAsUser != null);
  // Image identity: a container that runs with no acceptable value of its own or from the pod
  // (before hardening) gets its image's, set on the container itself (the containers of one
  // pod may run as different users), in place of the default. Asked only of those containers.
  const imageValues = ctx.targets.map((t) =>
    fromImage !== undefined && !acceptable(t.container.securityContext?.[field] ?? podValue)
      ? fromImage(t)
      : undefined,
  );
  // Minimal change: a missing pod-level value that no hardened container inherits changes
  // nothing that runs, so a pod whose containers each set their own acceptable value (or take
  // their image's) gets none. A pod-level value that is set and wrong (root, Unconfined) is
  // still fixed: it states the pod's intent, and Pod Security judges it whoever inherits it.
  const needed =
    podValue != null ||
    ctx.targets.some(
      (t, i) => t.container.securityContext?.[field] == null && imageValues[i] === undefined,
    );
  let effectivePod = podValue;
  if (podSettable && needed && !acceptable(podValue)) {
    effectivePod = fixed();
    ctx.writablePodSecurityContext()[field] = effectivePod;
    ctx.record(rule, { kind: 'pod' }, `securityContext.${field}`, podValue, effectivePod);
  }
  for (const [i, t] of ctx.targets.entries()) {
    const own = t.container.securityContext?.[field];
    const image = imageValues[i];
    if (image !== undefined) {
      ctx.writableSecurityContext(t.container)[field] = image;
      ctx.changes.push({
        rule,
        target: t.ref,
        field: `securityContext.${field}`,
        from: own ?? undefined,
        to: image,
        because: IMAGE_USER,
      });
      continue;
    }
    const effective = own ?? effectivePod;
    if (acceptable(effective)) continue;
    const value = fixed();
    ctx.writableSecurityContext(t.container)[field] = value;
    ctx.record(rule, t.ref, `securityContext.${field}`, own, value);
  }
}

/** The `because` of a run user or group taken from the image's config. */
export const IMAGE_USER = 'image USER';

/** A UID or GID other than root's 0. */
export const isNonRootId = (v: Json | undefined): boolean =>
  typeof v === 'number' && Number.isInteger(v) && v > 0;
