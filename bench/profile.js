#!/usr/bin/env node
'use strict';
/*
 * CPU profile of the production build under load:
 *   npm run build && node bench/profile.js [pod-4k|pod-40k] [seconds=8] [warn|info]
 * Starts `node --cpu-prof dist/main.js`, loads it with autocannon (50 connections, TLS
 * keep-alive), stops it (the profile is written at exit) and prints the top self-time
 * functions (bench/cpuprofile-top.js). The .cpuprofile is kept for Chrome DevTools / speedscope.
 */
const { mkdtempSync, readdirSync, readFileSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');
const { startWebhook } = require('./lib/servers');
const { cannon } = require('./lib/throughput');
const { summarise } = require('./cpuprofile-top');
const { makeCertificate } = require('./lib/certificate');

async function main() {
  const [fixture = 'pod-4k', seconds = '8', level = 'warn'] = process.argv.slice(2);
  const root = join(__dirname, '..');
  const body = readFileSync(join(root, 'test', 'fixtures', 'reviews', `${fixture}.review.json`));
  const { dir, certFile, keyFile } = await makeCertificate(root, mkdtempSync(join(tmpdir(), 'pod-hardener-profile-')));
  const webhook = await startWebhook({
    root, certFile, keyFile, logLevel: level, logTo: 'null',
    nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`],
  });
  try {
    const r = await cannon({ port: webhook.port, path: webhook.path, body, connections: 50, durationS: Number(seconds) });
    console.log(`${fixture}, log level ${level}: ${Math.round(r.requests.average)} reviews/s, non-2xx ${r.non2xx}, errors ${r.errors}`);
  } finally {
    await webhook.stop();
  }
  const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error(`no .cpuprofile in ${dir} (exit ${webhook.state.code})`);
  console.log(`profile: ${join(dir, file)}`);
  console.log('(V8 samples on a wall-clock timer: a native call such as writev also collects the time the process spent descheduled\n right after waking the client, so on a busy machine it looks bigger than its CPU cost. For CPU time only: perf record -e cpu-clock\n with node --perf-prof, then perf inject --jit.)\n');
  console.log(summarise(JSON.parse(readFileSync(join(dir, file), 'utf8')), 40));
}

main().catch((err) => {
  console.error(err?.stack ?? err);
  process.exit(1);
});
