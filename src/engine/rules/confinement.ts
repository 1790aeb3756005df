import { Annotations } from '../../names';
import type { Rule, RuleContext } from '../context';
import { containerTarget, eachContainer } from '../pod';
import { isJsonObject } from '../json';
import type { Json, SecurityContext, Target } from '../types';

/**
 * The SELinux types Pod Security baseline allows: the container runtime's confined domains.
 * Anything else (`spc_t`, "super privileged container", above all) lifts SELinux confinement.
 */
export const CONFINED_SELINUX_TYPES: ReadonlySet<string> = new Set([
  'container_t',
  'container_init_t',
  'container_kvm_t',
  'container_engine_t',
]);

const POD: Target = { kind: 'pod' };

function unconfinedAppArmor(sc: SecurityContext | null | undefined): boolean {
  const profile = sc?.appArmorProfile;
  return isJsonObject(profile) && profile.type === 'Unconfined';
}

/** The seLinuxOptions fields baseline forbids: a type outside the container types, a user, a role. */
function unconfinedSELinuxFields(sc: SecurityContext | null | undefined): string[] {
  const options = sc?.seLinuxOptions;
  if (!isJsonObject(options)) return [];
  const out: string[] = [];
  const type = options.type;
  if (typeof type === 'string' && type !== '' && !CONFINED_SELINUX_TYPES.has(type))
    out.push('type');
  for (const field of ['user', 'role'])
    if (typeof options[field] === 'string' && options[field] !== '') out.push(field);
  return out;
}

/**
 * seLinuxOptions without the fields baseline forbids, replaced whole (a nested value is never
 * edited in place); the MCS level, which keeps containers apart from each other, is kept.
 */
function withoutUnconfined(
  ctx: RuleContext,
  sc: SecurityContext,
  target: Target,
  fields: readonly string[],
  inherits = false,
): void {
  const options = { ...(sc.seLinuxOptions as { [key: string]: Json }) };
  for (const field of fields) {
    ctx.record(
      'seLinuxOptions',
      target,
      `securityContext.seLinuxOptions.${field}`,
      options[field],
      undefined,
    );
    delete options[field];
  }
  // Nothing left is the same as no options, and is removed rather than left as `{}` (which a YAML
  // edit could only write as a flow mapping), except on a container under pod-level options that
  // stay unconfined (pods/ephemeralcontainers): there `{}` keeps it from inheriting them.
  if (Object.keys(options).length > 0 || inherits) sc.seLinuxOptions = options;
  else delete sc.seLinuxOptions;
}

/**
 * A container left untouched that inherits a pod-level value about to be removed gets that value
 * as its own, so that what it runs with does not change (a container's AppArmor profile and
 * SELinux options replace the pod's whole, so the copy is exact).
 */
function keepForUntouched(ctx: RuleContext, field: 'appArmorProfile' | 'seLinuxOptions'): void {
  const value = ctx.podSecurityContext()![field];
  const untouched = new Set(ctx.untouched);
  const annotations = ctx.pod.metadata?.annotations;
  for (const { list, container } of eachContainer(ctx.pod)) {
    if (!untouched.has(container) || container.securityContext?.[field] != null) continue;
    // A container's own AppArmor annotation is its profile as much as the field would be.
    const annotated =
      annotations?.[Annotations.appArmorContainerPrefix + (container.name as string)];
    if (field === 'appArmorProfile' && annotated != null) continue;
    ctx.writableSecurityContext(container)[field] = value;
    const target = containerTarget(list, container);
    ctx.record(field, target, `securityContext.${field}`, undefined, value);
  }
}

/**
 * On pods/ephemeralcontainers the pod level is the stored pod's and cannot change, so a new
 * container that would inherit an unconfined pod level gets its own: SELinux options without the
 * forbidden fields. An inherited AppArmor Unconfined has no such cure (any other profile makes
 * the kubelet demand AppArmor on the node), so it is said instead.
 */
