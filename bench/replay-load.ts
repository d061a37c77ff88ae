#!/usr/bin/env node
/**
 * npm run bench:replay: what one user's long replays cost everyone else. Starts the compiled
 * server (`npm start`'s, the message log on in a fresh directory, `--history-page` raised to
 * the replay's size), fills the log with N lines, runs `rx-im-bench fanout` alone, then again
 * while one more client asks `since|` for all N lines again as soon as each reply ends, and
 * prints the others' latency both ways. Issue 12's target: their p99 within 2× of its value
 * without the replays.
 *
 *     npm run bench:replay -- [--events N] [--clients C] [--senders S] [--duration SECONDS]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type { BenchResult } from './run';
import { ROOT, RX_IM_LISTENING, runBench, spawnListening } from './spawn';

function options(): { events: number; clients: number; senders: number; duration: number } {
  const { values } = parseArgs({
    options: { events: { type: 'string' }, clients: { type: 'string' }, senders: { type: 'string' }, duration: { type: 'string' } },
  });
  const whole = (name: string, value: string | undefined, fallback: number, max: number): number => {
    const n = value === undefined ? fallback : Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max) throw new Error(`--${name} must be a whole number from 1 to ${max}, got ${value}`);
    return n;
  };
  return {
    events: whole('events', values.events, 10_000, 100_000),
    clients: whole('clients', values.clients, 100, 10_000),
    senders: whole('senders', values.senders, 10, 10_000),
    duration: whole('duration', values.duration, 5, 600),
  };
}

/** A line-reading client of the wire protocol. */
class Client {
  private buffer = '';
  onLine: ((line: string) => void) | undefined;

  private constructor(readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.buffer += chunk;
      let at: number;
      while ((at = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, at);
        this.buffer = this.buffer.slice(at + 1);
        this.onLine?.(line);
      }
    });
  }

  static open(port: number): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host: '127.0.0.1', port }, () => resolve(new Client(socket)));
      socket.once('error', reject);
    });
  }

  send(text: string): void {
    this.socket.write(`${text}\n`);
  }

  /** Resolves with the first line `match` accepts (lines before it are dropped). */
  until(match: (line: string) => boolean, timeoutMs: number, what: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} within ${timeoutMs} ms`)), timeoutMs);
      this.onLine = (line) => {
        if (!match(line)) return;
        clearTimeout(timer);
        this.onLine = undefined;
        resolve(line);
      };
    });
  }
}

/** `@id=ID;time=... rest` -> ID. */
const idOf = (line: string): string | undefined => (line.startsWith('@id=') ? line.slice(4, line.indexOf(';')) : undefined);

/** The id just before `id` (`since|` it returns `id` and everything after). */
function before(id: string): string {
  const [ms, seq] = id.split('-').map(Number);
  return seq > 0 ? `${ms}-${seq - 1}` : `${ms - 1}-999999999`;
}

/** rx-im-bench fanout against the server, in a child process (this one keeps replaying meanwhile). */
async function fanout(port: number, pid: number, o: ReturnType<typeof options>): Promise<BenchResult> {
  const args = ['fanout', '-c', `${o.clients}`, '-s', `${o.senders}`, '-m', '100000', '--duration', `${o.duration}`];
  const result = await runBench(args, port, pid);
  if ('error' in result) throw new Error(`rx-im-bench: ${result.error}`);
  return result;
}

async function main(): Promise<void> {
  const o = options();
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'rx-im-replay-'));
  const serverArgs = ['--port', '0', '--no-web', '--rate-limit', '0', '--idle-timeout', '3600', '--history-page', `${o.events}`, '--data-dir', dataDir];
  const { child, port } = await spawnListening(['dist/cli/server.js', ...serverArgs], RX_IM_LISTENING, 'rx-im-server');
  const server = { port, pid: child.pid! };
  try {
    // The log: N lines from one client, tagged so that the first one's id is known.
    const filler = await Client.open(server.port);
    filler.send('cap|tags');
    filler.send('rename|filler');
    await filler.until((l) => l.startsWith('cap|ack'), 5000, 'cap|ack');
    // One watcher for both: the first line's id, then the last line (they may come in one read).
    let firstId: string | undefined;
    const last = filler.until(
      (l) => {
        if (firstId === undefined && l.includes(']filler:line 0 ')) firstId = idOf(l);
        return l.includes(`]filler:line ${o.events - 1} `);
      },
      60_000,
      'the last line back',
    );
    for (let i = 0; i < o.events; i++) filler.send(`line ${i} of the log, an ordinary chat line`);
    await last;
    if (firstId === undefined) throw new Error('the first line came back without its id');
    const since = before(firstId);
    filler.socket.end();
    process.stderr.write(`the log holds ${o.events} lines; fanout C=${o.clients} S=${o.senders} alone ...\n`);

    const alone = await fanout(server.port, server.pid, o);

    // One more client asks for N events again as soon as each reply ends (always a full page:
    // the fanout runs add their lines to the log, and a reply holds the newest N).
    const replayer = await Client.open(server.port);
    replayer.send('cap|tags');
    let replays = 0;
    let lines = 0;
    let short: string | undefined;
    let running = true;
    // The log holds more than N events from the start, so every reply is the newest N after
    // `history|truncated`; the chat's own lines (this client is a member too) come between replies.
    let counting = false;
    replayer.onLine = (line) => {
      if (!running) return;
      if (line === 'history|truncated') {
        counting = true;
        lines = 0;
      } else if (line === 'history|end') {
        if (!counting || lines !== o.events) short = `a reply held ${counting ? lines : 'no'} events, not ${o.events}`;
        else replays++;
        counting = false;
        replayer.send(`since|${since}`);
      } else if (counting && line.startsWith('@id=')) lines++;
    };
    replayer.send(`since|${since}`);
    process.stderr.write(`... and with one client replaying all ${o.events} back to back ...\n`);
    const withReplays = await fanout(server.port, server.pid, o);
    running = false;
    replayer.socket.destroy();
    if (short) throw new Error(short);

    const a = alone.run?.latencyMs;
    const w = withReplays.run?.latencyMs;
    if (!a || !w) throw new Error(`a fanout run gave no figures (${alone.stalled ?? withReplays.stalled ?? 'no run'})`);
    const f = (n: number) => n.toFixed(2);
    process.stdout.write(
      [
        `replays of ${o.events} events while C=${o.clients} S=${o.senders} chat (fanout, closed loop, ${o.duration} s each):`,
        `  alone:        ${Math.round(alone.run.deliveredPerSec).toLocaleString('en-US')} lines/s, p50 ${f(a.p50)} ms, p99 ${f(a.p99)} ms`,
        `  with replays: ${Math.round(withReplays.run.deliveredPerSec).toLocaleString('en-US')} lines/s, p50 ${f(w.p50)} ms, p99 ${f(w.p99)} ms (${replays} replays of ${o.events})`,
        `  p99 with / without: ${(w.p99 / a.p99).toFixed(2)}× (target ≤ 2×)`,
        '',
      ].join('\n'),
    );
    process.stdout.write(`${JSON.stringify({ events: o.events, alone: alone.run, withReplays: withReplays.run, replays })}\n`);
  } finally {
    child.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench:replay: ${err.message}\n`);
  process.exit(1);
});
