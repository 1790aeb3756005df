/**
 * The log line's timestamp is formatted once a second and completed per line: it must be
 * exactly what toISOString writes, whatever order the times come in.
 */
import { isoTimestamp, logTime } from '../../../src/server/log-time';
import { createLogger } from '../../../src/server/logging';
import { LogCapture } from '../../support/http';

const iso = (ms: number) => new Date(ms).toISOString();

describe('isoTimestamp', () => {
  test('every millisecond across second, minute, day and year boundaries', () => {
    const edges = [
      Date.UTC(2026, 11, 31, 23, 59, 59, 0),
      Date.UTC(2028, 1, 28, 23, 59, 59, 0), // into a leap day
      Date.UTC(1970, 0, 1, 0, 0, 0, 0) - 1000, // before the epoch: negative times
    ];
    for (const start of edges)
      for (let ms = start; ms < start + 2000; ms++) expect(isoTimestamp(ms)).toBe(iso(ms));
  });

  test('times in any order, the cache going backwards and forwards', () => {
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    const times: number[] = [];
    for (let i = 0; i < 5000; i++) {
      const base = Date.UTC(1990 + (next() % 80), next() % 12, 1 + (next() % 28));
      times.push(base + (next() % 86_400_000), base + (next() % 3));
    }
    for (const ms of times) expect(isoTimestamp(ms)).toBe(iso(ms));
  });

  test('years beyond 9999 take the slow path and stay right', () => {
    const far = Date.UTC(12345, 5, 6, 7, 8, 9, 10);
    expect(isoTimestamp(far)).toBe(iso(far));
    expect(isoTimestamp(far + 1)).toBe(iso(far + 1));
    expect(isoTimestamp(Date.UTC(2026, 0, 1, 0, 0, 0, 5))).toBe('2026-01-01T00:00:00.005Z');
  });
});

describe('log lines', () => {
  test('carry the ISO time of the moment they are written, and the level as a word', () => {
    expect(logTime()).toMatch(/^,"time":"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"$/);
    const logs = new LogCapture();
    const before = Date.now();
    createLogger('debug', logs).warn({ a: 1 }, 'hello');
    const after = Date.now();
    const line = logs.lines[0];
    expect(line.level).toBe('warn');
    const at = Date.parse(line.time as string);
    expect(at).toBeGreaterThanOrEqual(before);
    expect(at).toBeLessThanOrEqual(after);
  });
});
