'use strict';
/* In-process measurements: the engine alone, and the whole review function without HTTP. */
const { performance } = require('node:perf_hooks');

/**
 * Calls fn in batches for warmupMs, then measures for durationMs. Returns calls per wall-clock
 * second and per CPU-second of this process (garbage collector threads included): on a shared
 * machine the second does not drop when another process takes the core.
 */
function opsPerSecond(fn, { warmupMs = 1000, durationMs = 3000, batch = 200 } = {}) {
  const run = (ms) => {
    let n = 0;
    const cpu0 = process.cpuUsage();
    const start = performance.now();
    let now = start;
    while (now - start < ms) {
      for (let i = 0; i < batch; i++) fn();
      n += batch;
      now = performance.now();
    }
    const cpu = process.cpuUsage(cpu0);
    return {
      wall: n / ((now - start) / 1000),
      perCpuSecond: n / ((cpu.user + cpu.system) / 1e6),
      calls: n,
    };
  };
  run(warmupMs);
  if (typeof global.gc === 'function') global.gc();
  return run(durationMs);
}

/**
 * @param {string} dist absolute path of the build
 * @param {{name: string, text: string}[]} fixtures AdmissionReview bodies
 */
function benchEngine(dist, fixtures, { warmupMs, durationMs } = {}) {
  const { harden } = require(`${dist}/engine/harden.js`);
  const { createPatch } = require(`${dist}/engine/patch.js`);
  const { reviewAdmission } = require(`${dist}/admission/review.js`);
  const { compilePolicy } = require(`${dist}/engine/policy.js`);
  const { DEFAULT_POLICY } = require(`${dist}/config/schema.js`);
  const policy = compilePolicy(DEFAULT_POLICY);
  const out = [];
  for (const f of fixtures) {
    const review = JSON.parse(f.text);
    const pod = review.request.object;
    const namespace = review.request.namespace;
    const options = { scope: { kind: 'create' }, namespace };
    // harden never modifies its input, so one parsed pod serves every iteration.
    const engine = () => {
      const result = harden(pod, policy, options);
      return createPatch(pod, result.pod);
    };
    const check = engine();
    if (check.length === 0)
      throw new Error(`${f.name}: the engine changed nothing; not a useful benchmark`);
    // The whole review without HTTP: parse the body, review, serialize the response.
    const full = () => JSON.stringify(reviewAdmission(JSON.parse(f.text), 'enforce', policy).body);
    out.push({
      name: f.name,
      patchOps: check.length,
      engine: opsPerSecond(engine, { warmupMs, durationMs }),
      review: opsPerSecond(full, {
        warmupMs: (warmupMs ?? 1000) / 2,
        durationMs: (durationMs ?? 3000) / 2,
        batch: 50,
      }),
    });
  }
  return out;
}

module.exports = { opsPerSecond, benchEngine };
