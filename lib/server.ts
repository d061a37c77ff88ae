/**
 * The server's edges: `ChatServer` runs one session per connected peer (TCP here; any other
 * transport that can present itself as a `Peer`), bounds each peer's pending output, counts
 * connections, and shuts everything down cleanly.
 */
import * as net from 'node:net';
import { Observable, SchedulerLike, Subscription, asyncScheduler } from 'rxjs';
import { Hub, MemoryHub } from './hub';
import { Framed, splitLines } from './lines';
import { boundSendQueue } from './send-queue';
import { socketBytes } from './socket';
import { CloseReason, session } from './session';
import { Lang, Texts, texts as catalogues } from './texts';

export interface ServerOptions {
  /** Interface to listen on. */
  readonly host?: string;
  /** TCP port; 0 picks a free one. */
  readonly port?: number;
  /** Silence, in ms, after which a user is kicked. */
  readonly idleTimeoutMs?: number;
  readonly lang?: Lang;
  /** Longest line accepted, in bytes, without its line ending. */
  readonly maxLineBytes?: number;
  /** Most output a peer may have pending before it is cut off (its "SendQ"). */
  readonly maxQueueBytes?: number;
  /** Connections beyond this many are refused with a notice. */
  readonly maxConnections?: number;
  /** Connections from one IP beyond this many are refused; 0: no limit. */
  readonly maxConnectionsPerIp?: number;
  /** Lines a second each peer may send (token bucket); 0 turns the limit off. */
  readonly rateLimit?: number;
  /** Lines a peer may send at once before the rate applies. */
  readonly rateBurst?: number;
  /** Presence and broadcast; in memory by default. `close()` closes it. */
  readonly hub?: Hub;
  readonly scheduler?: SchedulerLike;
  /** Where the operator's log lines go (one event each); nowhere by default. */
  readonly log?: (line: string) => void;
}

export const DEFAULTS = {
  host: '127.0.0.1',
  port: 8888,
  idleTimeoutMs: 60_000,
  lang: 'zh' as Lang,
  maxLineBytes: 4096,
  maxQueueBytes: 1024 * 1024,
  maxConnections: 10_000,
  maxConnectionsPerIp: 0,
  rateLimit: 20,
  rateBurst: 40,
};

/** One connected client, whatever carries its bytes. */
export interface Peer {
  /** `ip:port`, as the reference names a new user. */
  readonly addr: string;
  /** The IP alone, for per-address limits. */
  readonly ip: string;
  /** The client's lines; completes when it goes away, errors on a transport error. */
  readonly lines$: Observable<Framed>;
  /** Queues one encoded line (with its `\n`). */
  write(data: Buffer): void;
  /** Bytes queued and not yet handed to the kernel. */
  queued(): number;
  /** Flushes what is queued, then closes. */
  end(): void;
  /** Closes now, dropping what is queued. */
  destroy(): void;
  /** Runs once when the transport is closed, whoever closed it. */
  onClose(callback: () => void): void;
}

/** `[::1]:5000` or `127.0.0.1:5000`, as Go's `RemoteAddr().String()` writes it. */
export function formatAddress(ip: string, port: number): string {
  const plain = ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice('::ffff:'.length) : ip;
  return plain.includes(':') ? `[${plain}]:${port}` : `${plain}:${port}`;
}

// A broadcast line is written to every recipient in turn, synchronously: encoding the last
// string once serves them all.
let lastText: string | undefined;
let lastBytes = Buffer.alloc(0);
function encode(line: string): Buffer {
  if (line !== lastText) {
    lastBytes = Buffer.from(line + '\n', 'utf8');
    lastText = line;
  }
  return lastBytes;
}

/**
 * When to flush the sockets' batched lines. Every turn of the event loop, while flushing is
 * cheap; but flushing may take at most half of the server's time: after a flush that took T ms,
 * the next one waits until T ms have passed. Under load a turn can be short (libuv accepts one
 * connection per turn since 1.45, so a crowd arriving would cost a write to every socket per
 * newcomer): batches then grow instead of syscalls, and a line waits at most as long as the
 * last flush took, and never more than `maxWaitMs` (a pause of the whole process during a flush,
 * a GC or the OS, must not hold the next one back as long).
 */
export class FlushPacing {
  private nextAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly maxWaitMs = 50) {}

  /** A flush ran from `started` to `ended` (ms). */
  flushed(started: number, ended: number): void {
    this.nextAt = ended + (ended - started);
  }

  /** How long a flush asked for at `now` waits, in whole ms: 0 means this turn's end. */
  wait(now: number): number {
    return Math.min(this.maxWaitMs, Math.max(0, Math.floor(this.nextAt - now)));
  }
}

