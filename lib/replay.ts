/** Replay-then-live: a reply from the message log spliced into a live stream without gap or duplicate. */
import { Relay } from './relay';
import { Observable, OperatorFunction, Subscription } from 'rxjs';

export interface ReplayOptions<T> {
  /**
   * What to emit when a replay errors, in place of its missing end (the error itself goes no
   * further: a failed history read must not end the session). Default: nothing.
   */
  readonly onReplayError?: (error: unknown) => readonly (T | string)[];
  /**
   * How an item leaves, live or replayed (the session tags lines for a `cap|tags` client here):
   * a call per item instead of a `map` operator after this one, on the fan-out's hot path.
   */
  readonly present?: (item: T) => T;
  /**
   * The items one item stands for (a chunk of the turn's broadcast), or undefined: taken apart
   * only when a replay or its aftermath needs them one by one; otherwise it passes whole.
   */
  readonly split?: (item: T) => readonly T[] | undefined;
}

interface Held<T> {
  readonly item: T;
  /** undefined: not a log item (a notice): held like the others, never dropped. */
  readonly id: string | undefined;
  /** Already emitted or dropped by the merge with the replay. */
  gone: boolean;
}

/** The ids a finished replay gave: live items inside it that arrive late are its duplicates. */
interface Window {
  readonly first: string;
  readonly last: string;
}

/**
 * Splices replays of the log into the live stream it is applied to. `requests$` emits one
 * replay per request (a cold Observable: the log is read when its turn comes); it emits the
 * replayed items oldest first, may emit strings (markers such as `history|truncated`), and ends
 * with its own end marker (`history|end`) before it completes.
 *
 * ```
 * live:      -a------b---c-----d--
 * requests:  ---R-----------------        R = --x-y-b-E|   (replayed x, y, b; E = end marker)
 * output:    -a-----x-y-b-E(c)-d--        b was live during the replay: once, in the replay;
 *                                          c followed it: held, released after E
 * ```
 *
 * - While no replay runs, live items pass straight through (`idOf` is not even called).
 * - While a replay runs, live items are held. A replayed item takes the place of the held
 *   item with its id (dropped: no duplicate). When the replay completes, the held items after
 *   its last replayed id are released in order, after its end marker; then live goes on.
 * - Replays run one at a time, in request order; each is subscribed when its turn comes.
 * - A live item that the last replay already gave (between its first and last id) but that
 *   arrives after it completed is dropped too: the log is written before the live stream
 *   delivers, so a read may see an event before the live stream does.
 * - A held item older than a replayed one that the replay did not give (it started later
 *   than where the live stream stands: a truncated page read after many lines came) is
 *   released just before that replayed item: every live item appears exactly once, and the
 *   output stays in log order.
 *
 * Assumptions: the live stream and each replay are in log order (by `compare` of `idOf`), and
 * a replay is a contiguous run of the log (what a `since|`/`history|` read gives), so "between
 * its first and last id" means "in it". A replay's strings are markers: passed on, never given
 * to `idOf`. A live item for which `idOf` returns undefined is not in the log (a notice): held
 * during a replay like the others and released after it, never dropped or compared.
 *
 * Errors: a replay that errors ends there, `onReplayError` says what to emit in place of its
 * end marker (the error goes no further: a failed history read must not end the session), and
 * the held items are released as at completion. An error of the live stream or `requests$`,
 * or an exception thrown by `idOf`, `compare` or `onReplayError`, goes to the subscriber's
 * `error` (never an uncaught exception) and tears everything down.
 *
 * Completes when the live stream and `requests$` have completed and no replay runs or waits.
 * Unsubscribing tears down a running replay. Memory: the held items are bounded only by how
 * long a replay runs (a slow or paced replay holds every live item meanwhile), plus one queued
 * Observable per waiting request.
 */
