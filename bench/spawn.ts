/** Servers and generator runs in child processes, for the scripts that compare builds (bench:compare, bench:replay). */
import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import type { BenchResult } from './run';

export const ROOT = path.resolve(__dirname, '..');

/** `rx-im-server listening on HOST:PORT (tcp)` and the floor relay's `floor relay on HOST:PORT`. */
export const RX_IM_LISTENING = /listening on [^\s]+:(\d+) \(tcp\)/;

/**
 * Starts a server (from the checkout's root) and resolves once its stdout names its port
 * (`listening`'s first group); rejects if it exits first.
 */
export function spawnListening(args: readonly string[], listening: RegExp, what: string): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const m = listening.exec(out);
      if (m) resolve({ child, port: Number(m[1]) });
    });
    child.once('exit', (code) => reject(new Error(`${what} exited (${code}) before listening`)));
  });
}

/**
 * One rx-im-bench run against PORT (its server's PID for /proc figures), in a child process:
 * its JSON result, or the last line it complained with. `progress`: its progress lines shown
 * on one line of this process's stderr. Killed after 240 s.
 */
export function runBench(
  args: readonly string[],
  port: number,
  pid: number,
  options: { readonly label?: string; readonly progress?: boolean } = {},
): Promise<BenchResult | { error: string }> {
  const label = options.label === undefined ? [] : ['--label', options.label];
  const child = spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', path.join(__dirname, 'cli.ts'), ...args, '--port', `${port}`, '--pid', `${pid}`, ...label, '--json'],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    err += d;
    const last = d.trim().split('\n').pop();
    if (options.progress && last) process.stderr.write(`\r\x1b[K  ${last.slice(0, 150)}`);
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
  return new Promise((resolve) => {
    child.on('exit', () => {
      clearTimeout(timer);
      if (options.progress) process.stderr.write('\r\x1b[K');
      const line = out
        .trim()
        .split('\n')
        .reverse()
        .find((l) => l.startsWith('{'));
      if (line) return resolve(JSON.parse(line) as BenchResult);
      resolve({ error: err.trim().split('\n').pop() ?? 'no output' });
    });
  });
}
