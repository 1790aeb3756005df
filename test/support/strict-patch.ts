/**
 * Applies a JSON patch with the strict RFC 6902 semantics of evanphx/json-patch as
 * kube-apiserver uses it: `add` needs an existing parent (no path is created on the way),
 * `replace` and `remove` need an existing target, array indexes must be in range. Written
 * independently of fast-json-patch so that a quirk of the library producing the patch cannot
 * hide behind the same library applying it.
 */
type Doc = unknown;

export class PatchApplyError extends Error {}

function unescape(token: string): string {
  return token.replace(/~1/g, '/').replace(/~0/g, '~');
}

function parsePath(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new PatchApplyError(`path ${path} does not start with /`);
  return path.slice(1).split('/').map(unescape);
}

const isContainer = (v: unknown): v is Record<string, unknown> | unknown[] =>
  typeof v === 'object' && v !== null;

function parentOf(
  doc: Doc,
  tokens: string[],
  path: string,
): { parent: Record<string, unknown> | unknown[]; key: string } {
  let node: unknown = doc;
  for (const token of tokens.slice(0, -1)) {
    if (Array.isArray(node)) {
      const i = arrayIndex(token, node.length - 1, path);
      node = node[i];
    } else if (isContainer(node) && Object.prototype.hasOwnProperty.call(node, token)) {
      node = (node as Record<string, unknown>)[token];
    } else {
      throw new PatchApplyError(`doc is missing path: ${path}`);
    }
  }
  if (!isContainer(node))
    throw new PatchApplyError(`doc is missing path: ${path} (parent is not an object or array)`);
  return { parent: node, key: tokens[tokens.length - 1] };
}

function arrayIndex(token: string, max: number, path: string): number {
  if (!/^(0|[1-9][0-9]*)$/.test(token))
    throw new PatchApplyError(`bad array index ${token} in ${path}`);
  const i = Number(token);
  if (i > max) throw new PatchApplyError(`array index ${i} out of range in ${path}`);
  return i;
}

export interface Op {
  op: string;
  path: string;
  value?: unknown;
}

/** JSON documents only; a JSON round trip also copes with the fuzzer's deeply nested values. */
const copy = <T>(v: T): T => (v === undefined ? v : JSON.parse(JSON.stringify(v)));

export function applyStrict<T>(document: T, patch: readonly Op[]): T {
  let doc: unknown = copy(document);
  for (const op of patch) {
    const tokens = parsePath(op.path);
    if (tokens.length === 0) {
      if (op.op === 'add' || op.op === 'replace') doc = copy(op.value);
      else throw new PatchApplyError(`cannot ${op.op} the whole document`);
      continue;
    }
    const { parent, key } = parentOf(doc, tokens, op.path);
    switch (op.op) {
      case 'add':
        if (!('value' in op)) throw new PatchApplyError(`add ${op.path} has no value`);
        if (Array.isArray(parent)) {
          const i = key === '-' ? parent.length : arrayIndex(key, parent.length, op.path);
          parent.splice(i, 0, copy(op.value));
        } else {
          parent[key] = copy(op.value);
        }
        break;
      case 'replace':
        if (!('value' in op)) throw new PatchApplyError(`replace ${op.path} has no value`);
        if (Array.isArray(parent)) {
          parent[arrayIndex(key, parent.length - 1, op.path)] = copy(op.value);
        } else {
          if (!Object.prototype.hasOwnProperty.call(parent, key))
            throw new PatchApplyError(`replace: missing target ${op.path}`);
          parent[key] = copy(op.value);
        }
        break;
      case 'remove':
        if (Array.isArray(parent)) {
          parent.splice(arrayIndex(key, parent.length - 1, op.path), 1);
        } else {
          if (!Object.prototype.hasOwnProperty.call(parent, key))
            throw new PatchApplyError(`remove: missing target ${op.path}`);
          delete parent[key];
        }
        break;
      default:
        throw new PatchApplyError(`unsupported op ${op.op}`);
    }
  }
  return doc as T;
}

/** Decodes the base64 patch of an AdmissionResponse. */
export function decodePatch(response: { patch?: string }): Op[] {
  return response.patch
    ? (JSON.parse(Buffer.from(response.patch, 'base64').toString('utf8')) as Op[])
    : [];
}
