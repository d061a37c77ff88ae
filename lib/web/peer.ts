/**
 * A WebSocket as a `Peer`: one text frame is one protocol line each way, so a browser joins
 * the same sessions, limits and idle kick as a TCP client through `ChatServer.accept`. Like
 * the TCP peer, its frames leave when the server's `Outbox` flushes the turn (write-ahead).
 */
import type { IncomingMessage } from 'node:http';
import { Observable } from 'rxjs';
import type { RawData, WebSocket } from 'ws';
import { Framed, splitLines } from '../lines';
import { Batch, Chunk, type Outbox } from '../outbox';
import { Peer, formatAddress } from '../peer';

const NEWLINE = Buffer.from('\n');
/**
 * A client that pings while this much it was sent waits unread (pongs, lines) is flooding: ws
 * counts pongs not yet written instead (60), which a burst of pings in one packet reaches too.
 */
export const PING_FLOOD_BYTES = 64 * 1024;

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/**
 * Incoming frames go through the TCP framing (`splitLines`) with a line end after each: a
 * frame becomes one line (or several, when it holds `\n`), CRLF and invalid UTF-8 are treated
 * as over TCP, and a frame over the line limit becomes `TOO_LONG` (the usual notice).
 */
export interface WebSocketPeerOptions {
  readonly maxLineBytes: number;
  /** The server's outbox: the peer's frames leave with its flush. */
  readonly outbox: Outbox;
  /** Counts the lines sent, once per batch. */
  readonly metrics?: { delivered: number };
  /** The client a trusted proxy named (X-Forwarded-For): the user's IP instead of the socket's. */
  readonly clientIp?: string;
}

export function webSocketPeer(ws: WebSocket, request: IncomingMessage, options: WebSocketPeerOptions): Peer {
  const { maxLineBytes, outbox, metrics } = options;
  const ip = options.clientIp ?? request.socket.remoteAddress ?? '?';
  const addr = formatAddress(ip, request.socket.remotePort ?? 0);
  const frames$ = new Observable<Buffer>((subscriber) => {
    const onMessage = (data: RawData) => {
      const frame = toBuffer(data);
      subscriber.next(frame);
      if (frame.length === 0 || frame[frame.length - 1] !== 0x0a) subscriber.next(NEWLINE);
    };
    // Without a close frame (1006) the client is gone as a TCP reset is: an error, logged with
    // its reason. A close frame is a normal end.
    const onClose = (code: number) =>
      code === 1006 ? subscriber.error(new Error('connection lost: closed without a close frame (1006)')) : subscriber.complete();
    const onError = (err: Error) => subscriber.error(err);
    // Pings are answered here, not by ws (the server has autoPong off): a client that pings
    // and never reads the pongs is ended with a reason, where ws would terminate it silently.
    const onPing = (data: Buffer) => {
      if (ws.readyState !== ws.OPEN) return;
      if (ws.bufferedAmount > PING_FLOOD_BYTES) {
        subscriber.error(new Error(`ping flood: pinging with over ${PING_FLOOD_BYTES} bytes unread`));
        ws.terminate();
        return;
      }
      ws.pong(data, false);
    };
    ws.on('message', onMessage).on('close', onClose).on('error', onError).on('ping', onPing);
    return () => {
      ws.off('message', onMessage).off('close', onClose).off('error', onError).off('ping', onPing);
    };
  });
  const lines$: Observable<Framed> = frames$.pipe(splitLines(maxLineBytes));
  // This turn's lines, one frame each, sent when the outbox flushes (held back while the
  // socket has not drained: see Batch).
  const batch = new Batch(outbox, request.socket, (items) => {
    if (ws.readyState !== ws.OPEN) return;
    // The server hands over encoded lines with their `\n`, shared by every recipient: a frame
    // is a view of one without the `\n`, sent as text (no decoding, no copy per peer). A chunk
    // of the turn's broadcast is a frame per line.
    const send = (data: Buffer) => ws.send(data.subarray(0, data.length - 1), { binary: false });
    for (const item of items) {
      if (item instanceof Chunk) {
        const { lines } = item;
        for (const line of lines) send(line.encoded);
        if (metrics) metrics.delivered += lines.length;
      } else {
        send(item);
        if (metrics) metrics.delivered++;
      }
    }
  });
  return {
    addr,
    ip,
    lines$,
    write(data) {
      if (ws.readyState !== ws.OPEN) return;
      batch.add(data);
    },
    // What ws holds plus what its socket has not handed to the kernel, and what waits for it to
    // drain: the SendQ bound's measure.
    queued: () => ws.bufferedAmount + batch.held,
    end: () => {
      outbox.flushAll();
      batch.flush(true);
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(1000);
    },
    destroy: () => ws.terminate(),
    pause: () => ws.pause(),
    resume: () => ws.resume(),
    discard: () => batch.discard(),
    onClose(callback) {
      if (ws.readyState === ws.CLOSED) queueMicrotask(callback);
      else ws.once('close', () => callback());
    },
  };
}
