/**
 * One worker thread's share of the clients: connects them, sends numbered messages, reads
 * every line and accounts for it. The coordinator (run.ts) drives it with requests and
 * polls its counters; nothing here decides when a run ends.
 */
import * as net from 'node:net';
import { parentPort } from 'node:worker_threads';
import type { Mode, Scenario } from './args';
import { Histogram, HistogramData } from './histogram';
import { LineSplitter, countLines, messageText, nowMicros, scanTokens, wellFormed } from './records';
import { SequenceTracker } from './sequence';

/** Sequence numbers of phase p start at p * PHASE, so a late line of an earlier phase is recognised. */
export const PHASE = 1_000_000;

export interface ClientSpec {
  readonly index: number;
  readonly source: string;
  /** Sends messages (its sender number is its client index). */
  readonly sender: boolean;
  /** private: the client it talks to. */
  readonly partner?: number;
  /** slow: connects and never reads. */
  readonly mute?: boolean;
}

export interface ShardConfig {
  readonly scenario: Scenario;
  readonly host: string;
  readonly port: number;
  readonly size: number;
  readonly mode: Mode;
  readonly window: number;
  readonly concurrency: number;
  /** fanout: senders are clients 0 .. senders-1, and every reader expects each of them. */
  readonly senders: number;
}

export type Request =
  | { readonly op: 'connect'; readonly clients: readonly ClientSpec[] }
  | { readonly op: 'rename' }
  | { readonly op: 'start'; readonly phase: number; readonly limit: number }
  | { readonly op: 'stop' }
  | { readonly op: 'poll' }
  | { readonly op: 'finish'; readonly sent: Readonly<Record<number, number>> }
  | { readonly op: 'close' };

export interface Counters {
  readonly connected: number;
  readonly joined: number;
  readonly renamed: number;
  /** Connections that failed or were closed before they were up. */
  readonly failed: number;
  /** Connections closed by the server after they were up. */
  readonly closed: number;
  readonly mutesClosed: number;
  readonly lines: number;
  readonly sent: number;
  /** Messages sent in this phase, by sender. */
  readonly sentBy: Readonly<Record<number, number>>;
  readonly sendersDone: number;
  readonly delivered: number;
  readonly malformed: number;
  readonly firstConnectMicros: number;
  readonly lastConnectMicros: number;
  readonly lastJoinMicros: number;
  readonly lastDeliveryMicros: number;
  readonly errors: readonly string[];
}

export interface PhaseStats {
  readonly delivered: number;
  readonly duplicates: number;
  readonly reordered: number;
  readonly malformed: number;
  readonly misrouted: number;
  readonly stale: number;
  readonly lostBy: Readonly<Record<number, number>>;
  readonly reorderedBy: Readonly<Record<number, number>>;
  readonly latency: HistogramData;
}

class Client {
  socket!: net.Socket;
  joinPrefix = '';
  up = false;
  joined = false;
  renamed = false;
  readonly splitter = new LineSplitter();
  trackers = new Map<number, SequenceTracker>();
  sender: Sender | undefined;
  constructor(readonly spec: ClientSpec) {}
}

class Sender {
  next = 0;
  acked = 0;
  limit = 0;
  phase = 0;
  stopped = true;
  draining = false;
  done = false;
  constructor(
    readonly client: Client,
    private readonly shard: Shard,
  ) {}

  start(phase: number, limit: number): void {
    this.phase = phase;
    this.limit = limit;
    this.next = 0;
    this.acked = 0;
    this.stopped = false;
    this.done = false;
    this.pump();
  }

  stop(): void {
    this.stopped = true;
    this.finishIfDone();
  }

  ack(index: number): void {
    if (index + 1 > this.acked) {
      this.acked = index + 1;
      this.pump();
    }
  }

  pump(): void {
    const { socket, spec } = this.client;
    const window = this.shard.config.mode === 'closed' ? 1 : this.shard.config.window;
    if (this.draining || socket.destroyed) return this.finishIfDone();
    let corked = false;
    while (!this.stopped && this.next < this.limit && this.next - this.acked < window) {
      if (!corked && window > 1) {
        socket.cork();
        corked = true;
      }
      const text = messageText(spec.index, this.phase * PHASE + this.next, nowMicros(), this.shard.config.size);
      const line = spec.partner === undefined ? `${text}\n` : `to|u${spec.partner}|${text}\n`;
      this.next++;
      this.shard.sent++;
      this.shard.sentBy[spec.index] = this.next;
      if (!socket.write(line, 'latin1')) {
        this.draining = true;
        socket.once('drain', () => {
          this.draining = false;
          this.pump();
        });
        break;
      }
    }
    if (corked) socket.uncork();
    this.finishIfDone();
  }

