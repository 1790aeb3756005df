/** RFC 6901 pointers of the tool's patches, and plain data read along a path. */
import { escapeToken } from '../../engine/patch';

export type PathKey = string | number;

/** `/spec/containers/0` → ['spec', 'containers', '0']. */
export function pointerTokens(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

export function tokensPointer(tokens: readonly PathKey[]): string {
  return tokens.map((t) => `/${escapeToken(String(t))}`).join('');
}

/** The value at a path in plain data; undefined when absent. */
export function valueAt(value: unknown, tokens: readonly PathKey[]): unknown {
  let v = value;
  for (const t of tokens) {
    if (Array.isArray(v)) v = v[Number(t)];
    else if (typeof v === 'object' && v !== null)
      v = Object.prototype.hasOwnProperty.call(v, String(t))
        ? (v as Record<string, unknown>)[String(t)]
        : undefined;
    else return undefined;
  }
  return v;
}
