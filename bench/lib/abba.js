'use strict';
/*
 * Two servers measured in alternating segments, A B B A, so that a change in the machine's
 * background load during the run falls on both alike. Each segment reports the server process's
 * own CPU time (utime + stime from /proc, its threads included) over the measured part, so CPU
 * per review is a figure the load generator, which shares the cores, cannot distort: it takes
 * CPU from the server, but the server's CPU per answered review stays what it is.
 */
const { cpuSeconds } = require('./proc');
const { closedLoop } = require('./closed-loop');
const { openLoop } = require('./open-loop');
const { histogram, percentiles } = require('./client');

/** Snapshots of the server's and this process's CPU time (this one: the generator, its clock thread included). */
function cpuMeter(pid) {
  let server0 = 0;
  let gen0;
  return {
    start() {
      server0 = cpuSeconds(pid);
      gen0 = process.cpuUsage();
    },
    stop() {
      const gen = process.cpuUsage(gen0);
      return { serverCpu: cpuSeconds(pid) - server0, generatorCpu: (gen.user + gen.system) / 1e6 };
    },
  };
}

/** One saturation segment: closed loop, `connections` keep-alive connections, `durationMs`. */
async function saturationSegment(server, { body, ca, connections = 16, durationMs }) {
  const cpu = cpuMeter(server.pid);
  const r = await closedLoop({
    port: server.port,
    path: server.path,
    body,
    ca,
    connections,
    durationMs,
    onStart: () => cpu.start(),
  });
  return {
    ...cpu.stop(),
    requests: r.requests,
    seconds: r.seconds,
    non200: r.non200,
    errors: r.errors,
    latency: r.latency,
  };
}

/** One fixed-rate segment: open loop at `rate`/s (open-loop.js), measured after `warmupMs`. */
async function fixedRateSegment(
  server,
  { body, ca, rate, durationMs, warmupMs, connections = 16 },
) {
  const cpu = cpuMeter(server.pid);
  const r = await openLoop({
    port: server.port,
    path: server.path,
    body,
    ca,
    rate,
    durationMs,
    warmupMs,
    connections,
    onMeasureStart: () => cpu.start(),
  });
  const used = cpu.stop();
  return {
    ...used,
    requests: r.completed,
    seconds: r.achievedRate > 0 ? r.completed / r.achievedRate : 0,
    non200: r.non200,
    errors: r.errors + r.timedOut + r.abandoned,
    overloaded: r.overloaded,
    sendLagP99: r.sendLagP99,
    latency: r.latency,
  };
}

/** Adds up one server's segments. */
function combine(server, parts) {
  const sum = (k) => parts.reduce((a, p) => a + p[k], 0);
  const latency = histogram();
  for (const p of parts) latency.add(p.latency);
  const requests = sum('requests');
  const seconds = sum('seconds');
  const serverCpu = sum('serverCpu');
  return {
    name: server.name,
    requests,
    seconds,
    reqPerSec: requests / seconds,
    cpuUsPerReq: (serverCpu * 1e6) / requests,
    serverCores: serverCpu / seconds,
    generatorCores: sum('generatorCpu') / seconds,
    non200: sum('non200'),
    errors: sum('errors'),
    overloaded: parts.some((p) => p.overloaded),
    sendLagP99: Math.max(...parts.map((p) => p.sendLagP99 ?? 0)),
    ...percentiles(latency),
    segments: parts.map((p) => (p.serverCpu * 1e6) / p.requests),
  };
}

/**
 * Runs `segment(server)` for [A, B] in the order A B B A, `rounds` times, and returns one
 * combined result per server: reqPerSec, cpuUsPerReq (server CPU µs per answered review),
 * serverCores, generatorCores, the latency percentiles of all its segments together, and each
 * segment's CPU per review; B's also `ratio`, the median over the rounds of B's CPU per review
 * over A's in that round, with `ratioRange` [min, max]. On a shared VM the CPU a review costs
 * drifts by a third within a minute (steal time, frequency); a ratio taken within each round,
 * where both servers ran within seconds of each other, and its median over rounds, is what
 * that drift does not move.
 */
async function abba([a, b], segment, { rounds = 1 } = {}) {
  const parts = new Map([
    [a, []],
    [b, []],
  ]);
  const ratios = [];
  for (let round = 0; round < rounds; round++) {
    const got = new Map([
      [a, []],
      [b, []],
    ]);
    for (const s of [a, b, b, a]) got.get(s).push(await segment(s));
    for (const s of [a, b]) parts.get(s).push(...got.get(s));
    const [ra, rb] = [a, b].map((s) => combine(s, got.get(s)).cpuUsPerReq);
    ratios.push(rb / ra);
  }
  const [ca, cb] = [a, b].map((s) => combine(s, parts.get(s)));
  const sorted = [...ratios].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  cb.ratio = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  cb.ratioRange = [sorted[0], sorted[sorted.length - 1]];
  return [ca, cb];
}

module.exports = { abba, saturationSegment, fixedRateSegment };