export function replayThenLive<T>(
  requests$: Observable<Observable<T | string>>,
  idOf: (item: T) => string | undefined,
  compare: (a: string, b: string) => number,
  options: ReplayOptions<T> = {},
): OperatorFunction<T, T | string> {
  return (live$) =>
    new Observable<T | string>((out) => {
      const queue: Observable<T | string>[] = [];
      let held: Held<T>[] = [];
      let start = 0; // held[..start] are gone
      let replaying = false;
      let running: Subscription | undefined;
      let first: string | undefined; // the running replay's first and last replayed ids
      let last: string | undefined;
      // Usually none or one: a window goes once live has passed its last id.
      let windows: Window[] = [];
      let draining = false;
      let liveDone = false;
      let requestsDone = false;
      const { present } = options;
      const emit = (item: T | string): void => out.next(present !== undefined && typeof item !== 'string' ? present(item) : item);

      // An exception in our own code (idOf, compare, onReplayError) ends the stream as an error.
      const guard =
        <A extends unknown[]>(f: (...args: A) => void) =>
        (...args: A): void => {
          try {
            f(...args);
          } catch (error) {
            out.error(error);
          }
        };

      const inside = (id: string, w: Window): boolean => compare(id, w.first) >= 0 && compare(id, w.last) <= 0;

      const onLive = (item: T): void => {
        if (!replaying && windows.length === 0) {
          emit(item);
          return;
        }
        const parts = options.split?.(item);
        if (parts !== undefined) {
          for (const part of parts) onLive(part);
          return;
        }
        const id = idOf(item);
        if (id !== undefined && windows.length > 0) {
          windows = windows.filter((w) => compare(id, w.last) <= 0);
          if (windows.some((w) => compare(id, w.first) >= 0)) return;
        }
        if (!replaying) {
          emit(item);
        } else if (id !== undefined && first !== undefined && last !== undefined && compare(id, last) <= 0) {
          // The running replay has passed this id: it gave it (drop), or the id lies before
          // the replay's start (out now, never lost).
          if (compare(id, first) < 0) emit(item);
        } else {
          held.push({ item, id, gone: false });
        }
      };

      const onReplayed = (item: T | string): void => {
        if (typeof item === 'string') {
          emit(item);
          return;
        }
        const id = idOf(item);
        if (id !== undefined) {
          // Held items up to this id: the replay passed the older ones without them (out now,
          // before it) and this one is the replayed item (dropped). Notices stay held.
          while (start < held.length && held[start].gone) start++;
          for (let i = start; i < held.length; i++) {
            const h = held[i];
            if (h.gone || h.id === undefined) continue;
            const c = compare(h.id, id);
            if (c > 0) break;
            if (c < 0) emit(h.item);
            h.gone = true;
          }
          if (first === undefined) first = id;
          last = id;
        }
        emit(item);
      };

      const finish = (): void => {
        const window = first !== undefined && last !== undefined ? { first, last } : undefined;
        const release = held;
        held = [];
        start = 0;
        replaying = false;
        running = undefined;
        first = last = undefined;
        if (window) windows.push(window);
        for (const h of release) if (!h.gone && (h.id === undefined || !window || !inside(h.id, window))) emit(h.item);
        drain();
      };

      const drain = (): void => {
        // A loop, not recursion: a replay that answers synchronously finishes inside subscribe().
        if (draining) return;
        draining = true;
        try {
          while (!replaying && queue.length > 0 && !out.closed) {
            const replay$ = queue.shift()!;
            replaying = true;
            const subscription = replay$.subscribe({
              next: guard(onReplayed),
              error: guard((error: unknown) => {
                for (const item of options.onReplayError?.(error) ?? []) emit(item);
                finish();
              }),
              complete: guard(finish),
            });
            if (replaying) running = subscription;
          }
        } finally {
          draining = false;
        }
        if (!replaying && queue.length === 0 && liveDone && requestsDone) out.complete();
      };

      // Live first: whatever the log holds when a replay reads it, live has it or will.
      const liveSubscription = live$.subscribe(
        // A Relay, not an observer object: this runs once per line per recipient (lib/relay.ts).
        new Relay<T>(
          onLive,
          (error) => out.error(error),
          () => {
            liveDone = true;
            drain();
          },
        ),
      );
      const requestsSubscription = requests$.subscribe({
        next: guard((replay$: Observable<T | string>) => {
          queue.push(replay$);
          drain();
        }),
        error: (error: unknown) => out.error(error),
        complete: guard(() => {
          requestsDone = true;
          drain();
        }),
      });

      return () => {
        running?.unsubscribe();
        running = undefined;
        liveSubscription.unsubscribe();
        requestsSubscription.unsubscribe();
        queue.length = 0;
        held = [];
      };
    });
}
