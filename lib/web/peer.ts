/**
 * A WebSocket as a `Peer`: one text frame is one protocol line each way, so a browser joins
 * the same sessions, limits and idle kick as a TCP client through `ChatServer.accept`. Like
 * the TCP peer, its frames leave when the server's `Outbox` flushes the turn (write-ahead).
 */
import type { IncomingMessage } from 'node:http';
import { Observable } from 'rxjs';
import type { RawData, WebSocket } from 'ws';
import { Framed, splitLines } from '../lines';
import type { Outbox } from '../outbox';
import { Peer, formatAddress } from '../peer';

const NEWLINE = Buffer.from('\n');

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
    const onClose = () => subscriber.complete();
    const onError = (err: Error) => subscriber.error(err);
    ws.on('message', onMessage).on('close', onClose).on('error', onError);
    return () => {
      ws.off('message', onMessage).off('close', onClose).off('error', onError);
    };
  });
  const lines$: Observable<Framed> = frames$.pipe(splitLines(maxLineBytes));
  // This turn's lines, one frame each, sent when the outbox flushes.
  let pending: Buffer[] = [];
  const flush = () => {
    const batch = pending;
    pending = [];
    if (ws.readyState !== ws.OPEN) return;
    // The server hands over encoded lines with their `\n`, shared by every recipient: a frame
    // is a view of one without the `\n`, sent as text (no decoding, no copy per peer).
    for (const data of batch) ws.send(data.subarray(0, data.length - 1), { binary: false });
    if (metrics) metrics.delivered += batch.length;
  };
  return {
    addr,
    ip,
    lines$,
    write(data) {
      if (ws.readyState !== ws.OPEN) return;
      if (pending.push(data) === 1) outbox.later(flush);
    },
    // What ws holds plus what its socket has not handed to the kernel: the SendQ bound's measure.
    queued: () => ws.bufferedAmount,
    end: () => {
      outbox.flushAll();
      flush();
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.close(1000);
    },
    destroy: () => ws.terminate(),
    onClose(callback) {
      if (ws.readyState === ws.CLOSED) queueMicrotask(callback);
      else ws.once('close', () => callback());
    },
  };
}
