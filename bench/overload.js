#!/usr/bin/env node
'use strict';
/*
 * pod-hardener overload test: `npm run bench:overload` (builds, then runs this).
 *
 * The production build (`node dist/main.js`, log level warn) with server.maxInFlight = 32, from a
 * config file named by POD_HARDENER_CONFIG, under three phases on 127.0.0.1:
 *   1. baseline: 8 keep-alive connections, closed loop, whole bodies, ~5 s;
 *   2. overload: 400 keep-alive connections, each sending its request head and half the body,
 *      waiting 200-500 ms, then the rest (slow senders that hold in-flight slots), ~10 s; their
 *      first requests spread over the first 500 ms;
 *   3. recovery: the 400 connections gone, the baseline load again, ~5 s.
 * Measured: statuses, latency (200 and 503 apart), pod_hardener_in_flight_reviews scraped every
 * 20 ms (its max must stay <= maxInFlight), the webhook's RSS sampled every 100 ms and its VmHWM
 * per phase, connection errors. Prints a table per phase and the verdicts; exits 0 always (a load
 * test, not a unit test; a run that could not measure says so on stderr). Runs ~25 s, stops by itself.
 *
 * The client is raw HTTP/1.1 over node:tls, so that a request can be sent in two parts with a
 * pause between them and a 503 that comes back before the body was sent is seen as it arrives.
 */
const { mkdtempSync, writeFileSync, readFileSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const http = require('node:http');
const tls = require('node:tls');
const { performance } = require('node:perf_hooks');

const { startWebhook, sleep } = require('./lib/servers');
const { makeCertificate } = require('./lib/certificate');
const { memory, resetPeak } = require('./lib/proc');
const { table } = require('./lib/table');

const root = join(__dirname, '..');
const MAX_IN_FLIGHT = 32;
const BASE_CONNECTIONS = 8;
const OVERLOAD_CONNECTIONS = 400;
const HOLD_MS = [200, 500];
const PHASE_MS = { baseline: 5000, overload: 10000, recovery: 5000 };
const REQUEST_TIMEOUT_MS = 5000;
const LIMITS = { fast503P99Ms: 50, peakRssMB: 150 };
const MB = 1024 * 1024;

const log = (...a) => console.log(...a);
const now = () => performance.now();
const ms = (n) =>
  n === undefined || Number.isNaN(n)
    ? '-'
    : n < 10
      ? `${n.toFixed(2)} ms`
      : n < 1000
        ? `${n.toFixed(1)} ms`
        : `${Math.round(n)} ms`;
const mb = (bytes) => (Number.isFinite(bytes) ? `${(bytes / MB).toFixed(1)} MB` : '-');

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * One keep-alive TLS connection speaking just enough HTTP/1.1: one request at a time, responses
 * framed by Content-Length (every answer of the admission port has one).
 */
class Conn {
  constructor(port, ca) {
    this.port = port;
    this.ca = ca;
    this.socket = null;
    this.buf = Buffer.alloc(0);
    this.cur = null; // the response being waited for
    this.closed = false;
  }

  connect() {
    return new Promise((resolve, reject) => {
      const s = tls.connect(
        { host: '127.0.0.1', port: this.port, servername: 'localhost', ca: this.ca },
        () => {
          s.off('error', reject);
          s.on('error', (err) => this.fail(err));
          s.setNoDelay(true);
          resolve(this);
        },
      );
      s.once('error', reject);
      s.on('data', (chunk) => this.onData(chunk));
      s.on('close', () => {
        this.closed = true;
        this.fail(Object.assign(new Error('connection closed by the server'), { code: 'CLOSED' }));
      });
      this.socket = s;
    });
  }

  fail(err) {
    const cur = this.cur;
    this.cur = null;
    if (cur) cur.reject(err);
  }

  onData(chunk) {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const cur = this.cur;
    if (!cur) return; // nothing asked: kept, and an error when the next request sees it
    if (cur.status === undefined) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = this.buf.subarray(0, end).toString('latin1');
      cur.status = Number(head.slice(9, 12));
      cur.length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      cur.close = /\r\nconnection:\s*close/i.test(head);
      this.buf = this.buf.subarray(end + 4);
    }
    if (this.buf.length < cur.length) return;
    const body = this.buf.subarray(0, cur.length);
    this.buf = this.buf.subarray(cur.length);
    this.cur = null;
    cur.resolve({ status: cur.status, body, close: cur.close, at: now() });
  }

  /** Sends one review; with holdMs, the head and half the body, a pause, then the rest. */
  async request(head, body, holdMs = 0) {
    if (this.closed)
      throw Object.assign(new Error('connection closed by the server'), { code: 'CLOSED' });
    if (this.buf.length > 0)
      throw Object.assign(new Error('unexpected bytes before a request'), { code: 'PROTOCOL' });
    const response = new Promise((resolve, reject) => {
      this.cur = { resolve, reject };
    });
    let timer;
    const timeout = new Promise((_, reject) => {
      timer = setTimeout(
        () => reject(Object.assign(new Error('no answer in time'), { code: 'TIMEOUT' })),
        REQUEST_TIMEOUT_MS,
      );
    });
    response.catch(() => {});
    timeout.catch(() => {});
    const t0 = now();
    try {
      if (holdMs > 0) {
        const half = body.length >> 1;
        this.socket.write(Buffer.concat([head, body.subarray(0, half)]));
        // The answer may come before the rest is sent (a 503 at the head): the rest still goes
        // after the pause, as a slow sender would send it, so the connection stays usable.
        let answered = null;
        response.then(
          (r) => {
            answered = r;
          },
          () => {},
        );
        await Promise.race([sleep(holdMs), timeout]);
        if (!this.closed) this.socket.write(body.subarray(half));
        const r = answered ?? (await Promise.race([response, timeout]));
        return {
          status: r.status,
          ms: r.at - t0,
          at: r.at,
          body: r.body,
          close: r.close,
          early: answered !== null,
        };
      }
      this.socket.write(Buffer.concat([head, body]));
      const r = await Promise.race([response, timeout]);
      return {
        status: r.status,
        ms: r.at - t0,
        at: r.at,
        body: r.body,
        close: r.close,
        early: false,
      };
    } finally {
      clearTimeout(timer);
    }
  }

  destroy() {
    this.closed = true;
    this.cur = null;
    this.socket?.destroy();
  }
}

