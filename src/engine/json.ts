/** A JSON object: not null, not a list. The one shape check every layer that reads JSON needs. */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
