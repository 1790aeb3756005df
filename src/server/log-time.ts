/**
 * The `time` field of every log line: ISO 8601 in UTC with milliseconds, exactly what
 * `new Date().toISOString()` writes (pino's isoTime). Formatting a Date costs more than half a
 * microsecond, paid on every review line; the text up to the seconds changes once a second, so
 * it is formatted once per second and only the milliseconds are written per line.
 *
 * Years outside 0000-9999 (toISOString's `+012345-...` form) never reach a running webhook's
 * clock; they still come out right, through the slow path.
 */
let cachedSecond = Number.NaN;
let cachedPrefix = '';

/** `2026-12-02T03:08:58.026Z` for a time in milliseconds since the epoch. */
export function isoTimestamp(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== cachedSecond) {
    const text = new Date(second * 1000).toISOString();
    // `YYYY-MM-DDTHH:MM:SS.` (20 characters) for every year a clock of this century shows.
    if (text.length !== 24) return new Date(ms).toISOString();
    cachedSecond = second;
    cachedPrefix = text.slice(0, 20);
  }
  const millis = ms - second * 1000;
  return `${cachedPrefix}${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
}

/** pino's `timestamp` option: the JSON fragment it appends to each line. */
export function logTime(): string {
  return `,"time":"${isoTimestamp(Date.now())}"`;
}
