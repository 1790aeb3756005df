// Do legacy workloads keep running? Every row of the corpus (./corpus.ts) runs on the real node
// unhardened (a namespace without the label) and hardened (an opted-in namespace); where the
// hardened pod does not run, its candidate changes are tried one at a time and the first that
// makes it run is the fix. Then every row runs hardened once more with image identity on, its
// images pulled from the node tier's registry. "Runs" means Ready, with the pattern's own health
// check answering.
// The table of docs/hardening.md is this measurement's output: test/node/transparency.node.test.ts checks it,
// `npm run regenerate:transparency-table` (as root: it needs the node) rewrites it.

import { LabelValues } from '../../../src/names';
import type { Reference } from '../../support/references';
import { eventually } from '../../support/eventually';
import { clusterCommand, clusterEnv, kubectl, namespace } from './cluster';
import { CORPUS, corpusImages, fromRegistry, type Outcome, type Row, runVariant } from './corpus';
import { applyNodeTierConfig, imageIdentityOn } from './global-setup';

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
  /** Hardened with image identity on. */
  identity: Outcome;
  fix?: { change: string; named: string; outcome: Outcome };
}

const OFF = 'legacy-off';
const ON = 'legacy-on';

/** Every row of the corpus at once in one namespace: the pods start in parallel. */
function runAll(ns: string, suffix: string, change?: (pod: any) => void): Promise<Outcome[]> {
  return Promise.all(CORPUS.map((row) => runVariant(ns, row, suffix, change)));
}

/** The first candidate change that makes the row run hardened, tried one at a time. */
async function firstFix(row: Row): Promise<TransparencyResult['fix']> {
  for (const [j, candidate] of row.fixes.entries()) {
    const outcome = await runVariant(ON, row, `f${j}`, candidate.apply);
    if (outcome.runs) return { change: candidate.change, named: candidate.named, outcome };
  }
  return undefined;
}

/**
 * What a review says of an image that image identity has read: the USER kept, or why it was not
 * (a root or named USER), but not a lookup that failed or outran the budget. A replica that still
 * runs without image identity (the rollout just ended) says neither.
 */
const READ =
  /\(image USER\)|image USER not used \((?!image lookup failed|the registry did not answer)/;

/**
 * Each replica of pod-hardener reads an image once and caches it, and a first read slower than
 * the budget gives that one pod the defaults. Dry runs of each image, until several in a row
 * were answered from the registry, so that the pods of the phase are not the first readers.
 */
async function readImagesAhead(images: string[]): Promise<void> {
  for (const image of images) {
    let inARow = 0;
    await eventually(
      async () => {
        const r = await kubectl([
          ...['-n', ON, 'run', 'read-ahead', `--image=${image}`, '--restart=Never'],
          ...['--dry-run=server', '-o', 'name'],
        ]);
        inARow = READ.test(r.stderr) ? inARow + 1 : 0;
        return inARow >= 4;
      },
      { what: `pod-hardener to read ${image} from the registry`, timeoutMs: 60_000, everyMs: 200 },
    );
  }
}

/**
 * Every row hardened with image identity on, its images from the node tier's registry: the
 * configuration switched once for the whole phase, and back to the node tier's in any case.
 */
async function measureWithImageIdentity(): Promise<Outcome[]> {
  const registry = clusterEnv().registry;
  // Another test may have left it stopped; started, it holds this build's legacy images.
  clusterCommand('registry-start');
  const change = fromRegistry(registry);
  try {
    await applyNodeTierConfig({}, imageIdentityOn(registry));
    await readImagesAhead(corpusImages(change));
    return await runAll(ON, 'i', change);
  } finally {
    await applyNodeTierConfig();
  }
}

/** Runs every row of the corpus unhardened, hardened, where needed with each fix in turn, and hardened with image identity on. */
export async function measureTransparency(): Promise<TransparencyResult[]> {
  const cleanups = [await namespace(OFF), await namespace(ON, LabelValues.enforce)];
  try {
    const unhardened = await runAll(OFF, 'u');
    const hardened = await runAll(ON, 'h');
    const fixes: Array<TransparencyResult['fix']> = [];
    for (const [i, row] of CORPUS.entries())
      fixes.push(hardened[i].runs ? undefined : await firstFix(row));
    const identity = await measureWithImageIdentity();
    return CORPUS.map((row, i) => ({
      row,
      unhardened: unhardened[i],
      hardened: hardened[i],
      identity: identity[i],
      ...(fixes[i] ? { fix: fixes[i] } : {}),
    }));
  } finally {
    for (const cleanup of cleanups) await cleanup();
  }
}
