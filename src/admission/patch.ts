import { compare, escapePathComponent } from 'fast-json-patch';
import { CONTAINER_LISTS } from '../engine/exceptions';
import type { Pod } from '../engine/types';
import { PodHardenerError } from '../errors';
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

const hardenedKey = escapeToken(Annotations.hardened);
const LISTS = '(containers|initContainers|ephemeralContainers)';
const MAY_SET = new RegExp(
  `^(/metadata(/annotations(/${hardenedKey.replace(/\./g, '\\.')})?)?` +
    `|/spec/securityContext(/.*)?` +
    `|/spec/hostUsers` +
    `|/spec/${LISTS}/\\d+/securityContext(/.*)?)$`,
);
// Removals a rule asks for: capabilities.add entries, and what was inside a seccompProfile that
// seccomp-profile.ts replaced whole (an Unconfined profile with a stray localhostProfile).
const MAY_REMOVE = new RegExp(
  `^(/spec|/spec/${LISTS}/\\d+)/securityContext/(capabilities/add(/\\d+)?|seccompProfile/.*)$`,
);

/**
 * The JSON patch from the object as received to the hardened object: fast-json-patch's compare,
 * so it is right by construction and paths are escaped (controller-runtime's
 * PatchResponseFromRaw).
 *
 * Only the places rules may write are compared: the pod's annotations, the pod securityContext,
 * `spec.hostUsers` and each container's securityContext. Every other part of the hardened pod is
 * the original's own object (engine/draft.ts), so comparing the whole pod would walk, and copy, a
 * hundred keys to find nothing, on every review; the property tests check that applying the
 * patch gives exactly the engine's result, which a rule writing anywhere else would break. The
 * guard stays as the last word on what is sent: no operation outside the security contexts,
 * `spec.hostUsers` and the hardened annotation, and no removal but of capabilities.add entries
 * and inside a replaced seccompProfile.
 */
export function createPatch(original: unknown, hardened: unknown): PatchOperation[] {
  const ops: PatchOperation[] = [];
  const before = original as Pod;
  const after = hardened as Pod;
  if (before !== after) {
    if (!before.metadata) diffSlot(before, after, 'metadata', '/metadata', ops);
    else if (after.metadata !== before.metadata)
      diffSlot(before.metadata, after.metadata ?? {}, 'annotations', '/metadata/annotations', ops);
    diffSpec(before.spec!, after.spec!, ops);
  }
  for (const op of ops) {
    const allowed =
      op.op === 'remove'
        ? MAY_REMOVE.test(op.path)
        : MAY_SET.test(op.path) && setsOnlyTheHardenedAnnotation(op);
    if (!allowed) throw new UnsafePatchError(op);
  }
  return ops;
}

/** Metadata or annotations added whole (the pod had none) carry the hardened annotation and nothing else. */
function setsOnlyTheHardenedAnnotation(op: PatchOperation & { value?: unknown }): boolean {
  if (op.path === '/metadata')
    return (
      onlyKeys(op.value, 'annotations') &&
      onlyKeys((op.value as Pod['metadata'])!.annotations, Annotations.hardened)
    );
  if (op.path === '/metadata/annotations') return onlyKeys(op.value, Annotations.hardened);
  return true;
}

function onlyKeys(value: unknown, key: string): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === key;
}

function diffSpec(
  before: Pod['spec'] & object,
  after: Pod['spec'] & object,
  ops: PatchOperation[],
): void {
  if (before === after) return;
  diffSlot(before, after, 'securityContext', '/spec/securityContext', ops);
  diffSlot(before, after, 'hostUsers', '/spec/hostUsers', ops);
  for (const list of CONTAINER_LISTS) {
    const a = after[list];
    const b = before[list];
    if (a === b) continue;
    // The draft maps each list one to one; anything else is a bug, never a patch.
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length)
      throw new UnsafePatchError({ op: 'replace', path: `/spec/${list}`, value: a });
    for (let i = 0; i < a.length; i++) {
      if (a[i] !== b[i])
        diffSlot(b[i], a[i], 'securityContext', `/spec/${list}/${i}/securityContext`, ops);
    }
  }
}

/** The diff of one member of two objects: added whole when it was absent (a removal would be refused). */
function diffSlot(
  before: object,
  after: object,
  key: string,
  path: string,
  ops: PatchOperation[],
): void {
  const a = (after as Record<string, unknown>)[key];
  const b = (before as Record<string, unknown>)[key];
  if (a === b) return;
  if (a === undefined) ops.push({ op: 'remove', path });
  else if (
    b === undefined ||
    !isContainer(a) ||
    !isContainer(b) ||
    Array.isArray(a) !== Array.isArray(b)
  ) {
    ops.push(b === undefined ? { op: 'add', path, value: a } : { op: 'replace', path, value: a });
  } else {
    for (const op of compare(b, a) as PatchOperation[]) {
      op.path = `${path}${op.path}`;
      ops.push(op);
    }
  }
}

function isContainer(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}
