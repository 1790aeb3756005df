/**
 * The order of a graceful shutdown, on fake timers and fake parts: readiness fails first, the
 * port keeps serving for the delay, then stops accepting; connections still open at the grace
 * deadline are cut (exit 1), otherwise exit 0; the rest stops last. test/http/shutdown.test.ts
 * runs the same sequence on a real server.
 */
import { createLogger } from '../../../src/server/logging';
import { shutdownSequence, type ShutdownOptions } from '../../../src/server/shutdown';
import { LogCapture } from '../../support/http';

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

function parts(o: { delayMs: number; graceMs: number }) {
  const steps: string[] = [];
  let closed: (() => void) | undefined;
  const logs = new LogCapture();
  const options: ShutdownOptions = {
    lifecycle: { draining: false },
    connections: {
      closeIdle: () => {
        steps.push('closeIdle');
        return 0;
      },
      closeAll: () => void steps.push('closeAll'),
      size: 2,
    },
    stopAccepting: (done) => {
      steps.push('stopAccepting');
      closed = done;
    },
    stopTheRest: async () => void steps.push('stopTheRest'),
    logger: createLogger('info', logs),
    sweepMs: 1000,
    ...o,
  };
  return { options, steps, logs, lastConnectionClosed: () => closed!() };
}

test('readiness fails at once; the port stops accepting after the delay; exit 0 once every connection has closed', async () => {
  const p = parts({ delayMs: 5000, graceMs: 30000 });
  const shutdown = shutdownSequence(p.options);
  const code = shutdown('SIGTERM');
  expect(p.options.lifecycle.draining).toBe(true);
  expect(p.steps).toEqual(['closeIdle']);

  await jest.advanceTimersByTimeAsync(4999);
  expect(p.steps).not.toContain('stopAccepting');
  await jest.advanceTimersByTimeAsync(1);
  expect(p.steps.filter((s) => s !== 'closeIdle')).toEqual(['stopAccepting']);
  // Idle keep-alive connections are swept meanwhile.
  expect(p.steps.filter((s) => s === 'closeIdle').length).toBeGreaterThan(1);

  p.lastConnectionClosed();
  expect(await code).toBe(0);
  expect(p.steps.filter((s) => s !== 'closeIdle')).toEqual(['stopAccepting', 'stopTheRest']);
  expect(p.logs.messages()).toEqual([
    'shutting down: readiness fails now; still serving while endpoints drop this pod',
    'stopped',
  ]);
  expect(p.logs.lines[1]).toMatchObject({ reason: 'SIGTERM', forced: false });
});

test('connections still open at the grace deadline are cut: exit 1', async () => {
  const p = parts({ delayMs: 5000, graceMs: 8000 });
  const code = shutdownSequence(p.options)('SIGTERM');
  await jest.advanceTimersByTimeAsync(8000);
  expect(await code).toBe(1);
  expect(p.steps.filter((s) => s !== 'closeIdle')).toEqual([
    'stopAccepting',
    'closeAll',
    'stopTheRest',
  ]);
  expect(p.logs.lines.find((l) => l.level === 'warn')).toMatchObject({
    msg: 'grace period over: closing the remaining connections',
    openConnections: 2,
  });
});

test('a delay longer than the grace period stops accepting at the grace deadline', async () => {
  const p = parts({ delayMs: 60000, graceMs: 10000 });
  const code = shutdownSequence(p.options)('SIGINT');
  await jest.advanceTimersByTimeAsync(10000);
  expect(p.steps).toContain('stopAccepting');
  expect(await code).toBe(1);
});

test('a second call is the same shutdown', async () => {
  const p = parts({ delayMs: 0, graceMs: 1000 });
  const shutdown = shutdownSequence(p.options);
  const first = shutdown('SIGTERM');
  expect(shutdown('SIGINT')).toBe(first);
  await jest.advanceTimersByTimeAsync(0);
  p.lastConnectionClosed();
  expect(await first).toBe(0);
  expect(p.steps.filter((s) => s === 'stopAccepting')).toHaveLength(1);
  expect(p.logs.messages().filter((m) => m === 'stopped')).toHaveLength(1);
});
