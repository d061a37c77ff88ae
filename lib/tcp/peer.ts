/**
 * A TCP (or TLS) socket as a `Peer`: its bytes framed into lines, its writes batched into one
 * socket write per turn by the server's `Outbox`, its end lingering for a client that never
 * closes its side.
 */
import type * as net from 'node:net';
import type { Framed } from '../lines';
import type { Observable } from 'rxjs';
import { Batch, Chunk, bytesOf, type Outbox, type Outgoing } from '../outbox';
import { Peer, formatAddress } from '../peer';
import { socketLines } from '../socket';

export interface SocketPeerOptions {
  readonly maxLineBytes: number;
  /** The server's outbox: the peer's lines leave with its flush. */
  readonly outbox: Outbox;
  /** After `end()`, a client that keeps its side open is destroyed this much later. */
  readonly lingerMs?: number;
  /** Counts the lines written, once per batch. */
  readonly metrics?: { delivered: number };
  /** The bytes are encrypted (a TLS socket): passwords may be sent (see Peer.secure). */
  readonly secure?: boolean;
  /** The client a trusted proxy named (PROXY protocol): the user's address instead of the socket's. */
  readonly client?: { readonly ip: string; readonly port: number };
}

export function socketPeer(socket: net.Socket, options: SocketPeerOptions): Peer {
  return new TcpPeer(socket, options);
}

/**
 * A class rather than an object of closures: its methods are shared by every connection (a
 * dozen closures and their context less per connection, about 1 KB). Its methods live on the
 * prototype: pass it on as it is (a spread `{ ...peer }` would drop them).
 */
class TcpPeer implements Peer {
  readonly addr: string;
  readonly ip: string;
  readonly lines$: Observable<Framed>;
  readonly secure: boolean | undefined;
  private readonly outbox: Outbox;
  private readonly lingerMs: number;
  private readonly metrics: { delivered: number } | undefined;
  // This turn's lines, handed to the socket as one write when the outbox flushes: one stream
  // write and one syscall per socket per turn, however many lines.
  private readonly batch: Batch;

  constructor(
    private readonly socket: net.Socket,
    options: SocketPeerOptions,
  ) {
    this.outbox = options.outbox;
    this.secure = options.secure;
    this.lingerMs = options.lingerMs ?? 1000;
    this.metrics = options.metrics;
    this.ip = options.client?.ip ?? socket.remoteAddress ?? '?';
    this.addr = formatAddress(this.ip, options.client ? options.client.port : (socket.remotePort ?? 0));
    this.batch = new Batch(this.outbox, socket, this.send);
    // Errors can come after the session has ended (a reset while our last lines flush): an
    // 'error' with no listener would crash the process, and 'close' follows it anyway.
    socket.on('error', ignore);
    this.lines$ = socketLines(socket, options.maxLineBytes);
  }

  private readonly send = (items: Outgoing[]): void => {
    const { socket, metrics } = this;
    if (items.length === 0 || socket.destroyed || socket.writableEnded) return;
    try {
      // A chunk of the turn's broadcast is one Buffer shared by every socket (lib/outbox.ts).
      const bytes = items.length === 1 ? bytesOf(items[0]) : Buffer.concat(items.map(bytesOf));
      // A newcomer's view of a chunk that took no line after it came is empty.
      if (bytes.length > 0) socket.write(bytes);
      if (metrics) for (const item of items) metrics.delivered += item instanceof Chunk ? item.count : 1;
    } catch {
      // A socket that cannot take a write is broken: it goes, the others' flushes go on.
      socket.destroy();
    }
  };

  write(data: Outgoing): void {
    if (this.socket.destroyed || this.socket.writableEnded) return;
    this.batch.add(data);
  }

  // What the kernel has refused so far, and what waits for the socket to drain: this turn's
  // batch is not offered to it yet, so a reader is never cut off for one large reply (a
  // `who` in a big room).
  queued(): number {
    return this.socket.writableLength + this.batch.held;
  }

  end(): void {
    const { socket } = this;
    if (socket.destroyed) return;
    // Through the outbox: the log commits first, even for a last line.
    this.outbox.flushAll();
    this.batch.flush(true);
    socket.end();
    setTimeout(() => socket.destroy(), this.lingerMs).unref();
  }

  destroy(): void {
    this.socket.destroy();
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  discard(): void {
    this.batch.discard();
  }

  onClose(callback: () => void): void {
    if (this.socket.closed) queueMicrotask(callback);
    else this.socket.once('close', callback);
  }
}

const ignore = (): void => {};
