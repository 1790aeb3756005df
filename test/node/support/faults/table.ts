// The fault table of the README: this suite's output. Its figures change from run to run (a
// refusal more or less, a slower create), so the test holds the README to what must not change:
// the faults, in order, with what each allows and the alert it names, no pod admitted
// unhardened, and refusals within what is allowed. `sudo npm run regenerate:fault-table` rewrites
// it from a new run.

import type { Reference } from '../../../support/references';
import { readReference } from '../../../support/references';
import type { FaultResult } from './measure';
import { RATE_PER_SECOND } from './measure';

export const FAULT_TABLE: Reference = {
  file: 'README.md',
  regenerate: 'sudo npm run regenerate:fault-table',
  markers: { begin: '<!-- fault-table:begin', end: '<!-- fault-table:end -->' },
};

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function renderFaultTable(results: readonly FaultResult[]): string {
  const lines = [
    `${RATE_PER_SECOND} pod creations a second into an enforce namespace, plus a Deployment scaled between 0 and 6 every 4 s, while each fault happens in turn; every stored pod is checked.`,
    '',
    '| fault | creations | admitted hardened | admitted unhardened | refused (allowed) | longest create | creations admitted again after | alert |',
    '|---|--:|--:|--:|---|--:|--:|---|',
  ];
  for (const r of results) {
    const reasons = [...r.reasons].map(([kind, n]) => `${kind}: ${n}`).join('; ');
    lines.push(
      [
        '',
        r.fault.name,
        r.attempted,
        r.hardened,
        r.unhardened.length,
        `${r.refused} (${r.fault.allowed})${reasons ? ` ${reasons}` : ''}`,
        seconds(r.longestMs),
        r.backAfterMs === undefined ? 'no refusal' : seconds(r.backAfterMs),
        r.fault.alert,
        '',
      ]
        .join(' | ')
        .trim(),
    );
  }
  return lines.join('\n');
}

interface StableRow {
  fault: string;
  unhardened: string;
  allowed: string;
  withinAllowed: boolean;
  alert: string;
}

/** What a table says that a new run must say too. */
export function stableRows(table: string): StableRow[] {
  return table
    .split('\n')
    .filter((l) => l.startsWith('| ') && !l.startsWith('| fault '))
    .map((l) => {
      const cells = l.split(' | ').map((c) => c.replace(/^\| |\s\|$/g, '').trim());
      const [refused, allowed] = /^(\d+) \((\d+)\)/.exec(cells[4])?.slice(1) ?? ['?', '?'];
      return {
        fault: cells[0],
        unhardened: cells[3],
        allowed,
        withinAllowed: Number(refused) <= Number(allowed),
        alert: cells[7],
      };
    });
}

/** Fails unless the README's table says what this run's table says (see above). */
export function expectFaultTableHolds(generated: string): void {
  const checkedIn = stableRows(readReference(FAULT_TABLE));
  const now = stableRows(generated);
  if (JSON.stringify(checkedIn) === JSON.stringify(now)) return;
  throw new Error(
    `${FAULT_TABLE.file}'s fault table differs from this run's (\`${FAULT_TABLE.regenerate}\` rewrites it):\n` +
      `checked in: ${JSON.stringify(checkedIn, null, 1)}\nthis run: ${JSON.stringify(now, null, 1)}`,
  );
}