  private finishIfDone(): void {
    if (!this.done && (this.stopped || this.next >= this.limit || this.client.socket.destroyed)) {
      this.done = true;
      this.shard.sendersDone++;
    }
  }
}

export class Shard {
  readonly clients: Client[] = [];
  private readonly byIndex = new Map<number, Client>();
  private phase = 0;
  private latency = new Histogram();
  private delivered = 0;
  private malformed = 0;
  private misrouted = 0;
  private stale = 0;
  private connected = 0;
  private joined = 0;
  private renamed = 0;
  private failed = 0;
  private closed = 0;
  private mutesClosed = 0;
  private lines = 0;
  sent = 0;
  sentBy: Record<number, number> = {};
  sendersDone = 0;
  private firstConnectMicros = 0;
  private lastConnectMicros = 0;
  private lastJoinMicros = 0;
  private lastDeliveryMicros = 0;
  private readonly errors: string[] = [];

  constructor(readonly config: ShardConfig) {}

  handle(request: Request): unknown {
    switch (request.op) {
      case 'connect':
        this.connect(request.clients);
        return true;
      case 'rename':
        for (const c of this.clients) if (c.up) c.socket.write(`rename|u${c.spec.index}\n`);
        return true;
      case 'start':
        this.phase = request.phase;
        this.latency = new Histogram();
        this.delivered = this.malformed = this.misrouted = this.stale = 0;
        this.sent = this.sendersDone = 0;
        this.sentBy = {};
        this.lastDeliveryMicros = 0;
        for (const c of this.clients) c.trackers = new Map();
        for (const c of this.clients) c.sender?.start(request.phase, request.limit);
        return true;
      case 'stop':
        for (const c of this.clients) c.sender?.stop();
        return true;
      case 'poll':
        return this.counters();
      case 'finish':
        return this.finish(request.sent);
      case 'close':
        for (const c of this.clients) c.socket?.destroy();
        return true;
    }
  }

  counters(): Counters {
    return {
      connected: this.connected,
      joined: this.joined,
      renamed: this.renamed,
      failed: this.failed,
      closed: this.closed,
      mutesClosed: this.mutesClosed,
      lines: this.lines,
      sent: this.sent,
      sentBy: this.sentBy,
      sendersDone: this.sendersDone,
      delivered: this.delivered,
      malformed: this.malformed,
      firstConnectMicros: this.firstConnectMicros,
      lastConnectMicros: this.lastConnectMicros,
      lastJoinMicros: this.lastJoinMicros,
      lastDeliveryMicros: this.lastDeliveryMicros,
      errors: this.errors.slice(0, 5),
    };
  }

  private connect(specs: readonly ClientSpec[]): void {
    const { host, port, concurrency } = this.config;
    let next = 0;
    const launch = () => {
      if (next >= specs.length) return;
      const client = new Client(specs[next++]);
      this.clients.push(client);
      this.byIndex.set(client.spec.index, client);
      if (client.spec.sender) client.sender = new Sender(client, this);
      let released = false;
      const release = () => {
        if (!released) {
          released = true;
          launch();
        }
      };
      const socket = net.connect({ host, port, localAddress: client.spec.source });
      client.socket = socket;
      if (client.spec.mute) socket.pause();
      socket.setNoDelay(true);
      socket.setEncoding('latin1');
      socket.on('connect', () => {
        const now = nowMicros();
        if (this.firstConnectMicros === 0) this.firstConnectMicros = now;
        this.lastConnectMicros = now;
        this.connected++;
        client.up = true;
        client.joinPrefix = `[${socket.localAddress}:${socket.localPort}]`;
        release();
      });
      socket.on('data', (chunk: string) => this.onData(client, chunk));
      socket.on('error', (err: NodeJS.ErrnoException) => {
        if (this.errors.length < 5) this.errors.push(`${client.spec.source} -> ${host}:${port}: ${err.code ?? err.message}`);
      });
      socket.on('close', () => {
        if (!client.up) this.failed++;
        else if (client.spec.mute) this.mutesClosed++;
        else this.closed++;
        client.sender?.stop();
        release();
      });
    };
    for (let i = 0; i < Math.min(concurrency, specs.length); i++) launch();
  }

