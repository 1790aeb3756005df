// `npm run regenerate:policy-files`: rewrites the chart's files/mutating-policy.yaml and
// manifests/overlays/policy/policy.yaml from src/policy, after a change there, to the engine's
// defaults or to manifests/base/config.yaml (test/unit/charts/policy-mode.test.ts says when).
import { writeFileSync } from 'node:fs';
import { CHART_MUTATING_POLICY, OVERLAY_POLICY, renderPolicyFiles } from '../support/policy-files';

export function main(): void {
  const { chart, overlay } = renderPolicyFiles();
  writeFileSync(CHART_MUTATING_POLICY, chart);
  writeFileSync(OVERLAY_POLICY, overlay);
  console.log(`rewritten: ${CHART_MUTATING_POLICY}, ${OVERLAY_POLICY}`);
}
