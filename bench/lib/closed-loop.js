'use strict';
/*
 * A closed-loop load generator for saturation: each of `connections` keep-alive TLS connections
 * sends its next request as soon as the previous answer arrived, for `durationMs`. It measures
 * capacity, not latency (a slow answer delays the next request, so its latencies are service
 * times and hide queueing; the open loop in open-loop.js is the one for latency).
 */
const { performance } = require('node:perf_hooks');
const { histogram, ResponseParser, connectAll, postRequest } = require('./client');

/**
 * @param {object} o
 * @param {number} o.port
 * @param {string} o.path
 * @param {Buffer} o.body
 * @param {string} o.ca PEM
 * @param {number} o.durationMs
 * @param {number} [o.connections]
 * @param {() => void} [o.onStart] called once every connection is open, just before the first
 *   request: the caller reads the server's CPU time there, so the handshakes do not count
 * @returns {Promise<{requests: number, non200: number, errors: number, seconds: number, latency: object}>}
 *   requests = answers received (any status) within the run; latency = histogram (µs) of the 200s
 */
async function closedLoop(o) {
  const request = postRequest(o.path, o.body);
  const sockets = await connectAll(o.port, o.ca, o.connections ?? 16);
  const latency = histogram();
  const counts = { requests: 0, non200: 0, errors: 0 };
  o.onStart?.();
  const t0 = performance.now();
  const end = t0 + o.durationMs;
  return new Promise((resolve) => {
    let open = sockets.length;
    let finished = false;
    const closed = () => {
      open--;
      if (open === 0 && !finished) {
        finished = true;
        resolve({ ...counts, seconds: (performance.now() - t0) / 1000, latency });
      }
    };
    for (const socket of sockets) {
      const parser = new ResponseParser();
      let sentAt = 0;
      let stopped = false;
      const stop = () => {
        if (stopped) return;
        stopped = true;
        socket.destroy();
        closed();
      };
      const send = () => {
        sentAt = performance.now();
        socket.write(request);
      };
      socket.on('data', (data) => {
        const status = parser.push(data);
        if (status === 0) return;
        const now = performance.now();
        counts.requests++;
        if (status === 200) latency.recordValue(Math.max(1, Math.round((now - sentAt) * 1000)));
        else counts.non200++;
        if (now >= end) stop();
        else send();
      });
      socket.on('error', () => {
        counts.errors++;
        stop();
      });
      socket.on('close', stop);
      send();
    }
  });
}

module.exports = { closedLoop };
