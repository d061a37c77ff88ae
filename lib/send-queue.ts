/**
 * The send-queue bound ("SendQ" in IRC servers): RxJS has no backpressure and a socket
 * buffers without limit, so a client whose pending output passes the bound is cut off,
 * never waited for, and never handed more lines.
 */
import { Observable, OperatorFunction } from 'rxjs';
import type { Close, Output } from './session';

const CUT: Close = { close: 'sendq' };

/**
 * Passes the session's output while `queued()` (bytes not yet taken by the kernel) stays
 * within `maxBytes`; once over, emits `{ close: 'sendq' }` instead of the line and completes.
 *
 * ```
 * output:  -a-b-c-d-
 * queued:  0 0 9 9        (max 5)
 * result:  -a-b-(x|)      (x: { close: 'sendq' })
 * ```
 */
export function boundSendQueue(queued: () => number, maxBytes: number): OperatorFunction<Output, Output> {
  return (source) =>
    new Observable<Output>((subscriber) =>
      source.subscribe({
        next(out) {
          if (typeof out === 'string' && queued() > maxBytes) {
            subscriber.next(CUT);
            subscriber.complete();
            return;
          }
          subscriber.next(out);
        },
        error: (err) => subscriber.error(err),
        complete: () => subscriber.complete(),
      }),
    );
}
