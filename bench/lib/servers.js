'use strict';
/* Starting and stopping the two servers under test, each in its own process. */
const { spawn } = require('node:child_process');
const http = require('node:http');
const net = require('node:net');
const { openSync, readFileSync } = require('node:fs');
const { join } = require('node:path');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function get(port, path) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path, timeout: 1000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => {
      req.destroy();
      resolve(0);
    });
  });
}

/** Keeps the last lines a child wrote, to say why it died. */
function tail(stream, keep = 40) {
  const lines = [];
  stream?.setEncoding('utf8');
  stream?.on('data', (chunk) => {
    lines.push(...chunk.split('\n').filter(Boolean));
    if (lines.length > keep) lines.splice(0, lines.length - keep);
  });
  return lines;
}

// Children still running when this process exits (a crash, an uncaught error) are killed, so
// a failed run never leaves servers behind.
const children = new Set();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

function track(child, name, output) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  const state = { exited: false, code: null };
  const exited = new Promise((resolve) =>
    child.once('exit', (code, signal) => {
      state.exited = true;
      state.code = code ?? signal;
      resolve();
    }),
  );
  return {
    name,
    pid: child.pid,
    child,
    output,
    state,
    exited,
    /** SIGTERM, and a second one (exit now) if it is still there after graceMs. */
    async stop(graceMs = 200) {
      if (state.exited) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => {
        if (!state.exited) child.kill('SIGTERM');
      }, graceMs);
      const hard = setTimeout(() => {
        if (!state.exited) child.kill('SIGKILL');
      }, graceMs + 10_000);
      await exited;
      clearTimeout(t);
      clearTimeout(hard);
    },
  };
}

/** NODE_OPTIONS of the image, read from the Dockerfile so that the benchmark runs what ships. */
function imageNodeOptions(root) {
  const dockerfile = readFileSync(join(root, 'Dockerfile'), 'utf8');
  const m = /^(?!\s*#).*\bNODE_OPTIONS=(?:"([^"]*)"|(\S+))/m.exec(dockerfile);
  if (!m)
    throw new Error(
      'Dockerfile sets no NODE_OPTIONS: the benchmark would not run what the image runs',
    );
  return m[1] ?? m[2];
}

/**
 * The production build, as the container image runs it: `node dist/main.js`, configured by env.
 * `config`: a configuration file (POD_HARDENER_CONFIG), e.g. the shipped
 * manifests/base/config.yaml; the environment set here (addresses, ports, certificate files,
 * `logLevel` when given) overrides it, as it does in the Deployment.
 * `env`: more variables (a profiler's). `logTo`: 'pipe' keeps the last lines (warn level writes
 * almost nothing); 'null' sends stdout to /dev/null, the cheapest sink a real log line can go
 * to (the kubelet's is a pipe).
 */
async function startWebhook({
  root,
  certFile,
  keyFile,
  config,
  logLevel,
  logTo = 'pipe',
  nodeArgs = [],
  env = {},
  name = 'webhook',
  main = join(root, 'dist', 'main.js'),
}) {
  const port = await freePort();
  const metricsPort = await freePort();
  const stdout = logTo === 'null' ? openSync('/dev/null', 'w') : 'pipe';
  const child = spawn(process.execPath, [...nodeArgs, main], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      // As the container image runs it (Dockerfile: ENV NODE_ENV, NODE_OPTIONS).
      NODE_ENV: 'production',
      NODE_OPTIONS: imageNodeOptions(root),
      POD_HARDENER_ADDRESS: '127.0.0.1',
      POD_HARDENER_PORT: String(port),
      POD_HARDENER_METRICS_PORT: String(metricsPort),
      POD_HARDENER_TLS_CERT_FILE: certFile,
      POD_HARDENER_TLS_KEY_FILE: keyFile,
      ...(config ? { POD_HARDENER_CONFIG: config } : {}),
      ...(logLevel ? { POD_HARDENER_LOG_LEVEL: logLevel } : {}),
      ...env,
    },
    stdio: ['ignore', stdout, 'pipe'],
  });
  const outTail = tail(child.stdout);
  const errTail = tail(child.stderr);
  const s = track(child, name, { stdout: outTail, stderr: errTail });
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (s.state.exited) break;
    if ((await get(metricsPort, '/readyz')) === 200)
      return { ...s, port, metricsPort, path: '/mutate' };
    await sleep(50);
  }
  await s.stop();
  throw new Error(
    `${name} did not become ready (exit ${s.state.code}):\n${[...outTail, ...errTail].join('\n')}`,
  );
}

/**
 * The floor (baseline-server.js); with reviews > 0, the floor that also runs the review
 * (bench/split.js). It runs under the image's NODE_OPTIONS like the webhook, so that both have
 * the same V8 heap settings: a peak RSS compared with the floor's is then the webhook's own
 * code and data, not a young generation of another size.
 */
async function startBaseline(
  { certFile, keyFile },
  { reviews = 0, name = 'baseline', nodeArgs = [], env = {} } = {},
) {
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs, join(__dirname, 'baseline-server.js')], {
    env: {
      PATH: process.env.PATH,
      NODE_OPTIONS: imageNodeOptions(join(__dirname, '..', '..')),
      BASELINE_PORT: String(port),
      BASELINE_TLS_CERT_FILE: certFile,
      BASELINE_TLS_KEY_FILE: keyFile,
      BASELINE_REVIEWS: String(reviews),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const errTail = tail(child.stderr);
  const s = track(child, name, { stderr: errTail });
  await new Promise((resolve, reject) => {
    child.stdout.once('data', resolve);
    child.once('exit', () => reject(new Error(`baseline exited:\n${errTail.join('\n')}`)));
  });
  return { ...s, port, path: '/mutate' };
}

module.exports = { startWebhook, startBaseline, freePort, sleep, imageNodeOptions };
