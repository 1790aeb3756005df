'use strict';
/*
 * Maximum throughput over TLS keep-alive with autocannon (closed loop: each of `connections`
 * sends its next request when the previous answer arrived, so this measures capacity, not
 * latency). The servers under test are measured in alternating segments, A B B A, so that a
 * change in the machine's background load during the run falls on both alike; the server's own
 * CPU time per request (from /proc) is reported beside, as a figure the load generator cannot
 * distort.
 */
const autocannon = require('autocannon');
const { cpuSeconds } = require('./proc');

function cannon({ port, path, body, connections, durationS }) {
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `https://127.0.0.1:${port}${path}`,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        connections,
        pipelining: 1,
        duration: durationS,
        servername: 'localhost',
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
  });
}

async function segment(server, body, connections, durationS) {
  const cpu0 = cpuSeconds(server.pid);
  const gen0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const r = await cannon({ port: server.port, path: server.path, body, connections, durationS });
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const gen = process.cpuUsage(gen0);
  return {
    requests: r.requests.total,
    seconds: wall,
    serverCpu: cpuSeconds(server.pid) - cpu0,
    generatorCpu: (gen.user + gen.system) / 1e6,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
    p99: r.latency.p99,
  };
}

/**
 * @param {object[]} servers [A, B] with pid, port, path
 * @returns one result per server: reqPerSec, cpuUsPerReq, serverCores, generatorCores, ...
 */
async function abba(servers, body, { connections = 50, warmupS = 2, segmentS = 2.5 } = {}) {
  for (const s of servers) await cannon({ port: s.port, path: s.path, body, connections, durationS: warmupS });
  const [a, b] = servers;
  const totals = new Map(servers.map((s) => [s, { requests: 0, seconds: 0, serverCpu: 0, generatorCpu: 0, non2xx: 0, errors: 0, p99: 0 }]));
  for (const s of [a, b, b, a]) {
    const r = await segment(s, body, connections, segmentS);
    const t = totals.get(s);
    for (const k of ['requests', 'seconds', 'serverCpu', 'generatorCpu', 'non2xx', 'errors']) t[k] += r[k];
    t.p99 = Math.max(t.p99, r.p99);
  }
  return servers.map((s) => {
    const t = totals.get(s);
    return {
      name: s.name,
      requests: t.requests,
      reqPerSec: t.requests / t.seconds,
      cpuUsPerReq: (t.serverCpu * 1e6) / t.requests,
      serverCores: t.serverCpu / t.seconds,
      generatorCores: t.generatorCpu / t.seconds,
      non2xx: t.non2xx,
      errors: t.errors,
      p99: t.p99,
    };
  });
}

module.exports = { abba, cannon };
