/**
 * The `config` part of the chart's values.schema.json is generated from the webhook's own
 * configuration schema (src/config/schema.ts), less the keys the chart sets from its objects:
 * test/unit/charts/values.test.ts checks it, `npm run regenerate:chart-schema` rewrites it.
 */
import { z } from 'zod';
import { layerSchema } from '../../src/config/schema';
import type { Reference } from './references';

export const CHART_SCHEMA: Reference = {
  file: 'charts/pod-hardener/values.schema.json',
  regenerate: 'npm run regenerate:chart-schema',
};

/** Keys of config.yaml that the chart derives from its objects and ports (values.yaml says so). */
const CHART_OWNED = [
  ['server', 'port'],
  ['server', 'metricsPort'],
  ['certificates', 'source'],
  ['certificates', 'certFile'],
  ['certificates', 'keyFile'],
  ['certificates', 'directory'],
  ['certificates', 'selfManaged', 'namespace'],
  ['certificates', 'selfManaged', 'serviceName'],
  ['certificates', 'selfManaged', 'secretName'],
  ['certificates', 'selfManaged', 'webhookConfigurationName'],
];

/** The JSON schema of the chart's `config` value. */
export function chartConfigSchema(): Record<string, any> {
  const { $schema: _, ...schema } = z.toJSONSchema(layerSchema, {
    target: 'draft-7',
    unrepresentable: 'any',
  }) as Record<string, any>;
  for (const path of CHART_OWNED) {
    let node = schema;
    for (const key of path.slice(0, -1)) node = node.properties[key];
    if (!(path.at(-1)! in node.properties))
      throw new Error(`config.yaml has no key ${path.join('.')} any more`);
    delete node.properties[path.at(-1)!];
  }
  schema.description =
    "The webhook's config.yaml (generated from src/config/schema.ts), less the keys the chart sets from its objects";
  return schema;
}

/** values.schema.json as it should be: `checkedIn` with its `config` part generated anew. */
export function renderChartSchema(checkedIn: string): string {
  const schema = JSON.parse(checkedIn);
  schema.properties.config = chartConfigSchema();
  return `${JSON.stringify(schema, null, 2)}\n`;
}
