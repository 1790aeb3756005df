// Do legacy workloads keep running, with image identity off and on? The measurement is
// ./support/transparency.ts; this test checks that each row means what it says, and that the
// table of docs/hardening.md is its output (else it fails with a diff and the command that
// rewrites the table).

import { noteNaming, renderTable } from './support/corpus';
import { TRANSPARENCY_TABLE, measureTransparency } from './support/transparency';
import { expectReferenceUpToDate } from '../support/references';

jest.setTimeout(900_000);

test('every legacy pattern, unhardened, hardened and hardened with image identity on, with the one change that makes it run; the table of docs/hardening.md is this output', async () => {
  const results = await measureTransparency();
  const table = renderTable(results);
  console.log(table);
  // Each row means what it says: unhardened, every pattern runs (the image works as it is), and
  // every hardened pod that runs, with image identity off or on, does so as a non-root user.
  for (const r of results) {
    expect({ row: r.row.pattern, runs: r.unhardened.runs }).toEqual({
      row: r.row.pattern,
      runs: true,
    });
    for (const [variant, outcome] of Object.entries({ off: r.hardened, on: r.identity })) {
      if (outcome.runs)
        expect({ row: r.row.pattern, identity: variant, uid: outcome.kernel?.uid }).not.toEqual({
          row: r.row.pattern,
          identity: variant,
          uid: 0,
        });
    }
    if (!r.hardened.runs) {
      expect({ row: r.row.pattern, fixed: r.fix !== undefined }).toEqual({
        row: r.row.pattern,
        fixed: true,
      });
    }
    // A note came before it broke: wherever the hardened pod does not run, with image identity
    // off or on, the webhook's warnings said it may stop working and named the change that the
    // measurement found to make it run.
    for (const [variant, outcome] of Object.entries({ off: r.hardened, on: r.identity })) {
      if (outcome.runs) continue;
      expect({
        row: r.row.pattern,
        identity: variant,
        warned: /may stop working/.test(outcome.warnings ?? ''),
        named: r.fix ? noteNaming(outcome.warnings, r.fix.named) !== undefined : 'no fix found',
      }).toEqual({ row: r.row.pattern, identity: variant, warned: true, named: true });
    }
  }
  expectReferenceUpToDate(TRANSPARENCY_TABLE, table);
});
