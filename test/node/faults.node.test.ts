// Faults on the real node under load (./support/faults): pod creations go on at a fixed rate
// while a webhook pod is killed, the webhook restarts, upgrades, is evicted, rotates its
// certificate, reloads its configuration, is reinstalled, switches to policy mode and back, and
// kube-apiserver restarts. No pod may be stored unhardened, refusals stay within what each fault
// allows, and the README's fault table says what this run says. `npm run faults` runs it alone.

import * as fs from 'node:fs';
import { LabelValues } from '../../src/names';
import { expectedStatus, parseProcStatus } from './support/kernel';
import { namespace, probePod, apply, statusOnNode, waitRunning } from './support/cluster';
import { measureFaults } from './support/faults/suite';
import { expectFaultTableHolds, renderFaultTable } from './support/faults/table';
import type { FaultResult } from './support/faults/measure';

jest.setTimeout(3_600_000);

const hostBounding = parseProcStatus(fs.readFileSync('/proc/self/status', 'utf8')).capBnd;

/** In policy mode, no webhook runs: the pod the API server's own policy hardened runs so on the node. */
async function policyModeKernelView(): Promise<string> {
  const ns = 'faults-policy-kernel';
  const cleanup = await namespace(ns, LabelValues.enforce);
  try {
    await apply(probePod(ns, 'probe'));
    const pod = await waitRunning(ns, 'probe');
    const seen = statusOnNode(pod, 'app');
    expect(seen).toEqual(expectedStatus(pod, 'app', { hostBounding }));
    expect(seen).toMatchObject({ uid: 1000, capEff: 0n, noNewPrivs: 1, seccomp: 2 });
    return `policy mode, on the node: Uid ${seen.uid} Gid ${seen.gid} CapEff ${seen.capEff} NoNewPrivs ${seen.noNewPrivs} Seccomp ${seen.seccomp}`;
  } finally {
    await cleanup();
  }
}

test('no pod is admitted unhardened through any fault, refusals stay within what each allows, and the faults, bounds and zero counts of the README table agree with this run', async () => {
  let kernelView = '';
  const results = await measureFaults(async (fault) => {
    if (fault.name.startsWith('switched to policy mode')) kernelView = await policyModeKernelView();
  });
  const measured = results.filter((r): r is FaultResult => !('error' in r));
  const table = renderFaultTable(measured);
  console.log(`${table}\n\n${kernelView}`);

  expect(
    results.filter((r) => 'error' in r).map((r) => `${r.fault.name}: ${(r as any).error.message}`),
  ).toEqual([]);
  for (const r of measured) {
    expect({
      fault: r.fault.name,
      unhardened: r.unhardened.slice(0, 5),
      lost: r.lost.slice(0, 5),
    }).toEqual({
      fault: r.fault.name,
      unhardened: [],
      lost: [],
    });
    expect({
      fault: r.fault.name,
      withinAllowed: r.refused <= r.fault.allowed,
      refused: r.refused,
      reasons: Object.fromEntries(r.reasons),
    }).toMatchObject({ fault: r.fault.name, withinAllowed: true });
    // The load ran: at the rate asked for, for as long as the fault lasted.
    expect(r.attempted).toBeGreaterThan(100);
  }
  expect(kernelView).toMatch(/^policy mode/);
  expectFaultTableHolds(table);
});
