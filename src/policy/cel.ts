/**
 * Small builders of CEL text for the policies pod-hardener renders for kube-apiserver. The
 * operator's settings enter the policies only as literals made here, so a value can never be
 * read as CEL.
 */
/** A CEL string literal: backslash, quote and control characters escaped. */
export function celString(text: string): string {
  // Control characters are what must be escaped here: matching them is the point.
  // eslint-disable-next-line no-control-regex
  const escaped = text.replace(/[\\'\u0000-\u001f\u007f]/g, (c) => {
    if (c === '\\') return '\\\\';
    if (c === "'") return "\\'";
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
  return `'${escaped}'`;
}

/** A CEL list of string literals. */
export function celStrings(items: readonly string[]): string {
  return `[${items.map(celString).join(', ')}]`;
}

/**
 * `has(x.a) && has(x.a.b)`: presence of a nested field, each step tested, since has() on a field
 * of a missing object is an error rather than false.
 */
export function hasPath(base: string, path: readonly string[]): string {
  return path.map((_, i) => `has(${base}.${path.slice(0, i + 1).join('.')})`).join(' && ');
}

/** The field's value where present, else `fallback` (which must have the field's type). */
export function getOr(base: string, path: readonly string[], fallback: string): string {
  return `(${hasPath(base, path)} ? ${base}.${path.join('.')} : ${fallback})`;
}

/** Every RE2 metacharacter as a literal (RE2 reads a backslash before punctuation as the literal). */
export function escapeRe2(text: string): string {
  return text.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

/** A `*` pattern of the configuration (engine/glob.ts) as an RE2 expression. */
export function globExpression(pattern: string): string {
  return pattern.split('*').map(escapeRe2).join('.*');
}

/** Patterns as one RE2 alternation; no pattern gives the empty expression (matches only ''). */
export function globsExpression(patterns: readonly string[]): string {
  return patterns.map(globExpression).join('|');
}

/**
 * A capability name as the engine normalizes it (engine/capabilities.ts): trimmed, upper case,
 * without `CAP_`. `x` must be a CEL string expression without side effects.
 */
export function normalizedCapability(x: string): string {
  return bind('u', `${x}.trim().upperAscii()`, "u.startsWith('CAP_') ? u.substring(4) : u");
}

/**
 * `body` with `name` standing for the value of `init`, evaluated once. kube-apiserver's CEL for
 * admission policies has no cel.bind; a one-element list mapped gives the same.
 */
export function bind(name: string, init: string, body: string): string {
  return `[${init}].map(${name}, ${body})[0]`;
}
