/**
 * A TCP (or TLS) socket as a `Peer`: its bytes framed into lines, its writes batched into one
 * socket write per turn by the server's `Outbox`, its end lingering for a client that never
 * closes its side.
 */
import type * as net from 'node:net';
import { splitLines } from '../lines';
import { Batch, Chunk, bytesOf, type Outbox } from '../outbox';
import { Peer, formatAddress } from '../peer';
import { socketBytes } from '../socket';

export interface SocketPeerOptions {
  readonly maxLineBytes: number;
  /** The server's outbox: the peer's lines leave with its flush. */
  readonly outbox: Outbox;
  /** After `end()`, a client that keeps its side open is destroyed this much later. */
  readonly lingerMs?: number;
  /** Counts the lines written, once per batch. */
  readonly metrics?: { delivered: number };
  /** The client a trusted proxy named (PROXY protocol): the user's address instead of the socket's. */
  readonly client?: { readonly ip: string; readonly port: number };
}

export function socketPeer(socket: net.Socket, options: SocketPeerOptions): Peer {
  const { outbox, lingerMs = 1000, metrics } = options;
  const ip = options.client?.ip ?? socket.remoteAddress ?? '?';
  const addr = formatAddress(ip, options.client ? options.client.port : (socket.remotePort ?? 0));
  // This turn's lines, handed to the socket as one write when the outbox flushes: one stream
  // write and one syscall per socket per turn, however many lines.
  const batch = new Batch(outbox, socket, (items) => {
    if (items.length === 0 || socket.destroyed || socket.writableEnded) return;
    try {
      // A chunk of the turn's broadcast is one Buffer shared by every socket (lib/outbox.ts).
      const bytes = items.length === 1 ? bytesOf(items[0]) : Buffer.concat(items.map(bytesOf));
      // A newcomer's view of a chunk that took no line after it came is empty.
      if (bytes.length > 0) socket.write(bytes);
      if (metrics) for (const item of items) metrics.delivered += item instanceof Chunk ? item.lines.length : 1;
    } catch {
      // A socket that cannot take a write is broken: it goes, the others' flushes go on.
      socket.destroy();
    }
  });
  // Errors can come after the session has ended (a reset while our last lines flush): an
  // 'error' with no listener would crash the process, and 'close' follows it anyway.
  socket.on('error', () => {});
  return {
    addr,
    ip,
    lines$: socketBytes(socket).pipe(splitLines(options.maxLineBytes)),
    write(data) {
      if (socket.destroyed || socket.writableEnded) return;
      batch.add(data);
    },
    // What the kernel has refused so far, and what waits for the socket to drain: this turn's
    // batch is not offered to it yet, so a reader is never cut off for one large reply (a
    // `who` in a big room).
    queued: () => socket.writableLength + batch.held,
    end: () => {
      if (socket.destroyed) return;
      // Through the outbox: the log commits first, even for a last line.
      outbox.flushAll();
      batch.flush(true);
      socket.end();
      setTimeout(() => socket.destroy(), lingerMs).unref();
    },
    destroy: () => socket.destroy(),
    pause: () => socket.pause(),
    resume: () => socket.resume(),
    discard: () => batch.discard(),
    onClose: (callback) => {
      if (socket.closed) queueMicrotask(callback);
      else socket.once('close', callback);
    },
  };
}
