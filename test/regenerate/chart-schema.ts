// `npm run regenerate:chart-schema`: rewrites the `config` part of the chart's values.schema.json
// from src/config/schema.ts, after a change there (test/unit/charts/values.test.ts says when).
import { CHART_SCHEMA, renderChartSchema } from '../support/chart-schema';
import { readReference, writeReference } from '../support/references';

export function main(): void {
  const before = readReference(CHART_SCHEMA);
  const after = renderChartSchema(before);
  writeReference(CHART_SCHEMA, after);
  console.log(`${CHART_SCHEMA.file}: ${before === after ? 'unchanged' : 'rewritten'}`);
}
