/**
 * The table of docs/security-model.md that says what `pod-hardener guard-params` writes for each
 * exception setting: each row's config.yaml value, given to the same function the command runs,
 * gives the ConfigMap value of that row (a value ending in `…` is shown cut short).
 */
import YAML from 'yaml';
import { guardParams } from '../../../src/cli/guard-params/command';
import { DEFAULT_POLICY } from '../../../src/config/schema';
import { readDoc, section } from '../../support/markdown';

/** The page and section of the table. */
const GUARD_DOC = 'docs/security-model.md';
const GUARD_SECTION = 'The guard, and why the webhook fails open';

/** The cells of a table row; `\|` is a `|` inside a cell. */
const cells = (line: string) =>
  line
    .split(/(?<!\\)\|/)
    .slice(1, -1)
    .map((c) => c.trim().replace(/\\\|/g, '|'));

const rows = section(readDoc(GUARD_DOC), GUARD_SECTION, GUARD_DOC)
  .split('\n')
  .filter((line) => line.startsWith('| `exceptions.'))
  .map(cells);

const code = (cell: string) => /`([^`]*)`/.exec(cell)?.[1] ?? '';

test('the table has a row for each exception setting', () => {
  expect(rows.map((r) => code(r[0]).split(':')[0]).sort()).toEqual([
    'exceptions.capabilityCeiling',
    'exceptions.exemptContainers',
    'exceptions.skipNamespaces',
  ]);
});

test.each(rows.map((r) => [code(r[0]), code(r[1])]))('%s writes %s', (setting, written) => {
  const [path, value] = setting.split(/:\s(.*)/s);
  const key = path.replace(/^exceptions\./, '') as 'skipNamespaces';
  const settings = {
    ...DEFAULT_POLICY,
    ...(value === undefined ? {} : { [key]: YAML.parse(value) }),
  };
  const [paramKey, shown] = Object.entries(YAML.parse(written) as Record<string, string>)[0];
  const actual = guardParams(settings)[paramKey as keyof ReturnType<typeof guardParams>];
  if (shown.endsWith('…')) expect(actual.startsWith(shown.slice(0, -1))).toBe(true);
  else expect(actual).toBe(shown);
});
