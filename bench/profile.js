#!/usr/bin/env node
'use strict';
/*
 * Where the webhook's CPU and allocations go at saturation:
 *   npm run build && node bench/profile.js [pod-4k|pod-40k] [seconds=8]
 *
 * The floor, then the webhook as bench/run.js starts them (the webhook: node dist/main.js, the
 * shipped configuration, log level info to /dev/null), each with bench/lib/profiler-preload.js:
 * warmed up, then profiled over a closed-loop saturation run (16 connections), V8's CPU profile
 * and its sampling heap profile with freed objects kept, both over exactly the measured seconds.
 * Prints each server's CPU per review (/proc); self time and bytes allocated per review grouped
 * by module (TLS, HTTP parsing, express, JSON, engine, patch, logging, metrics, GC...) for both,
 * with the difference; then for the webhook the top functions with their hottest source line,
 * inclusive time of the project's functions and the top allocating functions
 * (bench/cpuprofile-top.js). Keeps the .cpuprofile (Chrome DevTools, speedscope) and
 * .heapprofile (DevTools' Memory tab) files and says where.
 */
const { mkdtempSync, readFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { startWebhook, startBaseline, sleep } = require('./lib/servers');
const { saturationSegment } = require('./lib/abba');
const { summarise, summariseHeap, cpuBreakdown, heapBreakdown } = require('./cpuprofile-top');
const { table } = require('./lib/table');
const { makeCertificate } = require('./lib/certificate');

async function waitFor(lines, text, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (lines.includes(text)) return;
    await sleep(50);
  }
  throw new Error(
    `the profiler did not say "${text}" within ${timeoutMs / 1000} s:\n${lines.join('\n')}`,
  );
}

/** Warms `server` up, then profiles `seconds` of saturation; returns the load's figures and both profiles. */
async function profileServer(server, prefix, body, ca, seconds) {
  await saturationSegment(server, { body, ca, connections: 16, durationMs: 3000 });
  process.kill(server.pid, 'SIGUSR2');
  await waitFor(server.output.stderr, 'profiling', 5000);
  const load = await saturationSegment(server, {
    body,
    ca,
    connections: 16,
    durationMs: seconds * 1000,
  });
  process.kill(server.pid, 'SIGUSR2');
  await waitFor(server.output.stderr, 'profiled', 30_000);
  return {
    load,
    cpuFile: `${prefix}.cpuprofile`,
    heapFile: `${prefix}.heapprofile`,
    cpu: JSON.parse(readFileSync(`${prefix}.cpuprofile`, 'utf8')),
    heap: JSON.parse(readFileSync(`${prefix}.heapprofile`, 'utf8')),
  };
}

/** Rows "module  webhook  floor  difference" of two per-review Maps, largest difference first. */
function comparison(title, unit, webhook, floor) {
  const keys = [...new Set([...webhook.keys(), ...floor.keys()])];
  const diff = (k) => (webhook.get(k) ?? 0) - (floor.get(k) ?? 0);
  const d = unit === 'µs' ? 1 : 2;
  const fmt = (v) => v.toFixed(d);
  const sum = (m) => [...m.values()].reduce((a, b) => a + b, 0);
  return table([
    [title, `webhook ${unit}/review`, `floor ${unit}/review`, 'difference'],
    ...keys
      .sort((a, b) => diff(b) - diff(a))
      .map((k) => [
        k,
        fmt(webhook.get(k) ?? 0),
        fmt(floor.get(k) ?? 0),
        `${diff(k) >= 0 ? '+' : ''}${fmt(diff(k))}`,
      ]),
    ['all', fmt(sum(webhook)), fmt(sum(floor)), `+${fmt(sum(webhook) - sum(floor))}`],
  ]);
}

const perReview = (m, requests, scale = 1) =>
  new Map([...m].map(([k, v]) => [k, v / requests / scale]));

async function main() {
  const [fixture = 'pod-4k', seconds = '8'] = process.argv.slice(2);
  const root = join(__dirname, '..');
  const body = readFileSync(join(root, 'test', 'fixtures', 'reviews', `${fixture}.review.json`));
  const { dir, certFile, keyFile, ca } = await makeCertificate(
    root,
    mkdtempSync(join(tmpdir(), 'pod-hardener-profile-')),
  );
  const preload = ['-r', join(__dirname, 'lib', 'profiler-preload.js')];
  const out = {};
  for (const name of ['floor', 'webhook']) {
    const prefix = join(dir, `${name}-${fixture}`);
    const env = { BENCH_PROFILE_PREFIX: prefix };
    const server =
      name === 'floor'
        ? await startBaseline({ certFile, keyFile }, { name, nodeArgs: preload, env })
        : await startWebhook({
            root,
            certFile,
            keyFile,
            config: join(root, 'manifests', 'base', 'config.yaml'),
            logTo: 'null',
            nodeArgs: preload,
            env,
            name,
          });
    try {
      out[name] = await profileServer(server, prefix, body, ca, Number(seconds));
    } finally {
      await server.stop();
    }
  }
  console.log(
    `${fixture}, saturation: closed loop, 16 connections, ${seconds} s profiled after 3 s of warmup, the floor then the webhook`,
  );
  for (const [name, p] of Object.entries(out)) {
    const r = p.load;
    console.log(
      `${name.padEnd(8)} ${r.requests} reviews, ${Math.round(r.requests / r.seconds)}/s, non-200 ${r.non200}, errors ${r.errors}; server CPU (/proc) ${((r.serverCpu * 1e6) / r.requests).toFixed(0)} µs per review (${(r.serverCpu / r.seconds).toFixed(2)} cores); ${p.cpuFile}, ${p.heapFile}`,
    );
  }
  console.log(
    "(V8 samples the main thread on a wall-clock timer: a native call such as writev also collects time the process spent\n descheduled, and the GC threads' parallel work is not in it; /proc's CPU covers all threads. The cost of a builtin V8\n inlines, such as JSON.parse, is its caller's self time: the hottest line shown under each function says which.)\n",
  );
  const w = out.webhook;
  const f = out.floor;
  const wc = cpuBreakdown(w.cpu);
  const fc = cpuBreakdown(f.cpu);
  console.log(
    comparison(
      'self time by module',
      'µs',
      perReview(wc.byGroup, w.load.requests),
      perReview(fc.byGroup, f.load.requests),
    ),
  );
  console.log('');
  const wh = heapBreakdown(w.heap);
  const fh = heapBreakdown(f.heap);
  console.log(
    comparison(
      'allocations by module',
      'KB',
      perReview(wh.byGroup, w.load.requests, 1024),
      perReview(fh.byGroup, f.load.requests, 1024),
    ),
  );
  console.log('\n== the webhook in detail');
  console.log(summarise(w.cpu, { top: 30, perRequest: { requests: w.load.requests } }));
  console.log('');
  console.log(summariseHeap(w.heap, { top: 20, requests: w.load.requests }));
}

main().catch((err) => {
  console.error(err?.stack ?? err);
  process.exit(1);
});
