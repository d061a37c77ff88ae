/**
 * The send-queue bound ("SendQ" in IRC servers): RxJS has no backpressure and a socket
 * buffers without limit, so a client whose pending output passes the bound is cut off,
 * never waited for, and never handed more lines.
 */
import { Observable, OperatorFunction } from 'rxjs';
import { Chunk, Line } from './outbox';
import { Relay } from './relay';
import type { Close, Output } from './session';

const CUT: Close = { close: 'sendq' };

/** What the bound applies to: anything written to the peer (a line or a chunk), not a close. */
export function isWritten(out: Output): out is string | Line | Chunk {
  return typeof out === 'string' || out instanceof Line || out instanceof Chunk;
}

/**
 * Passes the session's output while `queued()` (bytes not yet taken by the kernel) stays
 * within `maxBytes`; once over, emits `{ close: 'sendq' }` instead of the line and completes.
 *
 * ```
 * output:  -a-b-c-d-
 * queued:  0 0 9 9        (max 5)
 * result:  -a-b-(x|)      (x: { close: 'sendq' })
 * ```
 *
 * Written by hand rather than as `map` + `takeWhile(…, true)`: a subscriber less and a call less
 * per line. The server applies the same rule (`isWritten`, then the bound) in its delivery of
 * each session onto its peer (lib/sessions.ts) rather than as an operator of every connection.
 */
export function boundSendQueue(queued: () => number, maxBytes: number): OperatorFunction<Output, Output> {
  // Not through operate(): its one shared `next` calls every hand-written operator's code, and
  // that call site going megamorphic cost ~20% of the in-process fan-out (a line to 1,000
  // recipients). A Relay (lib/relay.ts) gives the same guarantee: a throw reaches `error`.
  return (source) =>
    new Observable<Output>((subscriber) =>
      source.subscribe(
        new Relay<Output>(
          (out) => {
            if (isWritten(out) && queued() > maxBytes) {
              subscriber.next(CUT);
              subscriber.complete();
              return;
            }
            subscriber.next(out);
          },
          (err) => subscriber.error(err),
          () => subscriber.complete(),
        ),
      ),
    );
}
