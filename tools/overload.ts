/**
 * The overload scenario of issue 13 (item 2), as a library: C clients each sending R lines a
 * second to the server CLI run as a child process, then SIGTERM. It measures how responsive
 * the server stays under the load (a private-message round trip every 250 ms), how late it
 * logs the signal, how long it takes to exit and with which code, and how many clients got the
 * shutdown notice. `npm run soak -- --overload` runs it at full scale (tools/soak.ts);
 * spec/e2e/hardening-overload.spec.ts at a small one.
 *
 * The clients never parse what they receive (at 1,000 clients the server may send hundreds of
 * MB a second, and this process shares the machine): they count bytes and keep the last few
 * hundred, which is where the shutdown notice must be.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';

export interface OverloadOptions {
  /** The server CLI to run (`cli/server.ts` of this tree by default; another tree's, to compare). */
  readonly cli?: string;
  /** Extra flags for the server (`--port 0 --no-web --lang en --data-dir TMP` are given). */
  readonly serverArgs?: readonly string[];
  /** Flags for the server's node (`--cpu-prof`, to see where its time goes). */
  readonly nodeArgs?: readonly string[];
  readonly clients: number;
  /** Lines a second each client sends. */
  readonly perSecond: number;
  /** How long the load runs before the signal. */
  readonly seconds: number;
  /** How long to wait for the server to exit after the signal before killing it. */
  readonly exitTimeoutMs?: number;
  /** Progress lines (the soak prints them; the spec logs them). */
  readonly progress?: (line: string) => void;
}

export interface OverloadReport {
  readonly clients: number;
  /** Clients that saw their own join line before the load started. */
  readonly joined: number;
  readonly linesSent: number;
  readonly mbReceived: number;
  /** Round trips of the probe during the load: how many, and their latency. */
  readonly probe: { readonly rounds: number; readonly answered: number; readonly p50Ms: number; readonly maxMs: number };
  readonly rssBeforeLoadMb: number | undefined;
  /** The server's CPU use during the load, in cores (1 = one core busy all the time). */
  readonly serverCores: number | undefined;
  readonly rssAtSignalMb: number | undefined;
  /** From the signal to the server's own `SIGTERM: shutting down` log line (its timestamp). */
  readonly signalLoggedAfterMs: number | undefined;
  /** From the signal to the process's exit. */
  readonly exitAfterMs: number;
  readonly exitCode: number | null;
  readonly exitSignal: NodeJS.Signals | null;
  /** Clients whose last bytes were the shutdown notice. */
  readonly notified: number;
  /** Clients the server cut off for their send queue, and kicked for flooding (its log). */
  readonly cutOff: number;
  readonly floodKicked: number;
  /** `disconnected` lines logged from the signal on (every session's end must be logged). */
  readonly disconnectsLoggedAtShutdown: number;
  /** The server's overload log lines (`overloaded: ...`, `recovered ...`), first few. */
  readonly overloadLog: readonly string[];
  /** stderr lines that look like a crash. */
  readonly crashLines: readonly string[];
}

const ROOT = path.resolve(__dirname, '..');
const LISTENING = /^rx-im-server listening on (\S+):(\d+) \(tcp\)$/;
const NOTICE = 'The server is shutting down';
const ONLINE = 'is online';

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The server's resident set in MB, from /proc (Linux); undefined elsewhere. */
function rssMb(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** The server's CPU seconds so far (user + system), from /proc (Linux); undefined elsewhere. */
function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
  } catch {
    return undefined;
  }
}

/** The server CLI as a child process, its stderr kept as lines with the time each arrived. */
class Server {
  readonly child: ChildProcess;
  readonly stderr: { readonly at: number; readonly line: string }[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  readonly port: Promise<number>;

  constructor(cli: string, args: readonly string[], nodeArgs: readonly string[] = []) {
    // ts-node/register resolves from the tree the CLI is in (its own node_modules).
    const cwd = path.resolve(path.dirname(cli), '..');
    this.child = spawn(process.execPath, [...nodeArgs, '-r', 'ts-node/register/transpile-only', cli, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const stdout = this.child.stdout;
    const stderr = this.child.stderr;
    if (!stdout || !stderr) throw new Error('the server needs piped stdout and stderr');
    createInterface({ input: stderr }).on('line', (line) => this.stderr.push({ at: Date.now(), line }));
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal, at: performance.now() })));
    this.port = new Promise((resolve, reject) => {
      createInterface({ input: stdout }).on('line', (line) => {
        const m = LISTENING.exec(line);
        if (m) resolve(Number(m[2]));
      });
      void this.exited.then(() => reject(new Error(`the server exited before listening: ${this.stderr.map((l) => l.line).join(' | ')}`)));
    });
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** One loaded client: sends on the shared ticker, counts what it gets, keeps its last bytes. */
class LoadClient {
  readonly socket: net.Socket;
  addr = '';
  joined = false;
  bytes = 0;
  sent = 0;
  nextAt = 0;
  private tail: Buffer = Buffer.alloc(0);
  readonly closed: Promise<void>;

