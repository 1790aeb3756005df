/**
 * Compiles a shell-style pattern (`*` matches any run of characters, everything else literal)
 * into a predicate. Used for the operator's namespace and image patterns, compiled once at start.
 */
export function compileGlob(pattern: string): (value: string) => boolean {
  if (pattern === '*') return () => true;
  if (!pattern.includes('*')) return (value) => value === pattern;
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  const re = new RegExp(`^${source}$`, 's');
  return (value) => re.test(value);
}

export function compileGlobs(patterns: readonly string[]): (value: string) => boolean {
  const matchers = patterns.map(compileGlob);
  return (value) => matchers.some((m) => m(value));
}
