import { compare, escapePathComponent } from 'fast-json-patch';
import { CONTAINER_LISTS } from './pod';
import type { Pod } from './types';
import { PodHardenerError } from '../errors';
import { isJsonObject } from './json';
import { Annotations } from '../names';

/** The operations a diff produces (RFC 6902): compare never emits move, copy or test. */
export type PatchOperation =
  | { op: 'add'; path: string; value: unknown }
  | { op: 'replace'; path: string; value: unknown }
  | { op: 'remove'; path: string };

/** RFC 6901: `~` is `~0` and `/` is `~1` in a path token (annotation keys contain `/`). */
export const escapeToken: (key: string) => string = escapePathComponent;

/** A patch that would touch something no rule may change: a bug, never sent to the API server. */
export class UnsafePatchError extends PodHardenerError {
  constructor(op: PatchOperation) {
    super(
      'UNSAFE_PATCH',
      `refusing patch operation ${op.op} ${op.path}: outside what pod-hardener may change`,
    );
    this.name = 'UnsafePatchError';
  }
}

const hardenedPath = `/metadata/annotations/${escapeToken(Annotations.hardened)}`;
// The one annotation a rule removes: the older AppArmor annotation saying `unconfined`.
const appArmorAnnotationPaths = `/metadata/annotations/${escapeToken(Annotations.appArmorContainerPrefix)}`;
// Removals a rule asks for, below a securityContext: capabilities.add entries, what was inside a
// seccompProfile that seccomp-profile.ts replaced whole (an Unconfined profile with a stray
// localhostProfile), an Unconfined appArmorProfile (and what was inside it), the SELinux type, and
// group 0 from supplementalGroups (confinement.ts, supplemental-groups.ts).
const MAY_REMOVE_IN_SECURITY_CONTEXT =
  /^\/(capabilities\/add(\/\d+)?|seccompProfile\/.*|appArmorProfile(\/.*)?|seLinuxOptions\/(type|user|role)|supplementalGroups(\/\d+)?)$/;

/**
 * The places the diff looks at, and so what the guard allows in each: everything below a
 * securityContext but removals, which only rules that remove ask for; `spec.hostUsers` set; of
 * the pod's annotations only the hardened one, set.
 */
type Slot = 'securityContext' | 'hostUsers' | 'annotations';

/**
 * The JSON patch from the object as received to the hardened object (controller-runtime's
 * PatchResponseFromRaw), fast-json-patch's compare below each key the rules write, so it is right
 * by construction and paths are escaped.
 *
 * Only the places rules may write are compared: the pod's annotations, each key of the pod
 * securityContext and of each container's, and `spec.hostUsers`. Every other part of the
 * hardened pod is the original's own object (engine/draft.ts), so comparing the whole pod would
 * walk, and copy, a hundred keys to find nothing, on every review; and a key the rules added
 * whole (a seccompProfile, a capabilities object) is sent as it is, where compare would
 * JSON-round-trip it to copy it. The property tests check that applying the patch gives exactly
 * the engine's result, which a rule writing anywhere else would break.
 *
 * The guard stays the last word on what is sent, checked on each operation as it is made, where
 * its place is known: no operation outside the security contexts, `spec.hostUsers`, the
 * hardened annotation and the AppArmor annotations, and no removal but what a rule removes
 * (MAY_REMOVE_IN_SECURITY_CONTEXT, an `unconfined` AppArmor annotation). A refused operation is a bug, never a patch (UnsafePatchError).
 */
export function createPatch(original: unknown, hardened: unknown): PatchOperation[] {
  const ops: PatchOperation[] = [];
  const before = original as Pod;
  const after = hardened as Pod;
  if (before === after) return ops;
  if (!before.metadata) {
    if (after.metadata !== undefined)
      guarded(ops, 'annotations', '/metadata', wholeValue('/metadata', undefined, after.metadata));
  } else if (after.metadata !== before.metadata) {
    diffAnnotations(before.metadata, after.metadata ?? {}, ops);
  }
  diffSpec(before.spec!, after.spec!, ops);
  return ops;
}

function diffAnnotations(
  before: NonNullable<Pod['metadata']>,
  after: NonNullable<Pod['metadata']>,
  ops: PatchOperation[],
): void {
  const a = after.annotations;
  const b = before.annotations;
  const path = '/metadata/annotations';
  if (a === b) return;
  if (comparable(b, a)) compareInto(b, a, 'annotations', path, ops);
  else guarded(ops, 'annotations', path, wholeValue(path, b, a));
}

