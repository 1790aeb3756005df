#!/usr/bin/env node
'use strict';
/*
 * Summarises a V8 .cpuprofile (node --cpu-prof): the functions with the most self time, and
 * the same grouped by file (package for node_modules), so "what dominates" is one glance.
 *   node bench/cpuprofile-top.js <file.cpuprofile> [top=25]
 */
const { readFileSync } = require('node:fs');

function summarise(profile, top = 25) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map();
  // samples[i] was taken in node samples[i]; timeDeltas[i] is the time since the sample before.
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const total = [...selfUs.values()].reduce((a, b) => a + b, 0);
  const fnTotals = new Map();
  const fileTotals = new Map();
  for (const [id, us] of selfUs) {
    const cf = byId.get(id).callFrame;
    const file = shortFile(cf.url);
    const fn = `${cf.functionName || '(anonymous)'} ${file}${cf.url ? `:${cf.lineNumber + 1}` : ''}`;
    fnTotals.set(fn, (fnTotals.get(fn) ?? 0) + us);
    const group = groupOf(cf);
    fileTotals.set(group, (fileTotals.get(group) ?? 0) + us);
  }
  // Inclusive ("total") time: each sample counts once for every distinct function on its stack.
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map();
  for (const [id, us] of selfUs) {
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const cf = byId.get(cur).callFrame;
      if (!cf.url) continue;
      const fn = `${cf.functionName || '(anonymous)'} ${shortFile(cf.url)}:${cf.lineNumber + 1}`;
      if (seen.has(fn)) continue;
      seen.add(fn);
      inclusive.set(fn, (inclusive.get(fn) ?? 0) + us);
    }
  }
  const rows = (m) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, us]) => `${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${k}`);
  return [
    `total sampled: ${(total / 1e6).toFixed(2)} s`,
    '', 'self time by function:', ...rows(fnTotals),
    '', 'self time by file / package:', ...rows(fileTotals),
    '', 'total time (self + callees) by function, project code and its direct dependencies:',
    ...rows(new Map([...inclusive].filter(([k]) => /dist\/|express|body-parser|router|pino|prom-client|fast-json-patch|raw-body/.test(k)))),
  ].join('\n');
}

function shortFile(url) {
  if (!url) return '';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const d = url.indexOf('/dist/');
  if (d >= 0) return url.slice(d + 1);
  return url.replace(/^file:\/\//, '');
}

function groupOf(cf) {
  const url = cf.url;
  if (!url) return cf.functionName.startsWith('(') ? cf.functionName : '(native/V8 builtins)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return `pkg ${rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  if (url.startsWith('node:')) return url;
  return shortFile(url);
}

if (require.main === module) {
  const [file, top] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node bench/cpuprofile-top.js <file.cpuprofile> [top]');
    process.exit(2);
  }
  console.log(summarise(JSON.parse(readFileSync(file, 'utf8')), Number(top ?? 25)));
}

module.exports = { summarise };
