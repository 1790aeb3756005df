/**
 * The benchmarks are plain JavaScript that loads the sources and test helpers by path, outside
 * the type check: a module moved or renamed breaks `npm run bench*` without any test noticing.
 * This test resolves every relative require of bench/ the way Node will, so that it does.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { REPO } from '../support/tools';

const scripts = (dir: string): string[] =>
  readdirSync(join(REPO, dir), { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? scripts(join(dir, e.name))
      : e.name.endsWith('.js')
        ? [join(dir, e.name)]
        : [],
  );

test('every relative require of the benchmarks names a file that exists', () => {
  const unresolved: string[] = [];
  let seen = 0;
  for (const script of scripts('bench')) {
    const text = readFileSync(join(REPO, script), 'utf8');
    for (const [, spec] of text.matchAll(/require\('(\.{1,2}\/[^']+)'\)/g)) {
      seen++;
      try {
        require.resolve(join(REPO, dirname(script), spec));
      } catch {
        unresolved.push(`${script}: ${spec}`);
      }
    }
    // The production build, `${dist}/x.js`, is src/x.ts compiled.
    for (const [, built] of text.matchAll(/require\(`\$\{dist\}\/([^`]+)\.js`\)/g)) {
      seen++;
      try {
        require.resolve(join(REPO, 'src', `${built}.ts`));
      } catch {
        unresolved.push(`${script}: dist/${built}.js (no src/${built}.ts)`);
      }
    }
  }
  expect(seen).toBeGreaterThan(20);
  expect(unresolved).toEqual([]);
});
