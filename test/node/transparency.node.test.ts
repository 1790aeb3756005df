// Do legacy workloads keep running? Each row of the corpus is a pattern operators meet in images
// they cannot rebuild (test/node/support/corpus.ts). Every row runs on the real node unhardened (a
// namespace without the label) and hardened (an opted-in namespace); where the hardened pod does
// not run, its candidate changes are tried one at a time and the first that makes it run is the
// fix. "Runs" means Ready, with the pattern's own health check answering. The table of
// docs/hardening.md (TABLE_DOC) is this test's output: the test fails when the page differs, and
// `POD_HARDENER_UPDATE_README=1 npm run test:node -- test/node/transparency.node.test.ts` writes it.

import * as fs from 'fs';
import * as path from 'path';
import { repoRoot } from '../e2e/support/controlplane';
import { LabelValues } from '../../src/names';
import { CORPUS, type Outcome, renderTable, runVariant } from './support/corpus';
import { namespace } from './support/cluster';

jest.setTimeout(900_000);

/** The page whose transparency table this test writes. */
const TABLE_DOC = 'docs/hardening.md';
const BEGIN = '<!-- transparency-table:begin (written by test/node/transparency.node.test.ts) -->';
const END = '<!-- transparency-table:end -->';
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  cleanups.push(await namespace('legacy-off'));
  cleanups.push(await namespace('legacy-on', LabelValues.enforce));
});

afterAll(async () => {
  for (const c of cleanups) await c();
});

test('every legacy pattern, unhardened and hardened, with the one change that makes it run; the table of docs/hardening.md is this output', async () => {
  const results: Array<{
    row: (typeof CORPUS)[number];
    unhardened: Outcome;
    hardened: Outcome;
    fix?: { change: string; outcome: Outcome };
  }> = [];
  // All rows of one variant at once: the pods start in parallel.
  const unhardened = await Promise.all(CORPUS.map((row) => runVariant('legacy-off', row, 'u')));
  const hardened = await Promise.all(CORPUS.map((row) => runVariant('legacy-on', row, 'h')));
  for (const [i, row] of CORPUS.entries()) {
    const entry: (typeof results)[number] = {
      row,
      unhardened: unhardened[i],
      hardened: hardened[i],
    };
    if (!hardened[i].runs) {
      for (const [j, candidate] of row.fixes.entries()) {
        const outcome = await runVariant('legacy-on', row, `f${j}`, candidate.apply);
        if (outcome.runs) {
          entry.fix = { change: candidate.change, outcome };
          break;
        }
      }
    }
    results.push(entry);
  }

  const table = renderTable(results);
  console.log(table);
  // Each row means what it says: unhardened, every pattern runs (the image works as it is), and
  // every hardened pod that runs does so as a non-root user.
  for (const r of results) {
    expect({ row: r.row.pattern, runs: r.unhardened.runs }).toEqual({
      row: r.row.pattern,
      runs: true,
    });
    if (r.hardened.runs)
      expect({ row: r.row.pattern, uid: r.hardened.kernel?.uid }).not.toEqual({
        row: r.row.pattern,
        uid: 0,
      });
    if (!r.hardened.runs)
      expect({ row: r.row.pattern, fixed: r.fix !== undefined }).toEqual({
        row: r.row.pattern,
        fixed: true,
      });
  }

  const readmePath = path.join(repoRoot, TABLE_DOC);
  const readme = fs.readFileSync(readmePath, 'utf8');
  const start = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  expect(start).toBeGreaterThan(-1);
  expect(end).toBeGreaterThan(start);
  const current = readme.slice(start + BEGIN.length, end).trim();
  if (process.env.POD_HARDENER_UPDATE_README === '1') {
    fs.writeFileSync(
      readmePath,
      `${readme.slice(0, start + BEGIN.length)}\n${table}\n${readme.slice(end)}`,
    );
  } else {
    expect(current).toBe(table.trim());
  }
});