// Sockets written to since the last flush, flushed together: lines from every message read in
// one turn (several senders, a crowd of joins) leave in one write per socket instead of one per
// message (process.nextTick would flush after each callback).
let flushes: (() => void)[] = [];
const pacing = new FlushPacing();
function flushAll(): void {
  const started = performance.now();
  const now = flushes;
  flushes = [];
  for (const flush of now) flush();
  pacing.flushed(started, performance.now());
}
function flushLater(flush: () => void): void {
  if (flushes.push(flush) !== 1) return;
  const wait = pacing.wait(performance.now());
  if (wait > 0) setTimeout(flushAll, wait);
  else setImmediate(flushAll);
}

/**
 * A TCP socket as a Peer. Writes are batched per turn of the event loop: one `writev` instead
 * of one syscall a line. After `end()`, a client that never closes its side is destroyed after
 * `lingerMs`.
 */
export function socketPeer(socket: net.Socket, maxLineBytes: number, lingerMs = 1000): Peer {
  const ip = socket.remoteAddress ?? '?';
  const addr = formatAddress(ip, socket.remotePort ?? 0);
  // Lines written in this turn of the event loop, handed to the socket as one write when it
  // ends: one stream write and one syscall per socket per turn, however many lines.
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = () => {
    const batch = pending;
    pending = [];
    const bytes = pendingBytes;
    pendingBytes = 0;
    if (batch.length === 0 || socket.destroyed || socket.writableEnded) return;
    try {
      socket.write(batch.length === 1 ? batch[0] : Buffer.concat(batch, bytes));
    } catch {
      // A socket that cannot take a write is broken: it goes, the others' flushes go on.
      socket.destroy();
    }
  };
  // Errors can come after the session has ended (a reset while our last lines flush): an
  // 'error' with no listener would crash the process, and 'close' follows it anyway.
  socket.on('error', () => {});
  return {
    addr,
    ip,
    lines$: socketBytes(socket).pipe(splitLines(maxLineBytes)),
    write(data) {
      if (socket.destroyed || socket.writableEnded) return;
      if (pending.push(data) === 1) flushLater(flush);
      pendingBytes += data.length;
    },
    // What the kernel has refused so far: this turn's batch is not offered to it yet, so a
    // reader is never cut off for one large reply (a `who` in a big room).
    queued: () => socket.writableLength,
    end: () => {
      if (socket.destroyed) return;
      flush();
      socket.end();
      setTimeout(() => socket.destroy(), lingerMs).unref();
    },
    destroy: () => socket.destroy(),
    onClose: (callback) => {
      if (socket.closed) queueMicrotask(callback);
      else socket.once('close', callback);
    },
  };
}

export interface Address {
  readonly host: string;
  readonly port: number;
}

export class ChatServer {
  readonly hub: Hub;
  readonly texts: Texts;
  private readonly options: Required<Omit<ServerOptions, 'hub' | 'log' | 'scheduler'>>;
  private readonly scheduler: SchedulerLike;
  private readonly log: (line: string) => void;
  private readonly peers = new Map<Peer, Subscription>();
  private readonly perIp = new Map<string, number>();
  private tcp: net.Server | undefined;
  private closing = false;

  constructor(options: ServerOptions = {}) {
    this.options = {
      host: options.host ?? DEFAULTS.host,
      port: options.port ?? DEFAULTS.port,
      idleTimeoutMs: options.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs,
      lang: options.lang ?? DEFAULTS.lang,
      maxLineBytes: options.maxLineBytes ?? DEFAULTS.maxLineBytes,
      maxQueueBytes: options.maxQueueBytes ?? DEFAULTS.maxQueueBytes,
      maxConnections: options.maxConnections ?? DEFAULTS.maxConnections,
      maxConnectionsPerIp: options.maxConnectionsPerIp ?? DEFAULTS.maxConnectionsPerIp,
      rateLimit: options.rateLimit ?? DEFAULTS.rateLimit,
      rateBurst: options.rateBurst ?? DEFAULTS.rateBurst,
    };
    this.hub = options.hub ?? new MemoryHub();
    this.texts = catalogues[this.options.lang];
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.log = options.log ?? (() => {});
  }

  /** How many peers are connected now. */
  get connections(): number {
    return this.peers.size;
  }

