/**
 * Every relative link of the user documentation (README.md and docs/*.md) leads somewhere: the
 * file or directory exists in the repository, and an `#anchor` names a heading of its target as
 * GitHub renders anchors. The reference moved out of the README into docs/; a link left pointing
 * at the old place is a reader sent nowhere.
 */
import { existsSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { docFiles, headings, links, readDoc, REPO, slug } from '../../support/markdown';

/** Whether a link leaves the repository (a scheme such as https: or mailto:). */
const external = (target: string) => /^[a-z][a-z0-9+.-]*:/i.test(target);

/** What is wrong with one link of `file`, or undefined when it resolves. */
function brokenLink(file: string, target: string): string | undefined {
  const [pathPart, anchor] = target.split('#', 2) as [string, string | undefined];
  const resolved = pathPart ? normalize(join(dirname(file), decodeURIComponent(pathPart))) : file;
  if (resolved.startsWith('..')) return `leaves the repository (${resolved})`;
  if (!existsSync(join(REPO, resolved))) return `no file ${resolved}`;
  if (anchor === undefined) return undefined;
  if (!resolved.endsWith('.md') || statSync(join(REPO, resolved)).isDirectory())
    return `an anchor into ${resolved}, which is not a Markdown file`;
  const anchors = headings(readDoc(resolved)).map((h) => h.anchor);
  return anchors.includes(decodeURIComponent(anchor).toLowerCase())
    ? undefined
    : `no heading with anchor #${anchor} in ${resolved}`;
}

describe('the links of the documentation', () => {
  const files = docFiles();

  test('the documentation is the README and the docs/ reference', () => {
    expect(files).toContain('README.md');
    expect(files.filter((f) => f.startsWith('docs/')).length).toBeGreaterThanOrEqual(8);
  });

  test.each(files)('%s: every relative link and anchor resolves', (file) => {
    const relativeLinks = links(readDoc(file)).filter((l) => !external(l.target));
    const broken = relativeLinks.flatMap(({ target, line }) => {
      const problem = brokenLink(file, target);
      return problem ? [`${file}:${line}: (${target}) ${problem}`] : [];
    });
    expect(broken).toEqual([]);
  });

  test('anchors are made as GitHub makes them', () => {
    expect(slug('kubectl harden: the same hardening for manifest files')).toBe(
      'kubectl-harden-the-same-hardening-for-manifest-files',
    );
    expect(slug('Monitoring: ServiceMonitor and alerts')).toBe(
      'monitoring-servicemonitor-and-alerts',
    );
    expect(slug('The `pod-hardener.io/hardened` annotation')).toBe(
      'the-pod-hardeneriohardened-annotation',
    );
    expect(slug('npm run bench:cluster')).toBe('npm-run-benchcluster');
    expect(slug('Decisions where the **contract** is silent')).toBe(
      'decisions-where-the-contract-is-silent',
    );
    expect(slug('run_as_user')).toBe('run_as_user');
    const twice = headings('# Figures\n\n## Figures\n\n```sh\n# not a heading\n```\n');
    expect(twice.map((h) => h.anchor)).toEqual(['figures', 'figures-1']);
  });

  test('a link to a missing file or heading is reported', () => {
    expect(brokenLink('README.md', 'docs/no-such-file.md')).toBe('no file docs/no-such-file.md');
    expect(brokenLink('README.md', '#no-such-heading')).toBe(
      'no heading with anchor #no-such-heading in README.md',
    );
    expect(brokenLink('docs/configuration.md', '../README.md')).toBeUndefined();
    expect(brokenLink('docs/configuration.md', '../../outside.md')).toMatch(
      /^leaves the repository/,
    );
  });
});
