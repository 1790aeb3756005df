// Do legacy workloads keep running? Every row of the corpus (./corpus.ts) runs on the real node
// unhardened (a namespace without the label) and hardened (an opted-in namespace); where the
// hardened pod does not run, its candidate changes are tried one at a time and the first that
// makes it run is the fix. "Runs" means Ready, with the pattern's own health check answering.
// The table of docs/hardening.md is this measurement's output: test/node/transparency.node.test.ts checks it,
// `npm run regenerate:transparency-table` (as root: it needs the node) rewrites it.

import { LabelValues } from '../../../src/names';
import type { Reference } from '../../support/references';
import { namespace } from './cluster';
import { CORPUS, type Outcome, type Row, runVariant } from './corpus';

export const TRANSPARENCY_TABLE: Reference = {
  file: 'docs/hardening.md',
  regenerate: 'sudo npm run regenerate:transparency-table',
  // The begin marker is matched up to the end of its line, so its wording may change.
  markers: { begin: '<!-- transparency-table:begin', end: '<!-- transparency-table:end -->' },
};

export interface TransparencyResult {
  row: Row;
  unhardened: Outcome;
  hardened: Outcome;
  fix?: { change: string; outcome: Outcome };
}

/** Runs every row of the corpus unhardened, hardened and, where needed, with each fix in turn. */
export async function measureTransparency(): Promise<TransparencyResult[]> {
  const cleanups = [
    await namespace('legacy-off'),
    await namespace('legacy-on', LabelValues.enforce),
  ];
  try {
    // All rows of one variant at once: the pods start in parallel.
    const unhardened = await Promise.all(CORPUS.map((row) => runVariant('legacy-off', row, 'u')));
    const hardened = await Promise.all(CORPUS.map((row) => runVariant('legacy-on', row, 'h')));
    const results: TransparencyResult[] = [];
    for (const [i, row] of CORPUS.entries()) {
      const entry: TransparencyResult = { row, unhardened: unhardened[i], hardened: hardened[i] };
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
    return results;
  } finally {
    for (const cleanup of cleanups) await cleanup();
  }
}
