#!/usr/bin/env node
'use strict';
/*
 * `npm run bench:adversarial`: what a hostile pod costs one review, against its size.
 *
 * Each shape of test/support/hostile-pods.ts (a pod-supplied summary annotation, skip-containers
 * naming a million containers, allowlists, container lists, capabilities, sysctls, long names,
 * volumes) is grown from 64 KiB to 3 MiB, the largest body the API server accepts. For each size,
 * the webhook's own work on one review, in this process (no TLS, no HTTP): JSON.parse of the
 * body, the review function, JSON.stringify of the answer; the median of a few runs, in CPU time.
 *
 * The figure to read is the last column, milliseconds per MiB at each size: flat (or falling)
 * means linear; a quadratic cost doubles it with each doubling of the size. Prints one table and a
 * last line with the worst case per MiB. Loopback only: nothing is sent anywhere.
 */
require('./lib/typescript-require');
const { join } = require('node:path');

const dist = join(__dirname, '..', 'dist');
const { reviewAdmission } = require(`${dist}/admission/review.js`);
const { loadConfig, policySettings } = require(`${dist}/config/load.js`);
const { compilePolicy } = require(`${dist}/engine/policy.js`);
const { HOSTILE_SHAPES } = require('../test/support/hostile-pods.ts');
const { podReview } = require('../test/support/reviews.ts');

const SIZES = [64 * 1024, 256 * 1024, 1024 * 1024, 3 * 1024 * 1024];
const RUNS = process.env.BENCH_QUICK ? 1 : 5;

function policyOf(yaml) {
  const loaded = loadConfig({
    argv: yaml ? ['--config', '/bench.yaml'] : [],
    env: {},
    readFile: () => yaml,
    purpose: 'offline',
  });
  return compilePolicy(policySettings(loaded.config));
}

function cpuMs(fn) {
  const start = process.cpuUsage();
  fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const rows = [];
let worst = { perMiB: 0 };
for (const shape of HOSTILE_SHAPES) {
  const policy = policyOf(shape.yaml ?? '');
  for (const size of SIZES) {
    const body = JSON.stringify(podReview(shape.build(size), { namespace: 'team' }));
    const bytes = Buffer.byteLength(body);
    const times = [];
    for (let i = 0; i < RUNS; i++) {
      times.push(
        cpuMs(() => {
          const outcome = reviewAdmission(JSON.parse(body), 'enforce', policy);
          if (outcome.status !== 200) throw new Error(`${shape.name}: HTTP ${outcome.status}`);
          JSON.stringify(outcome.body);
        }),
      );
    }
    const ms = median(times);
    const perMiB = ms / (bytes / (1024 * 1024));
    rows.push([shape.name, (bytes / 1024).toFixed(0), ms.toFixed(1), perMiB.toFixed(1)]);
    if (perMiB > worst.perMiB && bytes >= 1024 * 1024) worst = { perMiB, shape: shape.name, bytes };
  }
}

const header = ['shape', 'KiB', 'CPU ms', 'ms per MiB'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells) =>
  cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
console.log(line(header));
for (const r of rows) console.log(line(r));
console.log(
  `worst case at 1 MiB and above: ${worst.perMiB.toFixed(1)} ms of CPU per MiB (${worst.shape}, ${(worst.bytes / 1024).toFixed(0)} KiB)`,
);