  private onData(client: Client, chunk: string): void {
    if (client.joined && this.config.scenario === 'connect') {
      this.lines += countLines(chunk);
      return;
    }
    const now = nowMicros();
    const lines = client.splitter.push(chunk);
    for (let i = 0; i < lines.length; i++) {
      this.onLine(client, lines[i], true, now);
      if (client.joined && this.config.scenario === 'connect') {
        this.lines += lines.length - i - 1;
        if (client.splitter.pending > 0) client.splitter.push('\n'); // count the unfinished one once it ends
        return;
      }
    }
    if (this.config.scenario === 'private') {
      const unterminated = client.splitter.takeUnterminated();
      if (unterminated !== undefined) this.onLine(client, unterminated, false, now);
    }
  }

  private onLine(client: Client, line: string, terminated: boolean, now: number): void {
    this.lines++;
    if (!client.joined && line.startsWith(client.joinPrefix)) {
      client.joined = true;
      this.joined++;
      this.lastJoinMicros = now;
      return;
    }
    const spec = client.spec;
    if (this.config.scenario === 'private' && !client.renamed && line.endsWith(`:u${spec.index}`)) {
      client.renamed = true;
      this.renamed++;
      return;
    }
    if (line.indexOf('@') === -1) return; // a join, a leave, a notice: not ours to account
    const tokens = scanTokens(line);
    const prefix = spec.partner === undefined ? undefined : `u${spec.partner} : `;
    if (!terminated || !wellFormed(line, tokens, this.config.size, prefix)) this.malformed++;
    for (const t of tokens) {
      const index = t.seq - this.phase * PHASE;
      if (index < 0 || index >= PHASE) {
        this.stale++;
        continue;
      }
      const expected = spec.partner === undefined ? t.sender < this.config.senders : t.sender === spec.partner;
      if (!expected) {
        this.misrouted++;
        continue;
      }
      let tracker = client.trackers.get(t.sender);
      if (!tracker) client.trackers.set(t.sender, (tracker = new SequenceTracker()));
      if (tracker.receive(index) === 'duplicate') continue;
      this.delivered++;
      this.lastDeliveryMicros = now;
      this.latency.record(now - t.sentMicros);
      // Closed loop: a sender learns its message went through from its own copy (fanout) or its partner's (private).
      const source = t.sender === spec.index ? client : spec.partner === t.sender ? this.byIndex.get(t.sender) : undefined;
      source?.sender?.ack(index);
    }
  }

  private finish(sent: Readonly<Record<number, number>>): PhaseStats {
    const lostBy: Record<number, number> = {};
    const reorderedBy: Record<number, number> = {};
    let duplicates = 0;
    let reordered = 0;
    for (const c of this.clients) {
      if (c.spec.mute) continue;
      const from = c.spec.partner === undefined ? Array.from({ length: this.config.senders }, (_, i) => i) : [c.spec.partner];
      for (const s of from) {
        const n = sent[s] ?? 0;
        const tracker = c.trackers.get(s);
        lostBy[s] = (lostBy[s] ?? 0) + (tracker ? tracker.lost(n) : n);
        if (tracker) {
          reorderedBy[s] = (reorderedBy[s] ?? 0) + tracker.reordered;
          duplicates += tracker.duplicates;
          reordered += tracker.reordered;
        }
      }
    }
    return {
      delivered: this.delivered,
      duplicates,
      reordered,
      malformed: this.malformed,
      misrouted: this.misrouted,
      stale: this.stale,
      lostBy,
      reorderedBy,
      latency: this.latency.data(),
    };
  }
}

// As a worker thread: serve the coordinator's requests.
if (parentPort) {
  const port = parentPort;
  let shard: Shard | undefined;
  port.on('message', (message: { id: number; config?: ShardConfig; request?: Request }) => {
    if (message.config) shard = new Shard(message.config);
    const reply = shard && message.request ? shard.handle(message.request) : true;
    port.postMessage({ id: message.id, reply });
  });
}