/** Per-phase tallies. */
function newStats(name, connections) {
  return {
    name,
    connections,
    statuses: {},
    ok: [],
    rejected: [],
    rejectedSteady: [],
    early503: 0,
    errors: {},
    reconnects: 0,
    firstReject: null,
    startedAt: 0,
    endedAt: 0,
    rssSamples: [],
    hwm: NaN,
    inFlightMax: 0,
    scrapes: 0,
    rejectedCounter: 0,
  };
}

function record(stats, r) {
  stats.statuses[r.status] = (stats.statuses[r.status] ?? 0) + 1;
  if (r.status === 200) stats.ok.push(r.ms);
  else if (r.status === 503) {
    stats.rejected.push(r.ms);
    // The first wave (every connection's first request at once) apart from the steady state.
    if (r.at - r.ms - stats.startedAt >= 1000) stats.rejectedSteady.push(r.ms);
    if (r.early) stats.early503++;
    if (!stats.firstReject) stats.firstReject = r.body.toString('utf8');
  } else if (!stats.firstOther)
    stats.firstOther = `${r.status} ${r.body.toString('utf8').slice(0, 300)}`;
}

/** One client: requests back to back on its connection until `until`, reconnecting if it must. */
async function worker({ port, ca, head, body, until, stats, hold, conn }) {
  // Slow senders start spread over one pause (0-500 ms), as they then stay: 400 requests written
  // in the same millisecond would measure one event loop working through a 400-deep burst (a
  // 503 p99 of 45-90 ms on 2 cores, client included), not whether a 503 waits for held slots.
  if (hold) await sleep(Math.random() * hold[1]);
  while (now() < until) {
    if (!conn || conn.closed) {
      if (conn) stats.reconnects++;
      conn = new Conn(port, ca);
      try {
        await conn.connect();
      } catch (err) {
        stats.errors[`connect ${err.code ?? err.message}`] =
          (stats.errors[`connect ${err.code ?? err.message}`] ?? 0) + 1;
        conn = null;
        await sleep(50);
        continue;
      }
    }
    try {
      const holdMs = hold ? hold[0] + Math.random() * (hold[1] - hold[0]) : 0;
      const r = await conn.request(head, body, holdMs);
      record(stats, r);
      if (r.close) conn.destroy();
    } catch (err) {
      const key = err.code ?? err.message;
      stats.errors[key] = (stats.errors[key] ?? 0) + 1;
      conn.destroy();
    }
  }
  return conn;
}

