'use strict';
/* Reading a process's memory and CPU from /proc (Linux only). */
const { execFileSync, spawn } = require('node:child_process');
const { readFileSync, writeFileSync } = require('node:fs');

/** VmRSS (now) and VmHWM (peak since start), in bytes. */
function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) =>
    Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** USER_HZ, the unit of utime and stime in /proc/<pid>/stat. */
function clockTicks() {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    if (Number.isInteger(n) && n > 0) return n;
  } catch {
    // no getconf: the kernel's USER_HZ is 100 on every architecture Node supports
  }
  return 100;
}
const TICKS_PER_SECOND = clockTicks();

/** User + system CPU time the process has used so far, in seconds. */
function cpuSeconds(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the ")" that closes the command name: state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** Resets VmHWM to the current RSS (Linux >= 4.0), so a phase's own peak can be read after it. */
function resetPeak(pid) {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/**
 * Checks cpuSeconds against a process that knows its own CPU time: a child spins until its
 * process.cpuUsage() says `seconds` of CPU, then prints it and waits; its /proc figure is read
 * while it waits. A wrong field, a wrong tick rate or a per-thread instead of per-process figure
 * shows up as a ratio far from 1. Resolves to { proc, self, wall } in seconds.
 */
function checkCpuAccounting(seconds = 0.5) {
  const spin = `const t=process.hrtime.bigint();let x=0;for(;;){for(let i=0;i<1e5;i++)x+=i;
const u=process.cpuUsage();if((u.user+u.system)/1e6>=${seconds})break;}
const u=process.cpuUsage();console.log(JSON.stringify({self:(u.user+u.system)/1e6,wall:Number(process.hrtime.bigint()-t)/1e9}));
process.stdin.resume();process.stdin.on('end',()=>process.exit(0));`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', spin], { stdio: ['pipe', 'pipe', 'inherit'] });
    const before = cpuSeconds(child.pid);
    let out = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      out += chunk;
      if (!out.includes('\n')) return;
      const proc = cpuSeconds(child.pid) - before;
      const { self, wall } = JSON.parse(out);
      child.stdin.end();
      resolve({ proc, self, wall, ticksPerSecond: TICKS_PER_SECOND });
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      if (!out.includes('\n'))
        reject(
          new Error(`CPU accounting check: the spinning child exited (${code}) before reporting`),
        );
    });
  });
}

module.exports = { memory, cpuSeconds, resetPeak, checkCpuAccounting, TICKS_PER_SECOND };
