#!/usr/bin/env node
/**
 * rx-im soak: a mixed load with misbehaving clients for N minutes, against an in-process
 * server (or --host/--port). Reports messages delivered, messages lost for well-behaved
 * clients (must be 0: exit 1 otherwise), disconnects by reason, and peak RSS.
 *
 *   npm run soak -- --minutes 1
 *
 * With --overload, instead: the overload-then-SIGTERM scenario of tools/overload.ts against the
 * server CLI as a child process (exit 1 unless every client got the notice and the process
 * exited 0 within 2 s of the signal).
 *
 *   npm run soak -- --overload --clients 1000 --rate 15 --seconds 20
 */
import * as net from 'node:net';
import { parseArgs } from 'node:util';
import { Observable } from 'rxjs';
import { TOO_LONG, splitLines } from '../lib/lines';
import { ChatServer, DEFAULTS } from '../lib/server';
import { describeOverload, runOverload } from './overload';

const USAGE = `Usage: npm run soak -- [options]

  --minutes N     how long the load runs; fractions allowed (default 1)
  --host HOST     soak a running server instead of an in-process one (with --port)
  --port PORT     its port
  --chatters N    well-behaved clients that chat and check every message (default 20)
  -h, --help      this help

  --overload      instead: C clients each sending R lines a second to the server CLI (a child
                  process) for S seconds, then SIGTERM; fails unless every client got the
                  notice and the server exited 0 within 2 s
  --clients C     with --overload: clients, 1 to 5000 (default 1000)
  --rate R        with --overload: lines a second each, up to 1000 (default 15)
  --seconds S     with --overload: seconds of load before the signal, up to 600 (default 20)
  --cli PATH      with --overload: the server CLI to run (default: this tree's cli/server.ts)
`;

interface Options {
  readonly minutes: number;
  readonly host?: string;
  readonly port?: number;
  readonly chatters: number;
  readonly overload?: { readonly clients: number; readonly rate: number; readonly seconds: number; readonly cli?: string };
}

function options(argv: string[]): Options | string {
  let values;
  try {
    values = parseArgs({
      args: argv,
      options: {
        minutes: { type: 'string' },
        host: { type: 'string' },
        port: { type: 'string' },
        chatters: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        overload: { type: 'boolean' },
        clients: { type: 'string' },
        rate: { type: 'string' },
        seconds: { type: 'string' },
        cli: { type: 'string' },
      },
      strict: true,
    }).values;
  } catch (err) {
    return (err as Error).message.split('\n')[0];
  }
  if (values.help) return USAGE;
  const minutes = Number(values.minutes ?? '1');
  if (!(minutes > 0) || minutes > 24 * 60) return `--minutes must be a number of minutes above 0, got '${values.minutes}'`;
  const chatters = Number(values.chatters ?? '20');
  if (!Number.isInteger(chatters) || chatters < 2 || chatters > 1000) return `--chatters must be a whole number from 2 to 1000, got '${values.chatters}'`;
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && !(Number.isInteger(port) && port > 0 && port < 65536)) return `--port must be a port number, got '${values.port}'`;
  if ((values.host === undefined) !== (port === undefined)) return '--host and --port go together';
  if (values.overload) {
    const clients = Number(values.clients ?? '1000');
    if (!Number.isInteger(clients) || clients < 1 || clients > 5000) return `--clients must be a whole number from 1 to 5000, got '${values.clients}'`;
    const rate = Number(values.rate ?? '15');
    if (!(rate > 0) || rate > 1000) return `--rate must be a number of lines a second above 0, up to 1000, got '${values.rate}'`;
    const seconds = Number(values.seconds ?? '20');
    if (!(seconds > 0) || seconds > 600) return `--seconds must be a number of seconds above 0, up to 600, got '${values.seconds}'`;
    if (values.host !== undefined) return '--overload runs its own server CLI: no --host/--port (use --cli)';
    return { minutes, chatters, overload: { clients, rate, seconds, cli: values.cli } };
  }
  if (values.clients !== undefined || values.rate !== undefined || values.seconds !== undefined || values.cli !== undefined)
    return '--clients, --rate, --seconds and --cli go with --overload';
  return { minutes, host: values.host, port, chatters };
}

/** The overload scenario: 0 when every client got the notice and the server exited 0 within 2 s. */
async function overload(o: NonNullable<Options['overload']>): Promise<number> {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const report = await runOverload({ clients: o.clients, perSecond: o.rate, seconds: o.seconds, cli: o.cli, progress: out });
  for (const line of describeOverload(report)) out(line);
  const ok = report.exitCode === 0 && report.exitAfterMs < 2000 && report.notified === report.clients && report.crashLines.length === 0;
  if (!ok) process.stderr.write('soak: FAILED: the shutdown under overload missed its promise (every client notified, exit 0 within 2 s)\n');
  return ok ? 0 : 1;
}

