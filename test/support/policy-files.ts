/**
 * The policy-mode files checked into the repository, which `pod-hardener policy` writes: the
 * chart's files/mutating-policy.yaml (for the defaults) and manifests/overlays/policy/policy.yaml
 * (for manifests/base/config.yaml). test/unit/charts/policy-mode.test.ts compares them with what
 * the renderer writes; only `npm run regenerate:policy-files` rewrites them.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadPolicy } from '../../src/cli/configured-policy';
import { DEFAULT_POLICY } from '../../src/config/schema';
import { toYamlDocuments } from '../../src/policy/documents';
import { mutatingPolicy } from '../../src/policy/mutating';
import { renderPolicyMode } from '../../src/policy/render';
import { CHART, REPO } from './tools';

export const REGENERATE_POLICY_FILES = 'npm run regenerate:policy-files';
export const CHART_MUTATING_POLICY = join(CHART, 'files', 'mutating-policy.yaml');
export const OVERLAY_POLICY = join(REPO, 'manifests', 'overlays', 'policy', 'policy.yaml');

/** The chart's MutatingAdmissionPolicy for the default settings. */
export function chartMutatingPolicy() {
  return mutatingPolicy(DEFAULT_POLICY, { name: 'pod-hardener', namespace: 'pod-hardener' })[0];
}

/** The settings of manifests/base/config.yaml, as the webhook would load them. */
export function baseSettings() {
  return loadPolicy(join(REPO, 'manifests', 'base', 'config.yaml'), {}, (p) =>
    readFileSync(p, 'utf8'),
  ).policy.settings;
}

/** Both files' text as the renderer writes them (the chart file keeps its header comment). */
export function renderPolicyFiles(): { chart: string; overlay: string } {
  const header = readFileSync(CHART_MUTATING_POLICY, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('#'))
    .join('\n');
  return {
    chart: `${header}\n${toYamlDocuments([chartMutatingPolicy()], '').replace(/^#.*\n\n/, '')}`,
    overlay: toYamlDocuments(
      renderPolicyMode(baseSettings()),
      'pod-hardener in policy mode (Kubernetes >= 1.36), written by `pod-hardener policy` from manifests/base/config.yaml.',
    ),
  };
}
