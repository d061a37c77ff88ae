/** Replay-then-live: a reply from the message log spliced into a live stream without gap or duplicate. */
import { Relay } from './relay';
import { Observable, OperatorFunction, Subscriber, Subscription } from 'rxjs';

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
      const splice = new Splice<T>(out, idOf, compare, options);
      // Live first: whatever the log holds when a replay reads it, live has it or will.
      // A Relay, not an observer object: this runs once per line per recipient (lib/relay.ts).
      const live = new Relay<T>(
        (item) => splice.onLive(item),
        (error) => out.error(error),
        () => splice.liveEnded(),
      );
      live$.subscribe(live);
      const requests = new Relay<Observable<T | string>>(
        (replay$) => splice.request(replay$),
        (error) => out.error(error),
        () => splice.requestsEnded(),
      );
      requests$.subscribe(requests);
      // The sources go first: a replay's end, when stopping it ends it, must find nobody left
      // to react (the session's queue would take its next command during the teardown).
      return () => {
        live.unsubscribe();
        requests.unsubscribe();
        splice.stop();
      };
    });
}

/**
 * One subscription's splice: its state in fields and its steps as methods, shared by every
 * connection (a class rather than a dozen closures per connection: about 1.5 KB less each).
 * An exception in our own code (idOf, compare, onReplayError) ends the stream as an error.
 */
export class Splice<T> {
  private readonly queue: Observable<T | string>[] = [];
  private held: Held<T>[] = [];
  private start = 0; // held[..start] are gone
  private replaying = false;
  private running: Subscription | undefined;
  private first: string | undefined; // the running replay's first and last replayed ids
  private last: string | undefined;
  // Usually none or one: a window goes once live has passed its last id.
  private windows: Window[] = [];
  private draining = false;
  private liveDone = false;
  private requestsDone = false;

  constructor(
    private readonly out: Subscriber<T | string>,
    private readonly idOf: (item: T) => string | undefined,
    private readonly compare: (a: string, b: string) => number,
    private readonly options: ReplayOptions<T>,
  ) {}

  private emit(item: T | string): void {
    const { present } = this.options;
    this.out.next(present !== undefined && typeof item !== 'string' ? present(item) : item);
  }

  private inside(id: string, w: Window): boolean {
    return this.compare(id, w.first) >= 0 && this.compare(id, w.last) <= 0;
  }

  onLive(item: T): void {
    if (!this.replaying && this.windows.length === 0) {
      this.emit(item);
      return;
    }
    const parts = this.options.split?.(item);
    if (parts !== undefined) {
      for (const part of parts) this.onLive(part);
      return;
    }
    const { compare } = this;
    const id = this.idOf(item);
    if (id !== undefined && this.windows.length > 0) {
      this.windows = this.windows.filter((w) => compare(id, w.last) <= 0);
      if (this.windows.some((w) => compare(id, w.first) >= 0)) return;
    }
    if (!this.replaying) {
      this.emit(item);
    } else if (id !== undefined && this.first !== undefined && this.last !== undefined && compare(id, this.last) <= 0) {
      // The running replay has passed this id: it gave it (drop), or the id lies before
      // the replay's start (out now, never lost).
      if (compare(id, this.first) < 0) this.emit(item);
    } else {
      this.held.push({ item, id, gone: false });
    }
  }

  onReplayed(item: T | string): void {
    if (typeof item === 'string') {
      this.emit(item);
      return;
    }
    const id = this.idOf(item);
    if (id !== undefined) {
      // Held items up to this id: the replay passed the older ones without them (out now,
      // before it) and this one is the replayed item (dropped). Notices stay held.
      const { held } = this;
      while (this.start < held.length && held[this.start].gone) this.start++;
      for (let i = this.start; i < held.length; i++) {
        const h = held[i];
        if (h.gone || h.id === undefined) continue;
        const c = this.compare(h.id, id);
        if (c > 0) break;
        if (c < 0) this.emit(h.item);
        h.gone = true;
      }
      if (this.first === undefined) this.first = id;
      this.last = id;
    }
    this.emit(item);
  }

  replayFailed(error: unknown): void {
    for (const item of this.options.onReplayError?.(error) ?? []) this.emit(item);
    this.finish();
  }

  finish(): void {
    const { first, last } = this;
    const window = first !== undefined && last !== undefined ? { first, last } : undefined;
    const release = this.held;
    this.held = [];
    this.start = 0;
    this.replaying = false;
    this.running = undefined;
    this.first = this.last = undefined;
    if (window) this.windows.push(window);
    for (const h of release) if (!h.gone && (h.id === undefined || !window || !this.inside(h.id, window))) this.emit(h.item);
    this.drain();
  }

  request(replay$: Observable<T | string>): void {
    this.queue.push(replay$);
    this.drain();
  }

  liveEnded(): void {
    this.liveDone = true;
    this.drain();
  }

  requestsEnded(): void {
    this.requestsDone = true;
    this.drain();
  }

  private drain(): void {
    // A loop, not recursion: a replay that answers synchronously finishes inside subscribe().
    if (this.draining) return;
    this.draining = true;
    try {
      while (!this.replaying && this.queue.length > 0 && !this.out.closed) {
        const replay$ = this.queue.shift()!;
        this.replaying = true;
        const subscription = replay$.subscribe(new Replayed(this));
        if (this.replaying) this.running = subscription;
      }
    } finally {
      this.draining = false;
    }
    if (!this.replaying && this.queue.length === 0 && this.liveDone && this.requestsDone) this.out.complete();
  }

  stop(): void {
    this.running?.unsubscribe();
    this.running = undefined;
    this.queue.length = 0;
    this.held = [];
  }

  /** Our own code threw: the stream ends with the error. */
  fail(error: unknown): void {
    this.out.error(error);
  }
}

/** A replay's subscriber: its items into the splice; a throw in our code ends the stream with it. */
class Replayed<T> extends Subscriber<T | string> {
  constructor(private readonly splice: Splice<T>) {
    super();
  }

  protected override _next(item: T | string): void {
    try {
      this.splice.onReplayed(item);
    } catch (error) {
      this.splice.fail(error);
    }
  }

  protected override _error(error: unknown): void {
    try {
      this.splice.replayFailed(error);
    } catch (thrown) {
      this.splice.fail(thrown);
    } finally {
      this.unsubscribe();
    }
  }

  protected override _complete(): void {
    try {
      this.splice.finish();
    } catch (thrown) {
      this.splice.fail(thrown);
    } finally {
      this.unsubscribe();
    }
  }
}
