// The whole fault suite: pod-hardener installed with its Helm chart in place of the node tier's
// kustomize install, every fault of ./faults.ts under load in turn, then the kustomize install
// put back. Used by test/node/faults.node.test.ts (`npm run faults` runs it alone) and by
// `npm run regenerate:fault-table`.

import { LabelValues } from '../../../../src/names';
import { eventually } from '../../../support/eventually';
import { kubectl, namespace } from '../cluster';
import {
  helm,
  removeKustomizeInstall,
  removeNamespace,
  restoreKustomizeInstall,
  RELEASE_NS,
} from '../helm';
import { faults, installArgs, runDocumentedCommand, webhookWhole, type Fault } from './faults';
import type { ApiClient } from '../../../e2e/support/dry-run';
import { clusterApi } from './load';
import { underLoad, type FaultResult } from './measure';

async function installChart(): Promise<void> {
  await removeKustomizeInstall();
  await kubectl(['create', 'namespace', RELEASE_NS]);
  await helm(['install', ...installArgs()]);
  await webhookWhole();
}

/** The release out, its kept guard removed as helm.md says, the tier's kustomize install back. */
async function uninstallChart(): Promise<void> {
  await helm(['uninstall', 'pod-hardener', '--namespace', RELEASE_NS, '--wait']).catch(() => '');
  await runDocumentedCommand(
    'docs/helm.md',
    'validatingadmissionpolicybinding,validatingadmissionpolicy',
  );
  await removeNamespace(RELEASE_NS);
  await restoreKustomizeInstall();
}

/** Waits until a pod created in an enforce namespace is admitted (the guard and webhook in place). */
async function admitting(api: ApiClient, ns: string): Promise<void> {
  const cleanup = await namespace(ns, LabelValues.enforce);
  try {
    await eventually(
      async () =>
        (
          await api.send('POST', `/api/v1/namespaces/${ns}/pods?dryRun=All`, {
            apiVersion: 'v1',
            kind: 'Pod',
            metadata: { name: 'ready' },
            spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1' }] },
          })
        ).status === 201,
      { what: 'pods to be admitted in an enforce namespace', timeoutMs: 60_000, everyMs: 250 },
    );
  } finally {
    await cleanup();
  }
}

/**
 * Runs every fault under load; `after` runs after each one (the test checks the kernel view of a
 * pod while policy mode is in force there). A fault that throws is recorded and the suite goes on.
 */
export async function measureFaults(
  after: (fault: Fault, result: FaultResult | Error) => Promise<void> = async () => undefined,
): Promise<Array<FaultResult | { fault: Fault; error: Error }>> {
  const api = clusterApi(256);
  await installChart();
  const out: Array<FaultResult | { fault: Fault; error: Error }> = [];
  try {
    for (const [i, fault] of faults(api).entries()) {
      await admitting(api, `faults-${i}-ready`);
      let result: FaultResult | Error;
      try {
        result = await underLoad(api, fault, `faults-${i}`);
        out.push(result);
      } catch (err) {
        result = err as Error;
        out.push({ fault, error: result });
      }
      console.log(
        `fault "${fault.name}": ${result instanceof Error ? result.message : JSON.stringify({ ...result, fault: undefined, reasons: Object.fromEntries(result.reasons), unhardened: `${result.unhardened.length}: ${result.unhardened.slice(0, 3).join('; ')}` })}`,
      );
      await after(fault, result);
    }
  } finally {
    api.close();
    await uninstallChart();
  }
  return out;
}
