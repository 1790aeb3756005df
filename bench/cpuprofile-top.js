#!/usr/bin/env node
'use strict';
/*
 * Summarises a V8 CPU profile (.cpuprofile) or sampling heap profile (.heapprofile) of the
 * webhook: self time (or bytes allocated) grouped by module (TLS, HTTP parsing, express, JSON,
 * engine, patch, logging, metrics, GC, ...), the top functions, and for CPU the inclusive time of
 * the project's functions and their direct dependencies.
 *   node bench/cpuprofile-top.js <file.cpuprofile|file.heapprofile> [top=25] [requests]
 * With `requests` (how many reviews the profile covers) figures are also given per review.
 */
const { readFileSync } = require('node:fs');

const NODE_OTHER = 'node core, other (events, timers, buffers, fs)';

// Module groups, first match wins, tested against the frame's file (node:..., a package under
// node_modules, or the build's dist/...).
const GROUPS = [
  ['TLS', /^node:(_tls_wrap|tls|_tls_common|internal\/tls\b)/],
  ['HTTP parsing and writing', /^node:(_http_|http$|https$|internal\/http)/],
  [
    'sockets and streams (native writev: TLS encryption, the syscall)',
    /^node:(net|internal\/stream_base_commons|stream|internal\/streams\/)/,
  ],
  [
    'express',
    /^pkg (express|router|body-parser|finalhandler|send|serve-static|parseurl|type-is|content-type|on-finished|depd|mime-types|qs|path-to-regexp|accepts|negotiator|raw-body|iconv-lite|statuses|http-errors|encodeurl|escape-html|vary|proxy-addr|fresh|range-parser|etag|merge-descriptors|cookie|utils-merge|setprototypeof)$/,
  ],
  [
    'logging (pino, one line per review)',
    /^(pkg (pino|pino-std-serializers|sonic-boom|thread-stream|quick-format-unescaped|fast-redact|safe-stable-stringify|atomic-sleep|on-exit-leak-free|real-require|fast-safe-stringify)|dist\/server\/logging\.js)$/,
  ],
  ['metrics (prom-client)', /^(pkg (prom-client|tdigest|bintrees)|dist\/server\/metrics\.js)$/],
  ['engine (hardening)', /^dist\/engine\//],
  ['patch (diff, guard)', /^dist\/admission\/(patch|json-diff)\.js$/],
  ['admission (decode, review, report)', /^dist\/admission\//],
  ['server (transport, pipeline)', /^dist\/(server\/|main\.js)/],
  ['other project code', /^dist\//],
  ['floor server', /baseline-server\.js$/],
  ['the profiler itself (bench/lib/profiler-preload.js)', /profiler-preload\.js$/],
  [NODE_OTHER, /^node:/],
  ['other packages', /^pkg /],
];

// Builtins that show up as their own frames without a file, and source lines that call them.
const JSON_BUILTINS = new Set([
  'parse',
  'stringify',
  'JSON.parse',
  'JSON.stringify',
  'JsonParse',
  'JsonStringify',
]);
const JSON_CALL = /\bJSON\.(parse|stringify)\(/;
const JSON_GROUP = 'JSON parse/serialize (lines calling JSON.parse/stringify)';

function fileOf(url) {
  if (!url) return '';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return `pkg ${rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]}`;
  }
  if (url.startsWith('node:')) return url;
  const d = url.indexOf('/dist/');
  if (d >= 0) return url.slice(d + 1);
  return url.replace(/^file:\/\//, '');
}

function shortFile(url) {
  if (!url) return '';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) return url.slice(nm + 'node_modules/'.length);
  const d = url.indexOf('/dist/');
  if (d >= 0) return url.slice(d + 1);
  return url.replace(/^file:\/\//, '');
}

/**
 * The group of a frame. A frame without a file is a builtin or native function: JSON.parse and
 * JSON.stringify are their own group; V8's pseudo-frames ((garbage collector), (program),
 * (idle)) are theirs. Any other native frame, and node core's generic helpers (events, fs,
 * buffers, timers), are charged to the nearest caller of a more specific group: the TLS
 * socket's writev to sockets, sonic-boom's fs write of a log line to logging.
 */
function groupOfFrame(callFrame, ancestors) {
  const name = callFrame.functionName;
  if (!callFrame.url) {
    if (JSON_BUILTINS.has(name)) return JSON_GROUP;
    if (name === '(garbage collector)') return 'GC (main-thread pauses)';
    if (name === '(program)')
      return '(program: native code outside JS, e.g. TLS decryption, epoll)';
    if (name === '(idle)') return '(idle)';
    if (name === '(root)') return '(root)';
  } else {
    const own = groupOfFile(fileOf(callFrame.url));
    if (own !== NODE_OTHER) return own;
  }
  let generic = callFrame.url ? NODE_OTHER : 'native, no JS caller';
  for (const a of ancestors) {
    if (!a.url) continue;
    const group = groupOfFile(fileOf(a.url));
    if (group !== NODE_OTHER) return group;
    generic = NODE_OTHER;
  }
  return generic;
}

function groupOfFile(file) {
  for (const [group, re] of GROUPS) if (re.test(file)) return group;
  return 'other';
}

function functionLabel(cf) {
  return `${cf.functionName || '(anonymous)'} ${shortFile(cf.url)}${cf.url ? `:${cf.lineNumber + 1}` : ''}`;
}

/** Sorted rows "share  amount  label" of a Map label -> amount. */
function rows(map, total, format, top) {
  return [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(
      ([k, v]) => `${((100 * v) / total).toFixed(1).padStart(5)}%  ${format(v).padStart(12)}  ${k}`,
    );
}

const add = (m, k, v) => m.set(k, (m.get(k) ?? 0) + v);

/**
 * The figures of a .cpuprofile: busy time, self time by module and by function, inclusive time by
 * function, and for each function its hottest source lines (V8's positionTicks).
 */
function cpuBreakdown(profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const ancestors = (id) => {
    const out = [];
    for (let cur = parent.get(id); cur !== undefined; cur = parent.get(cur))
      out.push(byId.get(cur).callFrame);
    return out;
  };
  const selfUs = new Map();
  // samples[i] was taken in node samples[i]; timeDeltas[i] is the time since the sample before.
  for (let i = 0; i < profile.samples.length; i++)
    add(selfUs, profile.samples[i], profile.timeDeltas[i] ?? 0);
  let idleUs = 0;
  let totalUs = 0;
  const byFunction = new Map();
  const byGroup = new Map();
  const lineTicks = new Map(); // function label -> Map(line -> ticks)
  for (const [id, us] of selfUs) {
    totalUs += us;
    const node = byId.get(id);
    const cf = node.callFrame;
    if (cf.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const label = functionLabel(cf);
    add(byFunction, label, us);
    const group = groupOfFrame(cf, ancestors(id));
    if (cf.url && node.positionTicks) {
      const lines = lineTicks.get(label) ?? new Map();
      for (const t of node.positionTicks) add(lines, t.line, t.ticks);
      lineTicks.set(label, lines);
      // JSON.parse and JSON.stringify are inlined into their caller: the share of its samples on
      // a line that calls one is counted as JSON rather than as the caller's module.
      const ticks = node.positionTicks.reduce((a, t) => a + t.ticks, 0);
      const json = node.positionTicks
        .filter((t) => JSON_CALL.test(sourceLine(cf.url, t.line)))
        .reduce((a, t) => a + t.ticks, 0);
      add(byGroup, JSON_GROUP, (us * json) / ticks);
      add(byGroup, group, (us * (ticks - json)) / ticks);
    } else {
      add(byGroup, group, us);
    }
  }
  // Inclusive ("total") time: each sample counts once for every distinct function on its stack.
  const inclusive = new Map();
  for (const [id, us] of selfUs) {
    const seen = new Set();
    for (let cur = id; cur !== undefined; cur = parent.get(cur)) {
      const cf = byId.get(cur).callFrame;
      if (!cf.url) continue;
      const fn = functionLabel(cf);
      if (seen.has(fn)) continue;
      seen.add(fn);
      add(inclusive, fn, us);
    }
  }
  const urls = new Map(profile.nodes.map((n) => [functionLabel(n.callFrame), n.callFrame.url]));
  return {
    totalUs,
    idleUs,
    busyUs: totalUs - idleUs,
    byGroup,
    byFunction,
    inclusive,
    lineTicks,
    urls,
  };
}

const sources = new Map();
/** The source text of a line of a file:// URL (or a path), trimmed, or '' when it cannot be read. */
function sourceLine(url, line) {
  if (!sources.has(url)) {
    let lines = [];
    try {
      lines = readFileSync(url.startsWith('file:') ? new URL(url) : url, 'utf8').split('\n');
    } catch {
      // node: internals and the like
    }
    sources.set(url, lines);
  }
  return sources.get(url)[line - 1]?.trim().slice(0, 90) ?? '';
}

/**
 * @param {object} profile a .cpuprofile
 * @param {{ top?: number, perRequest?: { requests: number } }} [o]
 */
function summarise(profile, o = {}) {
  const top = o.top ?? 25;
  const requests = o.perRequest?.requests;
  const b = cpuBreakdown(profile);
  const time = (us) =>
    requests ? `${(us / requests).toFixed(1)} µs/rev` : `${(us / 1000).toFixed(0)} ms`;
  // Builtins V8 inlines (JSON.parse, JSON.stringify, string and array methods) have no frame of
  // their own: their time is the caller's self time, and the caller's hottest line says which.
  const functionRows = [...b.byFunction]
    .sort((x, y) => y[1] - x[1])
    .slice(0, top)
    .map(([k, us]) => {
      const row = `${((100 * us) / b.busyUs).toFixed(1).padStart(5)}%  ${time(us).padStart(12)}  ${k}`;
      const lines = b.lineTicks.get(k);
      if (!lines || !/dist\//.test(k)) return row;
      const all = [...lines.values()].reduce((x, y) => x + y, 0);
      const [line, ticks] = [...lines].sort((x, y) => y[1] - x[1])[0];
      return `${row}\n${' '.repeat(22)}${Math.round((100 * ticks) / all)}% on line ${line}: ${sourceLine(b.urls.get(k), line)}`;
    });
  return [
    `sampled: ${(b.totalUs / 1e6).toFixed(2)} s, of which idle ${(b.idleUs / 1e6).toFixed(2)} s; shares below are of the ${(b.busyUs / 1e6).toFixed(2)} s busy${requests ? `; per review: sampled busy time / ${requests} reviews` : ''}`,
    '',
    'self time by module:',
    ...rows(b.byGroup, b.busyUs, time, 40),
    '',
    'self time by function (for project code, the line with most samples):',
    ...functionRows,
    '',
    'total time (self + callees), project code and its direct dependencies:',
    ...rows(
      new Map(
        [...b.inclusive].filter(([k]) =>
          /dist\/|express|router|pino|prom-client|fast-json-patch/.test(k),
        ),
      ),
      b.busyUs,
      time,
      top,
    ),
  ].join('\n');
}

/** Bytes allocated in a sampling heap profile ({ head: { callFrame, selfSize, children } }), by module and function. */
function heapBreakdown(profile) {
  const byFunction = new Map();
  const byGroup = new Map();
  let total = 0;
  const walk = (node, ancestors) => {
    if (node.selfSize > 0) {
      total += node.selfSize;
      add(byFunction, functionLabel(node.callFrame), node.selfSize);
      add(byGroup, groupOfFrame(node.callFrame, ancestors), node.selfSize);
    }
    const next = [node.callFrame, ...ancestors];
    for (const c of node.children ?? []) walk(c, next);
  };
  walk(profile.head, []);
  return { total, byGroup, byFunction };
}

/**
 * @param {object} profile a sampling heap profile
 * @param {{ top?: number, requests?: number }} [o]
 */
function summariseHeap(profile, o = {}) {
  const top = o.top ?? 25;
  const { total, byGroup, byFunction } = heapBreakdown(profile);
  const kb = (b) =>
    o.requests
      ? `${(b / o.requests / 1024).toFixed(2)} KB/rev`
      : `${(b / 1024 / 1024).toFixed(1)} MB`;
  return [
    `allocated (sampled, freed objects included): ${(total / 1024 / 1024).toFixed(0)} MB${o.requests ? `, ${(total / o.requests / 1024).toFixed(1)} KB per review` : ''}`,
    '',
    'allocations by module:',
    ...rows(byGroup, total, kb, 40),
    '',
    'allocations by function:',
    ...rows(byFunction, total, kb, top),
  ].join('\n');
}

if (require.main === module) {
  const [file, top, requests] = process.argv.slice(2);
  if (!file) {
    console.error(
      'usage: node bench/cpuprofile-top.js <file.cpuprofile|file.heapprofile> [top=25] [requests]',
    );
    process.exit(2);
  }
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const n = requests ? Number(requests) : undefined;
  console.log(
    profile.head
      ? summariseHeap(profile, { top: Number(top ?? 25), requests: n })
      : summarise(profile, { top: Number(top ?? 25), perRequest: n ? { requests: n } : undefined }),
  );
}

module.exports = { summarise, summariseHeap, cpuBreakdown, heapBreakdown };