// --- the load's pace: well inside the default limits (20 lines/s, burst 40, 4096-byte lines, 60 s idle)
const CHAT_EVERY_MS = 250; // each chatter: about 4 lines a second
const FILLERS = 4;
const FILL_EVERY_MS = 70; // each filler: about 14 private messages a second ...
const FILL_TEXT_BYTES = 3900; // ... of this size: about 220 KB/s for all four, to one never-reader
const FLOOD_EVERY_MS = 10_000;
const RESET_EVERY_MS = 200;
const DRAIN_MS = 20_000;

/** Counters for the report. */
const stats = {
  chatSent: 0,
  delivered: 0,
  disordered: 0, // a message that did not come right after the previous one from its sender
  wellBehavedCut: [] as string[],
  privateSent: 0,
  privateBytes: 0,
  neverReaders: 0,
  neverReadersCut: 0,
  flooders: 0,
  floodersKicked: 0,
  rateNotices: 0,
  resetters: 0,
  renames: 0,
  hostileRenamesRefused: 0,
  refused: 0,
  peakRss: 0,
};

/** A connection whose lines go to `onLine`; `closed` resolves when it is gone. */
class Client {
  readonly socket: net.Socket;
  readonly closed: Promise<void>;
  addr = '';
  onLine: (line: string) => void = () => {};