function overrideInherited(ctx: RuleContext): void {
  const podSc = ctx.podSecurityContext();
  const podFields = unconfinedSELinuxFields(podSc);
  for (const t of ctx.targets) {
    const own = t.container.securityContext;
    if (podFields.length > 0 && own?.seLinuxOptions == null) {
      const options = { ...(podSc!.seLinuxOptions as { [key: string]: Json }) };
      for (const field of podFields) delete options[field];
      ctx.writableSecurityContext(t.container).seLinuxOptions = options;
      ctx.record('seLinuxOptions', t.ref, 'securityContext.seLinuxOptions', undefined, options);
    }
    if (unconfinedAppArmor(podSc) && own?.appArmorProfile == null) {
      ctx.notices.push({
        kind: 'confinementNotApplied',
        target: t.ref,
        message:
          "inherits the pod's AppArmor profile Unconfined, which cannot change on pods/ephemeralcontainers; a profile of its own would make the kubelet require AppArmor on the node",
      });
    }
  }
}

/**
 * Confinement: what Pod Security baseline forbids in a security context, undone without demanding
 * anything of the node, whatever the UID:
 * - AppArmor `Unconfined` is removed, from the field and from the older per-container annotation,
 *   so the runtime's default profile applies where the node has AppArmor. Setting RuntimeDefault
 *   instead would make the kubelet refuse the pod on every node without AppArmor: it treats any
 *   profile but Unconfined as "AppArmor required".
 * - An SELinux `type` outside the container types is removed, so the runtime's confined type
 *   applies, and so are `user` and `role` (baseline allows neither); the MCS level is kept.
 * - `procMount: Unmasked` becomes `Default` unless the pod runs in a user namespace, where the
 *   unmasked /proc belongs to the namespace and baseline allows it.
 * A container left untouched keeps what it inherited, as its own. Runs after
 * user-namespaces.ts, so a pod moved into a user namespace keeps its Unmasked /proc.
 */
export const confinement: Rule = (ctx) => {
  const podSc = ctx.podSecurityContext();
  if (ctx.podLevelMutable && ctx.targets.length > 0) {
    if (unconfinedAppArmor(podSc)) {
      keepForUntouched(ctx, 'appArmorProfile');
      const sc = ctx.writablePodSecurityContext();
      const from = sc.appArmorProfile;
      delete sc.appArmorProfile;
      ctx.record('appArmorProfile', POD, 'securityContext.appArmorProfile', from, undefined);
    }
    const podFields = unconfinedSELinuxFields(podSc);
    if (podFields.length > 0) {
      keepForUntouched(ctx, 'seLinuxOptions');
      withoutUnconfined(ctx, ctx.writablePodSecurityContext(), POD, podFields);
    }
  }

  const annotations = ctx.pod.metadata?.annotations;
  const inUserNamespace = ctx.pod.spec!.hostUsers === false;
  for (const t of ctx.targets) {
    const own = t.container.securityContext;
    if (unconfinedAppArmor(own)) {
      const sc = ctx.writableSecurityContext(t.container);
      const from = sc.appArmorProfile;
      delete sc.appArmorProfile;
      ctx.record('appArmorProfile', t.ref, 'securityContext.appArmorProfile', from, undefined);
    }
    // The annotation is metadata, which only a pod creation may change; the API server keeps the
    // field and the annotation in step, and refuses a pod where they disagree.
    const key = Annotations.appArmorContainerPrefix + t.ref.name;
    if (ctx.podLevelMutable && annotations?.[key] === 'unconfined') {
      delete annotations[key];
      ctx.record('appArmorProfile', t.ref, `metadata.annotations.${key}`, 'unconfined', undefined);
    }
    const fields = unconfinedSELinuxFields(own);
    if (fields.length > 0) {
      const inherits = unconfinedSELinuxFields(ctx.podSecurityContext()).length > 0;
      withoutUnconfined(ctx, ctx.writableSecurityContext(t.container), t.ref, fields, inherits);
    }
    if (own?.procMount === 'Unmasked' && !inUserNamespace) {
      ctx.writableSecurityContext(t.container).procMount = 'Default';
      ctx.record('procMount', t.ref, 'securityContext.procMount', 'Unmasked', 'Default');
    }
  }
  // After each container's own values are undone, so what it now inherits is known.
  if (!ctx.podLevelMutable) overrideInherited(ctx);
};
