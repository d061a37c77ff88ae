/** A server's CPU time and resident memory, read from Linux's /proc (given its process id). */
import { readFileSync } from 'node:fs';

/** Linux reports CPU times in USER_HZ ticks: 100 a second on every mainstream architecture. */
const TICKS_PER_SECOND = 100;

/** utime + stime (all threads) of /proc/PID/stat, in seconds. */
export function parseCpuSeconds(stat: string): number {
  // The command name (field 2) may hold spaces and parentheses: count fields after its last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const utime = Number(rest[11]); // field 14
  const stime = Number(rest[12]); // field 15
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error('unexpected /proc/PID/stat format');
  return (utime + stime) / TICKS_PER_SECOND;
}

/** VmRSS of /proc/PID/status, in bytes. */
export function parseRssBytes(status: string): number {
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error('no VmRSS in /proc/PID/status');
  return Number(m[1]) * 1024;
}

export interface ProcSample {
  readonly cpuSeconds: number;
  readonly rssBytes: number;
}

/** One sample of a process, or undefined when it is gone (or this is not Linux). */
export function sampleProcess(pid: number): ProcSample | undefined {
  try {
    return {
      cpuSeconds: parseCpuSeconds(readFileSync(`/proc/${pid}/stat`, 'utf8')),
      rssBytes: parseRssBytes(readFileSync(`/proc/${pid}/status`, 'utf8')),
    };
  } catch {
    return undefined;
  }
}
