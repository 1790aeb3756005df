// `npm run regenerate:fault-table` (as root: it needs the node): runs the fault suite on the real
// node of this machine, as the node tier does, and rewrites the README's fault table with its
// figures. test/node/faults.node.test.ts checks what the table claims.
import globalSetup from '../node/support/global-setup';
import globalTeardown from '../node/support/global-teardown';
import { measureFaults } from '../node/support/faults/suite';
import { FAULT_TABLE, renderFaultTable } from '../node/support/faults/table';
import type { FaultResult } from '../node/support/faults/measure';
import { writeReference } from '../support/references';

export async function main(): Promise<void> {
  await globalSetup();
  try {
    const results = await measureFaults();
    const failed = results.filter((r) => 'error' in r);
    if (failed.length > 0)
      throw new Error(`faults that did not run: ${failed.map((r) => r.fault.name).join(', ')}`);
    const table = renderFaultTable(results as FaultResult[]);
    writeReference(FAULT_TABLE, table);
    console.log(`${table}\n${FAULT_TABLE.file}: rewritten`);
  } finally {
    await globalTeardown();
  }
}
