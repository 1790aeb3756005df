/**
 * A JSON diff to RFC 6902 operations, for the engine's draft pods (engine/draft.ts): the
 * hardened pod shares every subtree no rule wrote with the original, so an identical reference
 * ends the walk there.
 *
 * It replaces fast-json-patch's compare on the review path (issue 6): compare copies every added
 * or replaced value through a JSON round trip and builds the path of every key it passes, and
 * was the largest single cost of a review. Here values are referenced, not copied: a patch is
 * serialized at once, and neither document changes afterwards.
 *
 * The operations are those compare produces (test/unit/admission/json-diff.test.ts checks it on
 * generated documents, and that a strict RFC 6902 applier turns `before` into `after`): object
 * keys whose value is undefined count as absent; arrays are diffed index by index, removals from
 * the end first, highest index first, so that each applies to the array the one before left; a
 * value that changes type, or between array and object, is replaced whole.
 */
export type PatchOperation =
  | { op: 'add'; path: string; value: unknown }
  | { op: 'replace'; path: string; value: unknown }
  | { op: 'remove'; path: string };

/** The operations that turn `before` into `after`, with paths under `path` (a JSON pointer). */
export function diffJson(before: unknown, after: unknown, path = '', ops: PatchOperation[] = []): PatchOperation[] {
  if (before === after) return ops;
  if (isContainer(before) && isContainer(after) && Array.isArray(before) === Array.isArray(after)) {
    if (Array.isArray(before)) diffArrays(before, after as unknown[], path, ops);
    else diffObjects(before as Record<string, unknown>, after as Record<string, unknown>, path, ops);
  } else {
    ops.push({ op: 'replace', path, value: after });
  }
  return ops;
}

function diffObjects(before: Record<string, unknown>, after: Record<string, unknown>, path: string, ops: PatchOperation[]): void {
  const beforeKeys = Object.keys(before);
  const afterKeys = Object.keys(after);
  for (let i = 0; i < beforeKeys.length; i++) {
    const key = beforeKeys[i]!;
    if (before[key] !== undefined && !isPresent(after, key)) ops.push({ op: 'remove', path: `${path}/${escapeToken(key)}` });
  }
  for (let i = 0; i < afterKeys.length; i++) {
    const key = afterKeys[i]!;
    const value = after[key];
    const old = before[key];
    if (old === value || value === undefined) continue;
    if (!isPresent(before, key)) ops.push({ op: 'add', path: `${path}/${escapeToken(key)}`, value });
    else diffJson(old, value, `${path}/${escapeToken(key)}`, ops);
  }
}

function diffArrays(before: unknown[], after: unknown[], path: string, ops: PatchOperation[]): void {
  const common = Math.min(before.length, after.length);
  for (let i = before.length - 1; i >= common; i--) ops.push({ op: 'remove', path: `${path}/${i}` });
  for (let i = 0; i < common; i++) diffJson(before[i], after[i], `${path}/${i}`, ops);
  for (let i = common; i < after.length; i++) ops.push({ op: 'add', path: `${path}/${i}`, value: after[i] });
}

/** An own key with a value (`__proto__` from JSON.parse included; inherited names are not keys). */
function isPresent(object: Record<string, unknown>, key: string): boolean {
  return object[key] !== undefined && Object.hasOwn(object, key);
}

function isContainer(value: unknown): value is object {
  return typeof value === 'object' && value !== null;
}

/** RFC 6901: `~` is `~0` and `/` is `~1` in a path token (annotation keys contain `/`). */
export function escapeToken(key: string): string {
  return key.includes('/') || key.includes('~') ? key.replace(/~/g, '~0').replace(/\//g, '~1') : key;
}