  constructor(port: number, localAddress: string) {
    this.socket = net.connect({ port, host: '127.0.0.1', localAddress });
    this.socket.on('error', () => {});
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
    this.socket.on('data', (chunk: Buffer) => {
      this.bytes += chunk.length;
      // Joined: its own join line went by. Searched only until then, across chunk boundaries.
      const seen = this.joined && chunk.length >= 512 ? chunk : Buffer.concat([this.tail, chunk]);
      if (!this.joined && this.addr && seen.includes(`]${this.addr}:${ONLINE}`)) this.joined = true;
      this.tail = Buffer.from(seen.subarray(Math.max(0, seen.length - 512)));
    });
  }

  connected(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.once('connect', () => {
        this.socket.setNoDelay(true);
        this.addr = `${this.socket.localAddress}:${this.socket.localPort}`;
        resolve();
      });
      this.socket.once('close', () => reject(new Error('closed before connecting')));
    });
  }

  /** Did the connection end with the shutdown notice? */
  get notified(): boolean {
    return this.tail.toString('utf8').includes(`${NOTICE}\n`);
  }
}

/** A client that measures round trips: a private message to nobody, answered "no such user". */
class Probe {
  readonly rounds: number[] = [];
  private pending: { marker: string; at: number } | undefined;
  private tail = '';
  sent = 0;

  constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk: Buffer) => {
      if (!this.pending) return;
      const text = this.tail + chunk.toString('latin1');
      if (text.includes(`${this.pending.marker}: no such user`)) {
        this.rounds.push(performance.now() - this.pending.at);
        this.pending = undefined;
      }
      this.tail = text.slice(-64);
    });
  }

  /** Starts a round unless one is still out (a slow answer counts once, when it comes). */
  ask(): void {
    if (this.pending || this.socket.destroyed) return;
    const marker = `#probe-${++this.sent}`;
    this.pending = { marker, at: performance.now() };
    this.tail = '';
    this.socket.write(`to|${marker}|x\n`);
  }

  /** Latencies, counting a round still out at the end as lasting until now. */
  latencies(): number[] {
    return this.pending ? [...this.rounds, performance.now() - this.pending.at] : [...this.rounds];
  }
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Runs the scenario; the server is killed and its data dir removed whatever happens. */
export async function runOverload(options: OverloadOptions): Promise<OverloadReport> {
  const say = options.progress ?? (() => {});
  const clientsWanted = Math.max(1, Math.min(5000, Math.floor(options.clients)));
  const perSecond = Math.max(0.1, Math.min(1000, options.perSecond));
  const seconds = Math.max(0.1, Math.min(600, options.seconds));
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rx-im-overload-'));
  const server = new Server(
    options.cli ?? path.join(ROOT, 'cli/server.ts'),
    ['--port', '0', '--no-web', '--lang', 'en', '--data-dir', dataDir, ...(options.serverArgs ?? [])],
    options.nodeArgs,
  );
  const clients: LoadClient[] = [];
  let ticker: NodeJS.Timeout | undefined;
  let probeTimer: NodeJS.Timeout | undefined;
  try {
    const port = await Promise.race([server.port, sleep(60_000).then(() => Promise.reject(new Error('the server did not listen within 60 s')))]);
    const rssBeforeLoadMb = rssMb(server.child.pid);
    // Four source addresses: a crowd, and no single address's ephemeral ports run short.
    for (let i = 0; i < clientsWanted; i += 250) {
      const batch = Array.from({ length: Math.min(250, clientsWanted - i) }, (_, j) => new LoadClient(port, `127.0.0.${1 + ((i + j) % 4)}`));
      clients.push(...batch);
      await Promise.all(batch.map((c) => c.connected()));
    }
    const probeSocket = net.connect({ port, host: '127.0.0.1' });
    probeSocket.on('error', () => {});
    await new Promise<void>((resolve) => probeSocket.once('connect', () => resolve()));
    const probe = new Probe(probeSocket);
    const joinDeadline = Date.now() + 60_000;
    while (clients.some((c) => !c.joined) && Date.now() < joinDeadline) await sleep(50);
    const joined = clients.filter((c) => c.joined).length;
    say(`overload: ${joined} of ${clients.length} clients joined; ${perSecond} lines/s each for ${seconds} s`);

    // One ticker for all: each client sends the lines that are due, from a random phase.
    const gap = 1000 / perSecond;
    const start = performance.now();
    const cpuBefore = cpuSeconds(server.child.pid);
    for (const c of clients) c.nextAt = start + Math.random() * gap;
    const text = 'x'.repeat(24);
    ticker = setInterval(() => {
      const now = performance.now();
      for (const c of clients) {
        let lines = '';
        for (let n = 0; c.nextAt <= now && n < 100; n++, c.nextAt += gap) lines += `load ${c.sent++} ${text}\n`;
        if (lines && !c.socket.destroyed) c.socket.write(lines);
      }
    }, 10);
    probeTimer = setInterval(() => probe.ask(), 250);
    const loadEnds = Date.now() + seconds * 1000;
    let nextReport = Date.now() + 5000;
    while (Date.now() < loadEnds) {
      await sleep(100);
      if (Date.now() >= nextReport) {
        nextReport += 5000;
        const lat = probe.latencies();
        say(
          `  ${Math.round(seconds - (loadEnds - Date.now()) / 1000)} s: ${Math.round(clients.reduce((n, c) => n + c.sent, 0))} lines sent, probe ${probe.rounds.length} rounds (latest ${lat.length ? lat[lat.length - 1].toFixed(0) : '-'} ms), server RSS ${rssMb(server.child.pid)?.toFixed(0) ?? '?'} MB`,
        );
      }
    }
    clearInterval(probeTimer);
    const latencies = probe.latencies().sort((a, b) => a - b);
    const rssAtSignalMb = rssMb(server.child.pid);
    const cpuAfter = cpuSeconds(server.child.pid);
    const serverCores = cpuBefore !== undefined && cpuAfter !== undefined ? (cpuAfter - cpuBefore) / ((performance.now() - start) / 1000) : undefined;

    // The signal; the clients go on sending, as real ones would not know yet.
    const signalledWall = Date.now();
    const signalled = performance.now();
    const logFrom = server.stderr.length;
    server.child.kill('SIGTERM');
    const exitTimeoutMs = options.exitTimeoutMs ?? 60_000;
    const exit = await Promise.race([server.exited, sleep(exitTimeoutMs).then(() => undefined)]);
    if (!exit) {
      say(`overload: the server had not exited ${exitTimeoutMs} ms after SIGTERM: killed`);
      server.kill();
    }
    const exited = exit ?? (await server.exited);
    clearInterval(ticker);
    ticker = undefined;
    // Whatever was sent before the exit is in our sockets by now (loopback): read it out.
    await Promise.race([Promise.all(clients.map((c) => c.closed)), sleep(2000)]);

    const log = server.stderr.map((l) => l.line);
    const after = log.slice(logFrom);
    const signalLine = server.stderr.slice(logFrom).find((l) => /SIGTERM: shutting down/.test(l.line));
    const stamp = signalLine ? Date.parse(signalLine.line.split(' ')[0]) : NaN;
    const report: OverloadReport = {
      clients: clients.length,
      joined,
      linesSent: clients.reduce((n, c) => n + c.sent, 0),
      mbReceived: clients.reduce((n, c) => n + c.bytes, 0) / 1e6,
      probe: {
        rounds: probe.sent,
        answered: probe.rounds.length,
        p50Ms: percentile(latencies, 50),
        maxMs: latencies.length ? latencies[latencies.length - 1] : NaN,
      },
      rssBeforeLoadMb,
      serverCores,
      rssAtSignalMb,
      signalLoggedAfterMs: signalLine ? (Number.isFinite(stamp) ? stamp - signalledWall : signalLine.at - signalledWall) : undefined,
      exitAfterMs: exited.at - signalled,
      exitCode: exited.code,
      exitSignal: exited.signal,
      notified: clients.filter((c) => c.notified).length,
      cutOff: log.filter((l) => /cut off: send queue/.test(l)).length,
      floodKicked: log.filter((l) => /\(kicked: flooding\)/.test(l)).length,
      disconnectsLoggedAtShutdown: after.filter((l) => /\bdisconnected /.test(l)).length,
      overloadLog: log.filter((l) => /\b(overloaded|recovered)\b/.test(l)).slice(0, 6),
      crashLines: log.filter((l) => /^\s+at |Error:|FATAL|heap out of memory/.test(l)).slice(0, 10),
    };
    return report;
  } finally {
    if (ticker) clearInterval(ticker);
    if (probeTimer) clearInterval(probeTimer);
    for (const c of clients) c.socket.destroy();
    server.kill();
    await server.exited.catch(() => undefined);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The report as the lines the soak prints. */
export function describeOverload(r: OverloadReport): string[] {
  const ms = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? 'never' : `${n.toFixed(0)} ms`);
  const mb = (n: number | undefined) => (n === undefined ? '?' : `${n.toFixed(0)} MB`);
  return [
    `overload: ${r.clients} clients (${r.joined} joined), ${r.linesSent} lines sent, ${r.mbReceived.toFixed(0)} MB received`,
    `  under load: probe round trips ${r.probe.answered} of ${r.probe.rounds} answered, p50 ${ms(r.probe.p50Ms)}, max ${ms(r.probe.maxMs)}; server RSS ${mb(r.rssBeforeLoadMb)} -> ${mb(r.rssAtSignalMb)}, server CPU ${r.serverCores === undefined ? '?' : r.serverCores.toFixed(2)} cores`,
    `  SIGTERM: logged after ${ms(r.signalLoggedAfterMs)}; exit after ${ms(r.exitAfterMs)} with ${r.exitSignal ?? `code ${r.exitCode}`}`,
    `  notified: ${r.notified} of ${r.clients}; cut off (send queue): ${r.cutOff}; kicked for flooding: ${r.floodKicked}; disconnections logged at shutdown: ${r.disconnectsLoggedAtShutdown}`,
    ...(r.overloadLog.length ? [`  server: ${r.overloadLog.join(' | ')}`] : []),
    ...(r.crashLines.length ? [`  CRASH? ${r.crashLines.join(' | ')}`] : []),
  ];
}
