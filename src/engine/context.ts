import type { CapabilityAllowlist } from './exceptions';
import type { Policy } from './policy';
import type {
  Change,
  Container,
  ContainerTarget,
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
): void {
  const podValue = ctx.podSecurityContext()?.[field];
  const podSettable = ctx.podFieldSettable(field);
  // Minimal change: a missing pod-level value that no hardened container inherits changes
  // nothing that runs, so a pod whose containers each set their own acceptable value gets none.
  // A pod-level value that is set and wrong (root, Unconfined) is still fixed: it states the
  // pod's intent, and Pod Security judges it whoever inherits it.
  const needed =
    podValue != null || ctx.targets.some((t) => t.container.securityContext?.[field] == null);
  let effectivePod = podValue;
  if (podSettable && needed && !acceptable(podValue)) {
    effectivePod = fixed();
    ctx.writablePodSecurityContext()[field] = effectivePod;
    ctx.record(rule, { kind: 'pod' }, `securityContext.${field}`, podValue, effectivePod);
  }
  for (const t of ctx.targets) {
    const own = t.container.securityContext?.[field];
    const effective = own ?? effectivePod;
    if (acceptable(effective)) continue;
    const value = fixed();
    ctx.writableSecurityContext(t.container)[field] = value;
    ctx.record(rule, t.ref, `securityContext.${field}`, own, value);
  }
}

/** A UID or GID other than root's 0. */
export const isNonRootId = (v: Json | undefined): boolean =>
  typeof v === 'number' && Number.isInteger(v) && v > 0;
