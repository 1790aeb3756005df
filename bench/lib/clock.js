'use strict';
/*
 * The schedule of an open-loop generator: request i is due at t0 + i * intervalMs. A worker
 * thread sleeps in Atomics.wait until the next request is due (to the microsecond) and then
 * wakes the main thread, which sends. setTimeout alone fires up to a millisecond late, which
 * would be added to every sample; spinning on setImmediate is precise but takes a whole core,
 * and on a 2-core machine that shows up as the server's tail latency.
 */
const { Worker } = require('node:worker_threads');
const { performance } = require('node:perf_hooks');

// Posts n when requests [.., n) are due. Times are epoch milliseconds (timeOrigin + now), which
// both threads read alike.
const CLOCK = `
const { parentPort, workerData: { start, intervalMs, total } } = require('node:worker_threads');
const { performance } = require('node:perf_hooks');
const cell = new Int32Array(new SharedArrayBuffer(4));
const now = () => performance.timeOrigin + performance.now();
let next = 0;
while (next < total) {
  const wait = start + next * intervalMs - now();
  if (wait > 0) Atomics.wait(cell, 0, 0, wait);
  const t = now();
  while (next < total && start + next * intervalMs <= t) next++;
  parentPort.postMessage(next);
}
`;

/**
 * Calls onDue(n) whenever requests [.., n) are due; t0 is on this thread's performance.now()
 * clock. Returns the worker (terminate() stops it early).
 */
function startClock({ t0, intervalMs, total }, onDue) {
  const clock = new Worker(CLOCK, {
    eval: true,
    workerData: { start: performance.timeOrigin + t0, intervalMs, total },
  });
  clock.on('message', onDue);
  clock.on('error', (err) => {
    throw err;
  });
  return clock;
}

module.exports = { startClock };
