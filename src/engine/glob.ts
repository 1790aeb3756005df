/**
 * Compiles a shell-style pattern (`*` matches any run of characters, everything else literal)
 * into a predicate. Used for the operator's namespace, container-name and image patterns,
 * compiled once at start.
 *
 * Matched without a regular expression: the values come from pods (an image reference can be
 * megabytes long in a hostile body), and a backtracking `^.*a.*b.*$` costs the product of the
 * value's length and the number of stars. Between the fixed first and last parts, each middle
 * part is found at its leftmost place after the previous one; taking the leftmost place never
 * loses a match (anything a later place could match, the gap's `*` can absorb), so one pass
 * over the value decides.
 */
export function compileGlob(pattern: string): (value: string) => boolean {
  if (pattern === '*') return () => true;
  if (!pattern.includes('*')) return (value) => value === pattern;
  const parts = pattern.split('*');
  const first = parts[0];
  const last = parts[parts.length - 1];
  const middle = parts.slice(1, -1).filter((p) => p !== '');
  const fixed = first.length + last.length;
  return (value) => {
    if (value.length < fixed || !value.startsWith(first) || !value.endsWith(last)) return false;
    let at = first.length;
    const end = value.length - last.length;
    for (const part of middle) {
      const found = value.indexOf(part, at);
      if (found < 0 || found + part.length > end) return false;
      at = found + part.length;
    }
    return true;
  };
}

export function compileGlobs(patterns: readonly string[]): (value: string) => boolean {
  const matchers = patterns.map(compileGlob);
  return (value) => matchers.some((m) => m(value));
}
