import { compare, type Operation } from 'fast-json-patch';
import { Annotations } from '../names';

/** A patch that would touch something no rule may change: a bug, never sent to the API server. */
export class UnsafePatchError extends Error {
  constructor(op: Operation) {
    super(`refusing patch operation ${op.op} ${op.path}: outside what pod-hardener may change`);
    this.name = 'UnsafePatchError';
  }
}

const hardenedKey = Annotations.hardened.replace(/~/g, '~0').replace(/\//g, '~1');
const LISTS = '(containers|initContainers|ephemeralContainers)';
const MAY_SET = new RegExp(
  `^(/metadata(/annotations(/${hardenedKey.replace(/\./g, '\\.')})?)?` +
    `|/spec/securityContext(/.*)?` +
    `|/spec/${LISTS}/\\d+/securityContext(/.*)?)$`,
);
// Removals a rule asks for: capabilities.add entries, and what was inside a seccompProfile that
// seccomp-profile.ts replaced whole (an Unconfined profile with a stray localhostProfile).
const MAY_REMOVE = new RegExp(
  `^(/spec|/spec/${LISTS}/\\d+)/securityContext/(capabilities/add(/\\d+)?|seccompProfile/.*)$`,
);

/**
 * The JSON patch from the object as received to the hardened object: a diff, so it is right by
 * construction and paths are escaped (controller-runtime's PatchResponseFromRaw). The guard is
 * the one sharp edge of diffing: no operation may reach outside the security contexts and the
 * hardened annotation, and the only removals rules ask for are of capabilities.add entries and inside a replaced
 * seccompProfile.
 */
export function createPatch(original: unknown, hardened: unknown): Operation[] {
  const ops = compare(original as object, hardened as object);
  for (const op of ops) {
    const allowed = op.op === 'remove' ? MAY_REMOVE.test(op.path) : MAY_SET.test(op.path);
    if (!allowed) throw new UnsafePatchError(op);
  }
  return ops;
}