  /** Starts a session for a peer: the one entry point for every transport. */
  accept(peer: Peer): void {
    const { maxConnections, maxConnectionsPerIp, maxQueueBytes } = this.options;
    const fromIp = this.perIp.get(peer.ip) ?? 0;
    const refusal =
      this.closing ? this.texts.shutdown
      : this.peers.size >= maxConnections ? this.texts.serverFull
      : maxConnectionsPerIp > 0 && fromIp >= maxConnectionsPerIp ? this.texts.tooManyFromAddress
      : undefined;
    if (refusal !== undefined) {
      this.log(`refused ${peer.addr}: ${refusal}`);
      peer.write(encode(refusal));
      peer.end();
      return;
    }
    this.perIp.set(peer.ip, fromIp + 1);
    this.log(`connected ${peer.addr}`);

    let reason: CloseReason | 'left' | 'error' = 'left';
    const output$ = session(peer.lines$, {
      hub: this.hub,
      texts: this.texts,
      addr: peer.addr,
      idleMs: this.options.idleTimeoutMs,
      maxLineBytes: this.options.maxLineBytes,
      rateLimit: this.options.rateLimit,
      rateBurst: this.options.rateBurst,
      scheduler: this.scheduler,
    }).pipe(boundSendQueue(() => peer.queued(), maxQueueBytes));
    const subscription = output$.subscribe({
      next: (out) => {
        if (this.closing) return; // only the shutdown notice goes out now
        if (typeof out === 'string') {
          peer.write(encode(out));
          return;
        }
        reason = out.close;
        // A peer over its send queue would take ages to flush: drop it now.
        if (reason === 'sendq') peer.destroy();
      },
      error: (err: Error) => {
        reason = 'error';
        this.log(`error ${peer.addr}: ${err.message}`);
        peer.destroy();
      },
      complete: () => peer.end(),
    });
    this.peers.set(peer, subscription);
    peer.onClose(() => {
      subscription.unsubscribe();
      if (this.peers.delete(peer)) {
        const left = (this.perIp.get(peer.ip) ?? 1) - 1;
        if (left > 0) this.perIp.set(peer.ip, left);
        else this.perIp.delete(peer.ip);
        const why = reason === 'left' && this.closing ? 'shutdown' : reason;
        this.log(why === 'left' ? `disconnected ${peer.addr}` : `disconnected ${peer.addr} (${describe(why, this.options.maxQueueBytes)})`);
      }
    });
  }

  /** Listens for TCP clients; resolves with the address actually bound (port 0 picks one). */
  listen(): Promise<Address> {
    const { host, port, maxLineBytes } = this.options;
    const tcp = net.createServer((socket) => {
      // Reset before we got to it: no address, nobody to announce.
      if (socket.remoteAddress === undefined) {
        socket.destroy();
        return;
      }
      socket.setNoDelay(true);
      this.accept(socketPeer(socket, maxLineBytes));
    });
    this.tcp = tcp;
    return new Promise((resolve, reject) => {
      tcp.once('error', reject);
      // A crowd connecting at once overflows Node's default backlog (511): the kernel drops
      // their SYNs and they retry seconds later.
      tcp.listen({ port, host, backlog: 4096 }, () => {
        tcp.off('error', reject);
        tcp.on('error', (err) => this.log(`server error: ${err.message}`));
        const bound = tcp.address() as net.AddressInfo;
        resolve({ host: bound.address, port: bound.port });
      });
    });
  }

  /**
   * Shuts down: every client gets the shutdown notice and is disconnected; resolves once all
   * are gone (or after `graceMs`, when the stragglers are destroyed).
   */
  async close(graceMs = 1000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const stopped = new Promise<void>((resolve) => (this.tcp ? this.tcp.close(() => resolve()) : resolve()));
    const peers = [...this.peers.keys()];
    const notice = encode(this.texts.shutdown);
    for (const peer of peers) peer.write(notice);
    // Closed before the sessions end, so that their leaves are not broadcast to each other.
    const hubClosed = this.hub.close();
    for (const peer of peers) {
      this.peers.get(peer)?.unsubscribe();
      peer.end();
    }
    const gone = Promise.all(peers.map((peer) => new Promise<void>((resolve) => peer.onClose(resolve))));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([gone, late]);
    clearTimeout(timer);
    for (const peer of this.peers.keys()) peer.destroy();
    await Promise.all([stopped, hubClosed]);
  }
}

function describe(reason: CloseReason | 'error', maxQueueBytes: number): string {
  switch (reason) {
    case 'idle':
      return 'kicked: idle';
    case 'flood':
      return 'kicked: flooding';
    case 'sendq':
      return `cut off: send queue over ${maxQueueBytes} bytes`;
    case 'shutdown':
      return 'server shutdown';
    case 'error':
      return 'transport error';
  }
}
