'use strict';
/*
 * Loaded into the server under test with `node -r` by bench/profile.js, never by the product.
 * The first SIGUSR2 starts V8's CPU profiler (the one `--cpu-prof` drives) and its sampling heap
 * profiler, the second stops both and writes <BENCH_PROFILE_PREFIX>.cpuprofile and .heapprofile,
 * then prints "profiled" on stderr. So the profiles cover exactly the measured load, not start-up
 * or warmup, and the heap profile keeps the objects the garbage collector already freed (what
 * --heap-prof drops): it is a profile of allocations, not of what stays alive.
 */
const inspector = require('node:inspector');
const { writeFileSync } = require('node:fs');

const prefix = process.env.BENCH_PROFILE_PREFIX;
const cpuIntervalUs = Number(process.env.BENCH_PROFILE_CPU_INTERVAL_US ?? 250);
const heapIntervalBytes = Number(process.env.BENCH_PROFILE_HEAP_INTERVAL_BYTES ?? 16384);
const session = new inspector.Session();
session.connect();
const post = (method, params) =>
  new Promise((resolve, reject) =>
    session.post(method, params, (err, result) => (err ? reject(err) : resolve(result))),
  );

let running = false;
process.on('SIGUSR2', () => {
  const step = running
    ? Promise.all([post('Profiler.stop'), post('HeapProfiler.stopSampling')]).then(
        ([cpu, heap]) => {
          writeFileSync(`${prefix}.cpuprofile`, JSON.stringify(cpu.profile));
          writeFileSync(`${prefix}.heapprofile`, JSON.stringify(heap.profile));
          process.stderr.write('profiled\n');
        },
      )
    : post('Profiler.enable')
        .then(() => post('Profiler.setSamplingInterval', { interval: cpuIntervalUs }))
        .then(() =>
          post('HeapProfiler.startSampling', {
            samplingInterval: heapIntervalBytes,
            includeObjectsCollectedByMajorGC: true,
            includeObjectsCollectedByMinorGC: true,
          }),
        )
        .then(() => post('Profiler.start'))
        .then(() => process.stderr.write('profiling\n'));
  running = !running;
  step.catch((err) => process.stderr.write(`profiler: ${err?.stack ?? err}\n`));
});
