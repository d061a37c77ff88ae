/**
 * A server's running sessions, each driven onto its peer: what the session emits is written to
 * the transport (a shared `Line` as the bytes encoded once for all its recipients), its end
 * kept with its reason (the server's, the user's leaving, the transport failing) and told to
 * the connection log once, however it ends. The per-recipient hot path is `next` below: one
 * check and one write per line.
 */
import { type Observable, Subscriber } from 'rxjs';
import type { ConnectionLog, EndReason } from './connection-log';
import type { Transport } from './metrics';
import { Chunk, Line, type Outbox } from './outbox';
import type { Peer } from './peer';
import { isWritten } from './send-queue';
import type { Output } from './session';

export class Sessions {
  /** Each session's subscriber, which also keeps its end's bookkeeping. */
  private readonly running = new Map<Peer, Delivery>();
  stopped = false;

  constructor(
    readonly log: ConnectionLog,
    readonly outbox: Outbox,
    /** The send-queue bound (lib/send-queue.ts): a peer with more pending output is cut off. */
    readonly maxQueueBytes: number,
  ) {}

  /** How many are running now. */
  get size(): number {
    return this.running.size;
  }

  /** Runs `output$`, the session of `peer`, until either ends. */
  start(peer: Peer, transport: Transport, output$: Observable<Output>): void {
    this.log.connected(peer.addr, transport);
    const delivery = new Delivery(this, peer, transport);
    this.running.set(peer, delivery);
    output$.subscribe(delivery);
    peer.onClose(() => {
      delivery.unsubscribe();
      delivery.finish();
    });
  }

  /** Logged once, when the transport closes, or at shutdown when the server ends it (the process may exit before every transport reports its close). */
  ended(delivery: Delivery, reason: EndReason): void {
    if (this.running.delete(delivery.peer)) this.log.ended(delivery.peer.addr, delivery.transport, reason === 'left' && this.stopped ? 'shutdown' : reason);
  }

  /** Shutdown's first step: nothing the sessions emit is written from now on. Returns their peers. */
  stop(): Peer[] {
    this.stopped = true;
    return [...this.running.keys()];
  }

  /** Shutdown: ends these sessions now, each logged (as ended by the shutdown, unless the server had its own reason). */
  end(peers: readonly Peer[]): void {
    for (const peer of peers) {
      const delivery = this.running.get(peer);
      delivery?.unsubscribe();
      delivery?.finish();
    }
  }
}

/**
 * One session's output onto its peer: a Subscriber subclass rather than an observer object
 * (one object per connection instead of four and their closures).
 */
class Delivery extends Subscriber<Output> {
  private reason: EndReason = 'left';

  constructor(
    private readonly sessions: Sessions,
    readonly peer: Peer,
    readonly transport: Transport,
  ) {
    super();
  }

  protected override _next(out: Output): void {
    if (this.sessions.stopped) return; // only the shutdown notice goes out now
    // boundSendQueue's rule, applied here rather than as an operator of every connection.
    if (isWritten(out) && this.peer.queued() > this.sessions.maxQueueBytes) {
      this.reason = 'sendq';
      // A peer over its send queue would take ages to flush: drop it now.
      this.peer.destroy();
      this.complete();
      return;
    }
    if (out instanceof Chunk) this.peer.write(out);
    else if (out instanceof Line || typeof out === 'string') {
      // Anything but the broadcast's chunk: the open chunk takes no more lines (lib/outbox.ts).
      this.sessions.outbox.written++;
      this.peer.write(out instanceof Line ? out.encoded : new Line(out).encoded);
    } else {
      this.reason = out.close;
      // A peer over its send queue would take ages to flush: drop it now.
      if (this.reason === 'sendq') this.peer.destroy();
    }
  }

  protected override _error(err: unknown): void {
    this.reason = 'error';
    try {
      this.sessions.log.failed(this.peer.addr, this.transport, err instanceof Error ? err.message : String(err));
      this.peer.destroy();
    } finally {
      this.unsubscribe();
    }
  }

  protected override _complete(): void {
    try {
      this.peer.end();
    } finally {
      this.unsubscribe();
    }
  }

  finish(): void {
    this.sessions.ended(this, this.reason);
  }
}