  constructor(host: string, port: number, read = true) {
    this.socket = new net.Socket();
    if (!read) this.socket.pause();
    this.socket.on('error', () => {});
    this.closed = new Promise((resolve) => this.socket.once('close', () => resolve()));
    if (read) {
      const bytes$ = new Observable<Buffer>((subscriber) => {
        this.socket.on('data', (chunk: Buffer) => subscriber.next(chunk));
        this.socket.once('close', () => subscriber.complete());
      });
      // bytes$ completes at 'close'; an error (a check in onLine that threw) fails the soak.
      const reading = bytes$.pipe(splitLines(1024 * 1024)).subscribe({
        next: (line) => {
          if (line !== TOO_LONG) this.onLine(line);
        },
        error: (err: unknown) => {
          process.stderr.write(`soak: reading ${this.addr}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
          process.exit(1);
        },
      });
      this.socket.once('close', () => reading.unsubscribe());
    }
    this.socket.connect({ port, host }, () => {
      this.socket.setNoDelay(true);
      this.addr = `${this.socket.localAddress}:${this.socket.localPort}`;
    });
  }

  connected(): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.addr) return resolve();
      this.socket.once('connect', () => resolve());
      this.socket.once('close', () => reject(new Error('closed before connecting')));
    });
  }

  send(line: string): void {
    if (!this.socket.destroyed) this.socket.write(line + '\n');
  }
}

/** A chat line's text after `[addr]name:`, when it is one of ours: `c<id>#<seq>` or `c<id>#END`. */
const CHAT = /^\[[^\]]*\].*?:c(\d+)#(\d+|END)(?: |$)/;

/** A well-behaved client: chats at a steady pace, renames now and then, checks every message. */
class Chatter {
  readonly client: Client;
  sent = 0;
  private readonly next = new Map<number, number>(); // sender id -> next expected seq
  private readonly received = new Map<number, number>(); // sender id -> messages received
  private readonly ended = new Set<number>();
  private timer: NodeJS.Timeout | undefined;
  private allEnded: () => void = () => {};
  private done = false;

  constructor(
    readonly id: number,
    host: string,
    port: number,
    private readonly everyone: number,
  ) {
    this.client = new Client(host, port);
    this.client.onLine = (line) => this.receive(line);
    void this.client.closed.then(() => {
      if (!this.done) stats.wellBehavedCut.push(`chatter ${id} (${this.client.addr})`);
    });
  }

  start(): void {
    const tick = () => {
      const padding = 'x'.repeat(Math.floor(Math.random() * 400));
      this.client.send(`c${this.id}#${this.sent} ${padding}`);
      this.sent++;
      stats.chatSent++;
      // Renamers rename every ~40 lines, and now and then try a name that must be refused.
      if (this.id % 5 === 0 && this.sent % 40 === 0) {
        this.client.send(this.sent % 120 === 0 ? `rename|\x1b[31mc${this.id}` : `rename|c${this.id}-${this.sent}`);
        stats.renames++;
      }
      if (this.id % 7 === 0 && this.sent % 50 === 0) this.client.send('who');
      this.timer = setTimeout(tick, CHAT_EVERY_MS * (0.5 + Math.random()));
    };
    this.timer = setTimeout(tick, Math.random() * CHAT_EVERY_MS);
  }

  /** Stops chatting and says so; resolves once every chatter's end marker arrived (or never). */
  stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const all = new Promise<void>((resolve) => {
      this.allEnded = resolve;
      if (this.ended.size === this.everyone) resolve();
    });
    this.client.send(`c${this.id}#END`);
    return all;
  }

  private receive(line: string): void {
    const m = CHAT.exec(line);
    if (!m) {
      if (/用户名无效|Invalid name/.test(line)) stats.hostileRenamesRefused++;
      return;
    }
    const sender = Number(m[1]);
    if (m[2] === 'END') {
      this.ended.add(sender);
      if (this.ended.size === this.everyone) this.allEnded();
      return;
    }
    const seq = Number(m[2]);
    if (seq !== (this.next.get(sender) ?? 0)) stats.disordered++;
    this.next.set(sender, seq + 1);
    this.received.set(sender, (this.received.get(sender) ?? 0) + 1);
    stats.delivered++;
  }

  /** Messages of `sender` that never arrived here (a gap or a missing tail); call after the drain. */
  missing(sender: Chatter): number {
    return Math.max(0, sender.sent - (this.received.get(sender.id) ?? 0));
  }

  finish(): void {
    this.done = true;
    this.client.socket.destroy();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function main(): Promise<number> {
  const opts = options(process.argv.slice(2));
  if (typeof opts === 'string') {
    const help = opts === USAGE;
    (help ? process.stdout : process.stderr).write(help ? opts : `soak: ${opts}\n${USAGE}`);
    return help ? 0 : 2;
  }
  if (opts.overload) return overload(opts.overload);

  const reasons = new Map<string, number>();
  let server: ChatServer | undefined;
  let host = opts.host ?? '127.0.0.1';
  let port = opts.port ?? 0;
  if (opts.host === undefined) {
    server = new ChatServer({
      host: '127.0.0.1',
      port: 0,
      log: (line) => {
        const kind = line.startsWith('disconnected') ? (/\(([^)]*)\)$/.exec(line)?.[1] ?? 'left') : line.startsWith('refused') ? 'refused' : undefined;
        if (kind) reasons.set(kind, (reasons.get(kind) ?? 0) + 1);
      },
    });
    ({ host, port } = await server.listen());
  }
  const where = server
    ? `an in-process server on ${host}:${port} (defaults: ${DEFAULTS.rateLimit} lines/s, burst ${DEFAULTS.rateBurst}, send queue ${DEFAULTS.maxQueueBytes} B)`
    : `${host}:${port}`;
  process.stdout.write(`soak: ${opts.minutes} min against ${where}\n`);

  const rss = setInterval(() => (stats.peakRss = Math.max(stats.peakRss, process.memoryUsage().rss)), 250);
  const started = Date.now();
  const deadline = started + opts.minutes * 60_000;
  let running = true;

  // Well-behaved chatters: all online before anyone speaks, so each should see every line.
  const chatters = Array.from({ length: opts.chatters }, (_, i) => new Chatter(i, host, port, opts.chatters));
  await Promise.all(chatters.map((c) => c.client.connected()));
  await sleep(500);
  for (const c of chatters) c.start();

  // A never-reader at a time, filled by private messages from the fillers until it is cut off.
  let target: Client | undefined;
  const fillers = Array.from({ length: FILLERS }, () => new Client(host, port));
  await Promise.all(fillers.map((f) => f.connected()));
  fillers.forEach((f, i) => void f.closed.then(() => running && stats.wellBehavedCut.push(`filler ${i} (${f.addr})`)));
  const newTarget = async () => {
    const never = new Client(host, port, false);
    stats.neverReaders++;
    await never.connected().catch(() => undefined);
    target = never;
  };
  const targetGone = (line: string) => target !== undefined && (line === `${target.addr}用户不存在` || line === `${target.addr}: no such user`);
  for (const filler of fillers) {
    filler.onLine = (line) => {
      if (targetGone(line)) {
        stats.neverReadersCut++;
        target?.socket.destroy();
        target = undefined;
        if (running) void newTarget();
      }
    };
  }
  await newTarget();
  const fill = setInterval(() => {
    for (const filler of fillers) {
      // No target for a moment: keep the filler from idling out with a harmless `who`.
      if (!target) {
        filler.send('who');
        continue;
      }
      filler.send(`to|${target.addr}|${'f'.repeat(FILL_TEXT_BYTES)}`);
      stats.privateSent++;
      stats.privateBytes += FILL_TEXT_BYTES;
    }
  }, FILL_EVERY_MS);

  // A flooder every so often: 1,000 lines at once.
  const flood = async () => {
    const flooder = new Client(host, port);
    stats.flooders++;
    let kicked = false;
    flooder.onLine = (line) => {
      if (/发言过快|Too fast/.test(line)) stats.rateNotices++;
      if (/持续刷屏|Disconnected for flooding/.test(line)) kicked = true;
    };
    await flooder.connected().catch(() => undefined);
    flooder.socket.write(Array.from({ length: 1000 }, (_, i) => `flood-${i}\n`).join(''));
    await Promise.race([flooder.closed, sleep(FLOOD_EVERY_MS)]);
    if (kicked) stats.floodersKicked++;
    flooder.socket.destroy();
  };
  const floods = setInterval(() => void flood(), FLOOD_EVERY_MS);
  void flood();

  // Resetters: connect, maybe say something, reset; some before their join arrives.
  const resets = setInterval(() => {
    const r = new Client(host, port, false);
    stats.resetters++;
    r.socket.once('connect', () => {
      const reset = () => {
        r.socket.write('reset me\nhalf a li');
        r.socket.resetAndDestroy();
      };
      if (Math.random() < 0.5) reset();
      else {
        r.socket.resume();
        r.socket.once('data', reset);
      }
    });
  }, RESET_EVERY_MS);

  const progress = setInterval(() => {
    const s = Math.round((Date.now() - started) / 1000);
    process.stdout.write(
      `  ${s} s: ${stats.chatSent} sent, ${stats.delivered} delivered, ${stats.disordered} out of order; never-readers cut ${stats.neverReadersCut}, flooders kicked ${stats.floodersKicked}, resetters ${stats.resetters}; rss ${(process.memoryUsage().rss / 1e6).toFixed(0)} MB\n`,
    );
  }, 10_000);

  while (Date.now() < deadline) await sleep(200);
  running = false;
  clearInterval(fill);
  clearInterval(floods);
  clearInterval(resets);
  clearInterval(progress);

  // Drain: every chatter says it is done and waits for everyone else's end marker.
  const drained = await Promise.race([Promise.all(chatters.map((c) => c.stop())).then(() => true), sleep(DRAIN_MS).then(() => false)]);
  let lost = 0;
  for (const receiver of chatters) for (const sender of chatters) lost += receiver.missing(sender);
  const expected = chatters.reduce((n, c) => n + c.sent, 0) * chatters.length;

  target?.socket.destroy();
  for (const f of fillers) f.socket.destroy();
  for (const c of chatters) c.finish();
  clearInterval(rss);
  if (server) await server.close(500);

  const mb = (n: number) => (n / 1e6).toFixed(1);
  const out = [
    `soak: ran ${((Date.now() - started) / 60_000).toFixed(2)} min`,
    `well-behaved: ${opts.chatters} chatters (${Math.ceil(opts.chatters / 5)} renaming), ${FILLERS} fillers`,
    `  chat messages sent: ${stats.chatSent}; delivered: ${stats.delivered} of ${expected} expected; lost: ${lost}; out of order: ${stats.disordered}; drained: ${drained ? 'yes' : 'NO'}`,
    `  well-behaved clients disconnected: ${stats.wellBehavedCut.length}${stats.wellBehavedCut.length ? ` (${stats.wellBehavedCut.join(', ')})` : ''}`,
    `  renames: ${stats.renames} (hostile ones refused: ${stats.hostileRenamesRefused})`,
    `misbehaving: ${stats.neverReaders} never-readers (${stats.neverReadersCut} seen cut off) fed ${stats.privateSent} private messages (${mb(stats.privateBytes)} MB); ${stats.flooders} flooders (${stats.floodersKicked} kicked, ${stats.rateNotices} rate notices); ${stats.resetters} resetters`,
    server
      ? `server disconnects by reason: ${[...reasons]
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => `${k}: ${v}`)
          .join(', ')}`
      : 'server disconnects by reason: n/a (external server: see its log)',
    `peak RSS: ${mb(stats.peakRss)} MB (${server ? 'server and load in this process' : 'the load generator only'})`,
  ];
  process.stdout.write(out.join('\n') + '\n');
  const ok = lost === 0 && stats.disordered === 0 && stats.wellBehavedCut.length === 0 && drained;
  if (!ok) process.stderr.write('soak: FAILED: well-behaved clients lost messages or were disconnected\n');
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`soak: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
