#!/usr/bin/env node
'use strict';
/*
 * Where a review's server CPU goes, in one run against the floor:
 *   npm run build && node bench/split.js [pod-4k|pod-40k]
 *
 * Four servers on the same certificate, each measured A B B A against the floor at saturation
 * (closed loop, 16 connections, CPU time per request from /proc, as in bench/run.js):
 *   floor              bench/lib/baseline-server.js: parse, answer a fixed response
 *   floor + review     the same, answering with the webhook's review function (dist/)
 *   floor + review x2  the review run twice per request, the second on a warm cache
 *   webhook            node dist/main.js, as the image runs it
 * (floor + review) - floor is what the review costs inside a server; the second run of it shows
 * how much of that is the first, cold run after each request's TLS and HTTP work; webhook -
 * (floor + review) is the webhook's own transport, logging and metrics.
 */
const { mkdtempSync, readFileSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { startWebhook, startBaseline } = require('./lib/servers');
const { abba, saturationSegment } = require('./lib/abba');
const { table } = require('./lib/table');
const { makeCertificate } = require('./lib/certificate');

async function main() {
  const fixture = process.argv[2] ?? 'pod-4k';
  const root = join(__dirname, '..');
  const body = readFileSync(join(root, 'test', 'fixtures', 'reviews', `${fixture}.review.json`));
  const { dir, certFile, keyFile, ca } = await makeCertificate(
    root,
    mkdtempSync(join(tmpdir(), 'pod-hardener-split-')),
  );
  const cert = { certFile, keyFile };
  const servers = [];
  try {
    const floor = await startBaseline(cert);
    servers.push(floor);
    servers.push(await startBaseline(cert, { reviews: 1, name: 'floor + review' }));
    servers.push(await startBaseline(cert, { reviews: 2, name: 'floor + review x2' }));
    servers.push(await startWebhook({ root, ...cert, logLevel: 'warn', name: 'webhook' }));
    const rows = [
      [
        'server',
        'CPU µs/request',
        'floor in the same segments',
        'difference',
        'reviews/s',
        'vs floor',
      ],
    ];
    for (const server of servers.slice(1)) {
      const segment = (durationMs) => (s) =>
        saturationSegment(s, { body, ca, connections: 16, durationMs });
      for (const s of [floor, server]) await segment(2000)(s);
      const [f, s] = await abba([floor, server], segment(2500));
      rows.push([
        server.name,
        s.cpuUsPerReq.toFixed(0),
        f.cpuUsPerReq.toFixed(0),
        `+${(s.cpuUsPerReq - f.cpuUsPerReq).toFixed(0)}`,
        s.reqPerSec.toFixed(0),
        `${(s.reqPerSec / f.reqPerSec).toFixed(2)}x`,
      ]);
    }
    console.log(
      `${fixture}: CPU time per request of each server, against the floor measured beside it`,
    );
    console.log(table(rows));
  } finally {
    for (const s of servers) await s.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err?.stack ?? err);
    process.exit(1);
  },
);
