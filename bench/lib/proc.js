'use strict';
/* Reading a process's memory and CPU from /proc (Linux only). */
const { readFileSync, writeFileSync } = require('node:fs');

/** VmRSS (now) and VmHWM (peak since start), in bytes. */
function memory(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

const TICKS_PER_SECOND = 100; // USER_HZ; 100 on every Linux architecture Node supports

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

module.exports = { memory, cpuSeconds, resetPeak };
