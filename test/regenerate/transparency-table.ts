// `npm run regenerate:transparency-table` (as root): measures the legacy corpus on the real node of
// this machine, as the node tier does (its global setup starts the cluster unless one runs, and
// its teardown removes a cluster it started), and rewrites the README's table with the result.
// test/node/transparency.node.test.ts checks what each row claims.
import globalSetup from '../node/support/global-setup';
import globalTeardown from '../node/support/global-teardown';
import { renderTable } from '../node/support/corpus';
import { TRANSPARENCY_TABLE, measureTransparency } from '../node/support/transparency';
import { readReference, writeReference } from '../support/references';

export async function main(): Promise<void> {
  await globalSetup();
  try {
    const table = renderTable(await measureTransparency());
    const changed = readReference(TRANSPARENCY_TABLE).trim() !== table.trim();
    writeReference(TRANSPARENCY_TABLE, table);
    console.log(`${table}\n${TRANSPARENCY_TABLE.file}: ${changed ? 'rewritten' : 'unchanged'}`);
  } finally {
    await globalTeardown();
  }
}