/** Samples the webhook's in-flight gauge and overload counter, and its RSS, until stopped. */
function startSampling(webhook, stats) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let running = true;
  const scrape = async () => {
    while (running) {
      const text = await new Promise((resolve) => {
        const req = http.get(
          { host: '127.0.0.1', port: webhook.metricsPort, path: '/metrics', agent, timeout: 2000 },
          (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
          },
        );
        req.on('error', () => resolve(null));
        req.on('timeout', () => {
          req.destroy();
          resolve(null);
        });
      });
      if (text !== null) {
        const inFlight = Number(/^pod_hardener_in_flight_reviews\s+(\S+)/m.exec(text)?.[1]);
        const rejected = Number(/^pod_hardener_rejected_overload_total\s+(\S+)/m.exec(text)?.[1]);
        if (Number.isFinite(inFlight)) {
          stats.scrapes++;
          stats.inFlightMax = Math.max(stats.inFlightMax, inFlight);
        }
        if (Number.isFinite(rejected)) stats.rejectedCounter = rejected;
      } else stats.scrapeFailures = (stats.scrapeFailures ?? 0) + 1;
      await sleep(20);
    }
  };
  const rss = setInterval(() => {
    try {
      stats.rssSamples.push(memory(webhook.pid).rss);
    } catch {
      /* process gone: reported elsewhere */
    }
  }, 100);
  const scraping = scrape();
  return async () => {
    running = false;
    clearInterval(rss);
    await scraping;
    agent.destroy();
  };
}

async function runPhase(webhook, ctx, { name, connections, durationMs, hold, conns }) {
  const stats = newStats(name, connections);
  stats.peakReset = resetPeak(webhook.pid);
  const counterBefore = ctx.rejectedCounter;
  stats.rejectedCounter = counterBefore;
  const stop = startSampling(webhook, stats);
  stats.startedAt = now();
  const until = stats.startedAt + durationMs;
  const finished = await Promise.all(
    Array.from({ length: connections }, (_, i) =>
      worker({
        port: webhook.port,
        ca: ctx.ca,
        head: ctx.head,
        body: ctx.body,
        until,
        stats,
        hold,
        conn: conns?.[i],
      }),
    ),
  );
  stats.endedAt = now();
  await stop();
  try {
    const m = memory(webhook.pid);
    stats.rssSamples.push(m.rss);
    stats.hwm = m.hwm;
  } catch {
    /* gone */
  }
  stats.rejectedByServer = stats.rejectedCounter - counterBefore;
  ctx.rejectedCounter = stats.rejectedCounter;
  stats.ok.sort((a, b) => a - b);
  stats.rejected.sort((a, b) => a - b);
  stats.rejectedSteady.sort((a, b) => a - b);
  return { stats, conns: finished };
}

async function openConnections(port, ca, n, stats) {
  const conns = [];
  for (let i = 0; i < n; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, n - i) }, () =>
        new Conn(port, ca).connect().catch((err) => {
          stats.errors[`connect ${err.code ?? err.message}`] =
            (stats.errors[`connect ${err.code ?? err.message}`] ?? 0) + 1;
          return null;
        }),
      ),
    );
    conns.push(...batch);
  }
  return conns;
}

function phaseTable(all) {
  const rows = [
    [
      'phase',
      'conns',
      'secs',
      'requests',
      'req/s',
      '200',
      '503',
      'other',
      'conn errors',
      '200 p50',
      '200 p99',
      '200 max',
      '503 p50',
      '503 p99',
      '503 max',
      'in-flight max',
      'RSS end',
      'RSS max (sampled)',
      'VmHWM',
    ],
  ];
  for (const s of all) {
    const total = Object.values(s.statuses).reduce((a, b) => a + b, 0);
    const other = total - (s.statuses[200] ?? 0) - (s.statuses[503] ?? 0);
    const errors = Object.values(s.errors).reduce((a, b) => a + b, 0);
    const secs = (s.endedAt - s.startedAt) / 1000;
    rows.push([
      s.name,
      s.connections,
      secs.toFixed(1),
      total,
      Math.round(total / secs),
      s.statuses[200] ?? 0,
      s.statuses[503] ?? 0,
      other,
      errors,
      ms(percentile(s.ok, 50)),
      ms(percentile(s.ok, 99)),
      ms(s.ok.at(-1)),
      ms(percentile(s.rejected, 50)),
      ms(percentile(s.rejected, 99)),
      ms(s.rejected.at(-1)),
      `${s.inFlightMax} (${s.scrapes} scrapes)`,
      mb(s.rssSamples.at(-1)),
      mb(Math.max(...s.rssSamples)),
      mb(s.hwm),
    ]);
  }
  return table(rows);
}

