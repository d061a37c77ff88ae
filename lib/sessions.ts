/**
 * A server's running sessions, each driven onto its peer: what the session emits is written to
 * the transport (a shared `Line` as the bytes encoded once for all its recipients), its end
 * kept with its reason (the server's, the user's leaving, the transport failing) and told to
 * the connection log once, however it ends. The per-recipient hot path is `next` below: one
 * check and one write per line.
 */
import type { Observable, Subscription } from 'rxjs';
import type { ConnectionLog, EndReason } from './connection-log';
import type { Transport } from './metrics';
import { Line } from './outbox';
import type { Peer } from './peer';
import type { Output } from './session';

export class Sessions {
  /** Each session's subscription, and its end's bookkeeping. */
  private readonly running = new Map<Peer, { readonly subscription: Subscription; readonly finish: () => void }>();
  private stopped = false;

  constructor(private readonly log: ConnectionLog) {}

  /** How many are running now. */
  get size(): number {
    return this.running.size;
  }

  /** Runs `output$`, the session of `peer`, until either ends. */
  start(peer: Peer, transport: Transport, output$: Observable<Output>): void {
    const { addr } = peer;
    this.log.connected(addr, transport);
    let reason: EndReason = 'left';
    const subscription = output$.subscribe({
      next: (out: Output) => {
        if (this.stopped) return; // only the shutdown notice goes out now
        if (out instanceof Line) peer.write(out.encoded);
        else if (typeof out === 'string') peer.write(new Line(out).encoded);
        else {
          reason = out.close;
          // A peer over its send queue would take ages to flush: drop it now.
          if (reason === 'sendq') peer.destroy();
        }
      },
      error: (err: unknown) => {
        reason = 'error';
        this.log.failed(addr, transport, err instanceof Error ? err.message : String(err));
        peer.destroy();
      },
      complete: () => peer.end(),
    });
    // Logged once, when the transport closes, or at shutdown when the server ends it (the
    // process may exit before every transport reports its close).
    const finish = () => {
      if (this.running.delete(peer)) this.log.ended(addr, transport, reason === 'left' && this.stopped ? 'shutdown' : reason);
    };
    this.running.set(peer, { subscription, finish });
    peer.onClose(() => {
      subscription.unsubscribe();
      finish();
    });
  }

  /** Shutdown's first step: nothing the sessions emit is written from now on. Returns their peers. */
  stop(): Peer[] {
    this.stopped = true;
    return [...this.running.keys()];
  }

  /** Shutdown: ends these sessions now, each logged (as ended by the shutdown, unless the server had its own reason). */
  end(peers: readonly Peer[]): void {
    for (const peer of peers) {
      const entry = this.running.get(peer);
      entry?.subscription.unsubscribe();
      entry?.finish();
    }
  }
}