function diffSpec(
  before: Pod['spec'] & object,
  after: Pod['spec'] & object,
  ops: PatchOperation[],
): void {
  if (before === after) return;
  diffSecurityContext(before.securityContext, after.securityContext, '/spec/securityContext', ops);
  if (after.hostUsers !== before.hostUsers)
    guarded(
      ops,
      'hostUsers',
      '/spec/hostUsers',
      wholeValue('/spec/hostUsers', before.hostUsers, after.hostUsers),
    );
  for (const list of CONTAINER_LISTS) {
    const a = after[list];
    const b = before[list];
    if (a === b) continue;
    // The draft maps each list one to one; anything else is a bug, never a patch.
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length)
      throw new UnsafePatchError({ op: 'replace', path: `/spec/${list}`, value: a });
    for (let i = 0; i < a.length; i++) {
      if (a[i] !== b[i])
        diffSecurityContext(
          b[i].securityContext,
          a[i].securityContext,
          `/spec/${list}/${i}/securityContext`,
          ops,
        );
    }
  }
}

/** One securityContext, key by key: added whole when it was absent, compare below each changed key. */
function diffSecurityContext(
  before: unknown,
  after: unknown,
  path: string,
  ops: PatchOperation[],
): void {
  if (after === before) return;
  if (!isJsonObject(after) || !isJsonObject(before))
    return guarded(ops, 'securityContext', path, wholeValue(path, before, after));
  for (const key of Object.keys(after)) {
    const a = after[key];
    const b = before[key];
    if (a === b) continue;
    const at = `${path}/${escapeToken(key)}`;
    if (comparable(b, a)) compareInto(b, a, 'securityContext', at, ops, path);
    else guarded(ops, 'securityContext', path, wholeValue(at, b, a));
  }
  for (const key of Object.keys(before)) {
    if (before[key] !== undefined && !Object.hasOwn(after, key))
      guarded(ops, 'securityContext', path, { op: 'remove', path: `${path}/${escapeToken(key)}` });
  }
}

/** fast-json-patch's compare of two `comparable` values at `path`, each operation guarded as one of `slot`. */
function compareInto(
  before: unknown,
  after: unknown,
  slot: Slot,
  path: string,
  ops: PatchOperation[],
  slotPath = path,
): void {
  for (const op of compare(before as object, after as object) as PatchOperation[]) {
    op.path = `${path}${op.path}`;
    guarded(ops, slot, slotPath, op);
  }
}

/** The operation that takes the value at `path` from `before` to `after` whole, without looking inside. */
function wholeValue(path: string, before: unknown, after: unknown): PatchOperation {
  if (after === undefined) return { op: 'remove', path };
  return before === undefined
    ? { op: 'add', path, value: after }
    : { op: 'replace', path, value: after };
}

/** Both present, objects or both lists: compare looks inside them rather than replacing whole. */
function comparable(before: unknown, after: unknown): boolean {
  return isObject(before) && isObject(after) && Array.isArray(before) === Array.isArray(after);
}

/** Appends `op`, or throws when the guard refuses it; `slotPath` is where the slot starts. */
function guarded(ops: PatchOperation[], slot: Slot, slotPath: string, op: PatchOperation): void {
  if (!allowed(slot, slotPath, op)) throw new UnsafePatchError(op);
  ops.push(op);
}

function allowed(slot: Slot, slotPath: string, op: PatchOperation): boolean {
  switch (slot) {
    case 'securityContext':
      return (
        op.op !== 'remove' || MAY_REMOVE_IN_SECURITY_CONTEXT.test(op.path.slice(slotPath.length))
      );
    case 'hostUsers':
      return op.op !== 'remove';
    case 'annotations':
      if (op.op === 'remove')
        return (
          op.path.startsWith(appArmorAnnotationPaths) &&
          !op.path.includes('/', appArmorAnnotationPaths.length)
        );
      if (op.path === '/metadata')
        return (
          onlyKeys(op.value, 'annotations') &&
          onlyKeys((op.value as Pod['metadata'])!.annotations, Annotations.hardened)
        );
      if (op.path === '/metadata/annotations') return onlyKeys(op.value, Annotations.hardened);
      return op.path === hardenedPath;
  }
}

function onlyKeys(value: unknown, key: string): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === key;
}

function isObject(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}