async function main() {
  const started = now();
  const dir = mkdtempSync(join(tmpdir(), 'pod-hardener-overload-'));
  let webhook;
  try {
    const { certFile, keyFile, ca } = await makeCertificate(root, dir);
    const configFile = join(dir, 'config.json');
    writeFileSync(configFile, JSON.stringify({ server: { maxInFlight: MAX_IN_FLIGHT } }));
    // servers.js sets the child's environment itself; --env-file adds POD_HARDENER_CONFIG to it.
    const envFile = join(dir, 'overload.env');
    writeFileSync(envFile, `POD_HARDENER_CONFIG=${configFile}\n`);
    webhook = await startWebhook({
      root,
      certFile,
      keyFile,
      logLevel: 'warn',
      nodeArgs: [`--env-file=${envFile}`],
    });

    const body = readFileSync(join(root, 'test', 'fixtures', 'reviews', 'pod-4k.review.json'));
    const head = Buffer.from(
      `POST /mutate?timeout=10s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      'latin1',
    );
    const ctx = { ca, body, head, rejectedCounter: 0 };

    // One review first: a 200 with a patch, not an error path measured fast.
    const probe = new Conn(webhook.port, ca);
    await probe.connect();
    const first = await probe.request(head, body);
    probe.destroy();
    if (first.status !== 200 || !JSON.parse(first.body.toString('utf8')).response?.patch) {
      throw new Error(
        `the webhook answered ${first.status} to pod-4k: ${first.body.toString('utf8').slice(0, 500)}`,
      );
    }
    log(
      `pod-hardener overload test: node dist/main.js (pid ${webhook.pid}), server.maxInFlight ${MAX_IN_FLIGHT} from ${configFile}, log level warn, pod-4k review (${body.length} bytes)`,
    );
    log(
      `phases: baseline ${BASE_CONNECTIONS} conns ${PHASE_MS.baseline / 1000} s; overload ${OVERLOAD_CONNECTIONS} conns, head + half body, ${HOLD_MS[0]}-${HOLD_MS[1]} ms pause, rest, ${PHASE_MS.overload / 1000} s; recovery ${BASE_CONNECTIONS} conns ${PHASE_MS.recovery / 1000} s\n`,
    );

    const results = [];
    const baseline = await runPhase(webhook, ctx, {
      name: 'baseline',
      connections: BASE_CONNECTIONS,
      durationMs: PHASE_MS.baseline,
    });
    for (const c of baseline.conns) c?.destroy();
    results.push(baseline.stats);

    // The 400 connections are opened (TLS handshakes) before the phase's clock starts.
    const preErrors = { errors: {} };
    const t = now();
    const conns = await openConnections(webhook.port, ca, OVERLOAD_CONNECTIONS, preErrors);
    const handshakeMs = now() - t;
    const overload = await runPhase(webhook, ctx, {
      name: 'overload',
      connections: OVERLOAD_CONNECTIONS,
      durationMs: PHASE_MS.overload,
      hold: HOLD_MS,
      conns,
    });
    for (const [k, v] of Object.entries(preErrors.errors))
      overload.stats.errors[k] = (overload.stats.errors[k] ?? 0) + v;
    // Load drops: every worker has had its last answer (runPhase waits for them); the sockets go.
    for (const c of overload.conns) c?.destroy();
    results.push(overload.stats);

    const recovery = await runPhase(webhook, ctx, {
      name: 'recovery',
      connections: BASE_CONNECTIONS,
      durationMs: PHASE_MS.recovery,
    });
    for (const c of recovery.conns) c?.destroy();
    results.push(recovery.stats);

    log(phaseTable(results));
    log('');
    log(
      `overload: ${overload.stats.connections} connections opened in ${ms(handshakeMs)} before the phase; ${overload.stats.early503} of the 503s came back before the second half of the body was sent; the server counted ${overload.stats.rejectedByServer} rejected_overload_total, the client saw ${overload.stats.statuses[503] ?? 0} 503s`,
    );
    const steady = overload.stats.rejectedSteady;
    log(
      `503 latency after the first second of overload (the connections' first requests excluded): p50 ${ms(percentile(steady, 50))}, p99 ${ms(percentile(steady, 99))}, max ${ms(steady.at(-1))} (${steady.length} 503s)`,
    );
    if (overload.stats.firstReject)
      log(`first 503 body: ${overload.stats.firstReject.slice(0, 300)}`);
    for (const s of results) {
      const errs = Object.entries(s.errors);
      if (errs.length > 0)
        log(`${s.name}: connection errors ${errs.map(([k, v]) => `${k} x${v}`).join(', ')}`);
      if (s.reconnects > 0) log(`${s.name}: ${s.reconnects} reconnects`);
      if (s.firstOther) log(`${s.name}: first unexpected answer: ${s.firstOther}`);
      if (s.scrapeFailures) log(`${s.name}: ${s.scrapeFailures} metrics scrapes failed`);
      if (!s.peakReset)
        log(
          `${s.name}: VmHWM could not be reset (/proc/pid/clear_refs); it is the peak since start`,
        );
    }

    const maxInFlight = Math.max(...results.map((s) => s.inFlightMax));
    const r503 = overload.stats.rejected;
    const p99of503 = percentile(r503, 99);
    const peakRss = Math.max(
      ...results.flatMap((s) => [s.hwm, ...s.rssSamples]).filter(Number.isFinite),
    );
    const rec = recovery.stats;
    const recTotal = Object.values(rec.statuses).reduce((a, b) => a + b, 0);
    const recOk = rec.statuses[200] ?? 0;
    const recErrors = Object.values(rec.errors).reduce((a, b) => a + b, 0);
    const allErrors = results.reduce(
      (n, s) => n + Object.values(s.errors).reduce((a, b) => a + b, 0),
      0,
    );
    const verdict = (ok) => (ok ? 'PASS' : 'FAIL');
    log('');
    log(
      `in-flight bounded: max ${maxInFlight} <= ${MAX_IN_FLIGHT} ${verdict(maxInFlight <= MAX_IN_FLIGHT && results.every((s) => s.scrapes > 0))}`,
    );
    log(
      `503 answered fast: p99 ${ms(p99of503)} ${verdict(r503.length > 0 && p99of503 <= LIMITS.fast503P99Ms)} (<= ${LIMITS.fast503P99Ms} ms; ${r503.length} 503s)`,
    );
    log(
      `memory bounded: peak RSS ${(peakRss / MB).toFixed(1)} MB ${verdict(peakRss <= LIMITS.peakRssMB * MB)} (<= ${LIMITS.peakRssMB} MB)`,
    );
    log(
      `recovered: ${recOk}/${recTotal} 200 after load dropped ${verdict(recTotal > 0 && recOk === recTotal && recErrors === 0)} (p50 ${ms(percentile(rec.ok, 50))} / p99 ${ms(percentile(rec.ok, 99))}; baseline ${ms(percentile(baseline.stats.ok, 50))} / ${ms(percentile(baseline.stats.ok, 99))})`,
    );
    log(`connection errors: ${allErrors} ${verdict(allErrors === 0)}`);
    if (webhook.state.exited)
      log(
        `the webhook exited during the run (${webhook.state.code}):\n${[...webhook.output.stdout, ...webhook.output.stderr].join('\n')}`,
      );
    log(`\ntotal ${((now() - started) / 1000).toFixed(1)} s`);
  } finally {
    if (webhook) await webhook.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

// Ctrl-C: exit, and servers.js's exit handler kills the webhook.
process.on('SIGINT', () => process.exit(130));
process.on('SIGTERM', () => process.exit(143));

main().then(
  () => process.exit(0),
  (err) => {
    console.error('overload test could not measure:', err);
    process.exit(0);
  },
);
