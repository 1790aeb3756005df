'use strict';
/*
 * An open-loop load generator that corrects for coordinated omission (Gil Tene; wrk2's -R):
 * request i is due at t0 + i/rate whatever happened to earlier requests, and its latency is
 * measured from that *intended* time, not from when a connection happened to be free. A server
 * that stalls for 50 ms therefore shows up to 50 ms on every request that should have been sent
 * during the stall, as the API server would see it, instead of one slow sample.
 *
 * A fixed pool of keep-alive TLS connections (client.js), opened before the clock starts. A
 * request due while every connection is busy waits in a FIFO queue, and that wait counts.
 *
 * The schedule comes from clock.js, a worker thread precise to the microsecond.
 * The generator's own lateness (when the main thread got to a request minus when it was due) is
 * recorded too, so its share of a latency is visible.
 */
const { performance } = require('node:perf_hooks');
const { histogram, percentiles, ResponseParser, connectAll, postRequest } = require('./client');
const { startClock } = require('./clock');

/**
 * @param {object} o
 * @param {number} o.port
 * @param {string} o.path
 * @param {Buffer} o.body
 * @param {string} o.ca PEM
 * @param {number} o.rate requests per second
 * @param {number} o.durationMs measured phase
 * @param {number} [o.warmupMs] phase at the same rate before, not recorded
 * @param {number} [o.connections]
 * @param {number} [o.drainTimeoutMs] how long to wait for the last responses
 * @param {() => void} [o.onMeasureStart] called when the first measured request is sent: the
 *   caller reads the server's CPU time there, so that warmup and handshakes do not count
 * @param {number} [o.maxBacklogS] give up once this many seconds of requests wait for a
 *   connection: the server cannot sustain the rate, and waiting longer only measures the queue.
 *   The requests still waiting are recorded with their age then, a lower bound, and the result
 *   says `overloaded`.
 */
async function openLoop(o) {
  const warmupMs = o.warmupMs ?? 1000;
  const request = postRequest(o.path, o.body);
  const sockets = await connectAll(o.port, o.ca, o.connections ?? 32);

  const intervalMs = 1000 / o.rate;
  const warmupCount = Math.round((warmupMs / 1000) * o.rate);
  const total = warmupCount + Math.round((o.durationMs / 1000) * o.rate);
  const latency = histogram(); // the measured phase
  const everything = histogram(); // warmup included: what is reported when the run gives up
  const sendLag = histogram();
  const counts = { done: 0, measuredDone: 0, abandoned: 0, errors: 0, non200: 0 };
  const maxBacklog = Math.max(10, Math.round((o.maxBacklogS ?? 1) * o.rate));
  let overloaded = false;
  let firstMeasuredAt = 0;
  let lastDoneAt = 0;
  let lastAnyDoneAt = 0;
  let anyDone = 0;
  let t0 = 0;
  const queue = []; // request indices due but waiting for a connection
  const free = [];

  return new Promise((resolve) => {
    let finished = false;
    const finish = (timedOut) => {
      if (finished) return;
      finished = true;
      for (const s of sockets) s.destroy();
      // Given up: the figures cover the whole run, warmup included, since the measured phase
      // may not have begun; the rate is what was answered per second until then.
      const h = overloaded ? everything : latency;
      const spanS = overloaded
        ? (lastAnyDoneAt - t0) / 1000
        : (lastDoneAt - firstMeasuredAt) / 1000;
      const answered = overloaded ? anyDone : counts.measuredDone;
      const p = percentiles(h);
      resolve({
        rate: o.rate,
        requests: total - warmupCount,
        completed: counts.measuredDone,
        abandoned: counts.abandoned,
        errors: counts.errors,
        non200: counts.non200,
        timedOut: timedOut && !overloaded ? total - counts.done : 0,
        overloaded,
        achievedRate: spanS > 0 ? answered / spanS : 0,
        p50: p.p50,
        p99: p.p99,
        p999: p.p999,
        max: p.max,
        latency: h,
        sendLagP99: sendLag.getValueAtPercentile(99) / 1000,
        sendLagMax: sendLag.maxValue / 1000,
      });
    };

    const complete = (i, status) => {
      const now = performance.now();
      counts.done++;
      if (status > 0) {
        anyDone++;
        lastAnyDoneAt = now;
        everything.recordValue(Math.max(1, Math.round((now - (t0 + i * intervalMs)) * 1000)));
      }
      if (i >= warmupCount) {
        counts.measuredDone++;
        lastDoneAt = now;
        if (status === 200)
          latency.recordValue(Math.max(1, Math.round((now - (t0 + i * intervalMs)) * 1000)));
        else if (status > 0) counts.non200++;
        else counts.errors++;
      }
      if (counts.done === total || (overloaded && sockets.every((s) => s.inflight < 0)))
        finish(false);
    };

    const send = (socket, i) => {
      socket.inflight = i;
      socket.write(request);
    };

    for (const socket of sockets) {
      const parser = new ResponseParser();
      socket.inflight = -1;
      socket.on('data', (data) => {
        const status = parser.push(data);
        if (status === 0) return;
        const i = socket.inflight;
        socket.inflight = -1;
        complete(i, status);
        if (finished) return;
        if (queue.length > 0) send(socket, queue.shift());
        else free.push(socket);
      });
      const lost = () => {
        if (socket.inflight >= 0) complete(socket.inflight, 0);
        socket.inflight = -1;
        const at = free.indexOf(socket);
        if (at >= 0) free.splice(at, 1);
      };
      socket.on('error', lost);
      socket.on('close', lost);
      free.push(socket);
    }

    let sent = 0;
    const tick = (due) => {
      const now = performance.now();
      while (sent < due) {
        const i = sent++;
        if (i >= warmupCount) {
          const intended = t0 + i * intervalMs;
          if (i === warmupCount) {
            firstMeasuredAt = intended;
            o.onMeasureStart?.();
          }
          sendLag.recordValue(Math.max(1, Math.round((now - intended) * 1000)));
        }
        if (free.length > 0) send(free.shift(), i);
        else queue.push(i);
      }
      if (queue.length > maxBacklog) {
        // Cannot keep up: stop here. What waits is recorded at its age now (a lower bound).
        overloaded = true;
        const at = performance.now();
        for (const i of queue) {
          const age = Math.max(1, Math.round((at - (t0 + i * intervalMs)) * 1000));
          everything.recordValue(age);
          if (i < warmupCount) continue;
          counts.abandoned++;
          latency.recordValue(age);
        }
        queue.length = 0;
        clock.terminate();
        if (sockets.every((s) => s.inflight < 0)) finish(false);
        else setTimeout(() => finish(true), o.drainTimeoutMs ?? 10_000).unref();
        return;
      }
      if (sent >= total) setTimeout(() => finish(true), o.drainTimeoutMs ?? 10_000).unref();
    };
    // Start 50 ms ahead so the worker is up before the first request is due.
    t0 = performance.now() + 50;
    const clock = startClock({ t0, intervalMs, total }, (due) => {
      if (!overloaded) tick(due);
    });
  });
}

module.exports = { openLoop };
