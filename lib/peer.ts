/**
 * The Peer seam: what a transport (TCP, TLS, WebSocket) gives the server for one client. The
 * server only ever sees this; `lib/tcp/` and `lib/web/` each make one.
 */
import type { Observable } from 'rxjs';
import type { Framed } from './lines';
import type { Outgoing } from './outbox';

/** One connected client, whatever carries its bytes. */
export interface Peer {
  /** `ip:port`, as the reference names a new user. */
  readonly addr: string;
  /** The IP alone, for per-address limits. */
  readonly ip: string;
  /**
   * The bytes cross the network encrypted (TLS, WSS): passwords may be sent. Absent: plain,
   * and `register|`, `login|`, `passwd|` are refused unless the peer is on loopback.
   */
  readonly secure?: boolean;
  /** The client's lines; completes when it goes away, errors on a transport error. */
  readonly lines$: Observable<Framed>;
  /**
   * Queues one encoded line (with its `\n`), or a chunk of the turn's broadcast (lines shared by
   * every recipient, see lib/outbox.ts); it leaves when the server's outbox flushes the turn.
   */
  write(data: Outgoing): void;
  /** Bytes the transport holds that the kernel has not taken (the send-queue bound's measure). */
  queued(): number;
  /** Flushes what is queued, then closes. */
  end(): void;
  /** Closes now, dropping what is queued. */
  destroy(): void;
  /**
   * Stops and starts reading the client (lib/overload.ts: past the turn's budget, TCP flow
   * control slows the sender instead of the server queueing). A transport without them is
   * never paused.
   */
  pause?(): void;
  resume?(): void;
  /** Drops what is queued and not yet handed to the kernel: at shutdown the notice goes first. */
  discard?(): void;
  /** Runs once when the transport is closed, whoever closed it. */
  onClose(callback: () => void): void;
}

/** `[::1]:5000` or `127.0.0.1:5000`, as Go's `RemoteAddr().String()` writes it. */
export function formatAddress(ip: string, port: number): string {
  const plain = ip.startsWith('::ffff:') && ip.includes('.') ? ip.slice('::ffff:'.length) : ip;
  return plain.includes(':') ? `[${plain}]:${port}` : `${plain}:${port}`;
}
