/**
 * Bounded work per turn of the event loop, so that an overloaded server still serves its
 * signals, timers and accepts. A line read costs the server O(recipients) (a broadcast), so the
 * per-client rate limit does not bound its total work: 1,000 clients at 15 lines a second ask
 * for 15 million deliveries a second. Without a bound the event loop saturates: measured with
 * `npm run soak -- --overload` (1,000 clients x 15 lines/s), a `to|` round trip took 19.7 s
 * and SIGTERM was not even logged within 60 s.
 *
 * The rule: once the input handled in this turn of the event loop (from its first line) has
 * taken `budgetMs`, input that comes after it waits for the next turn. Its connection's reading
 * is paused (TCP flow control then slows the sender, instead of the server queueing for it) and
 * its lines are held, in order. When the loop has gone round (timers, signals, accepts, the
 * outbox's flush), the waiting connections let their lines through in turn, one line each, in
 * the order they were paused, while the new turn's budget lasts, and are read again once their
 * held lines are through. Nothing is dropped: input is slowed, and a reader whose send queue
 * passes its bound is cut off as always. The CPU never idles while input waits: a turn ends
 * when the loop comes round, not at a timer.
 *
 * The hot path stays light: one clock read per line read, nothing per recipient.
 */
import type { MonoTypeOperatorFunction, Subscriber } from 'rxjs';
import { type Operation, operate } from './operate';

/** What the budget can do to a connection's input: a transport's reading, stopped and started. */
export interface Pausable {
  pause(): void;
  resume(): void;
}

export interface ReadBudgetOptions {
  /** Input handling allowed per turn of the event loop, in ms. */
  readonly budgetMs: number;
  /** The clock, in ms (`performance.now` by default; tests give a fake one). */
  readonly now?: () => number;
  /**
   * Runs its argument once the event loop has gone round: `setImmediate` by default (after
   * this turn's I/O, before the next turn's timers and I/O); tests run it by hand.
   */
  readonly schedule?: (turnEnded: () => void) => void;
  /** How long without a pause before an overload episode counts as over (default 1 s). */
  readonly quietMs?: number;
  /** The operator's log, one line when an episode starts and one when it ends. */
  readonly log?: (line: string) => void;
}

/** One connection's gate, as the budget sees it. */
interface Waiting {
  /** Lets its next held line through; true once none are left. */
  release(): boolean;
}

/** A server's budget for reading, shared by all its connections (every transport). */
export class ReadBudget {
  private readonly budgetMs: number;
  private readonly now: () => number;
  private readonly schedule: (turnEnded: () => void) => void;
  private readonly quietMs: number;
  private readonly log: (line: string) => void;
  // When this turn's input began: its first line. Undefined until then, so that a line after
  // a quiet spell is not taken for the end of a long turn.
  private turnStart: number | undefined;
  private endScheduled = false;
  /** Paused connections, in the order they were paused: Set keeps insertion order. */
  private readonly waiting = new Set<Waiting>();
  // The current overload episode, if any.
  private episodeStart: number | undefined;
  private lastPause = 0;
  private announced = false;
  private mostAtOnce = 0;
  private pausesInEpisode = 0;
  private totalPauses = 0;
  private totalEpisodes = 0;
  private releasing = false;

  constructor(options: ReadBudgetOptions) {
    this.budgetMs = options.budgetMs;
    this.now = options.now ?? (() => performance.now());
    this.schedule = options.schedule ?? ((turnEnded) => setImmediate(turnEnded));
    this.quietMs = options.quietMs ?? 1000;
    this.log = options.log ?? (() => {});
  }

  /**
   * Has this turn's input had its time? One clock read. The first line of a turn starts it,
   * and has its end scheduled for when the loop comes round.
   */
  spent(): boolean {
    const now = this.now();
    if (this.turnStart === undefined) {
      this.turnStart = now;
      this.endTurnSoon();
      return false;
    }
    return now - this.turnStart > this.budgetMs;
  }

  /** Connections whose reading is paused now. */
  get paused(): number {
    return this.waiting.size;
  }

  /** Times a connection was paused, and overload episodes, since the start (for metrics). */
  get pauses(): number {
    return this.totalPauses;
  }

  get episodes(): number {
    return this.totalEpisodes;
  }

  /** True from the first pause until a quiet second has passed (see `quietMs`). */
  get overloaded(): boolean {
    return this.episodeStart !== undefined;
  }

  /** A gate starts holding: it waits for the next turn, after the others already waiting. */
  hold(gate: Waiting): void {
    if (this.waiting.has(gate)) return;
    this.waiting.add(gate);
    this.totalPauses++;
    this.pausesInEpisode++;
    this.lastPause = this.now();
    if (this.episodeStart === undefined) {
      this.episodeStart = this.lastPause;
      this.totalEpisodes++;
      this.announced = false;
      this.mostAtOnce = 0;
      this.pausesInEpisode = 1;
    }
    this.mostAtOnce = Math.max(this.mostAtOnce, this.waiting.size);
    this.endTurnSoon();
  }

  /** A gate whose connection went away: it no longer waits. */
  forget(gate: Waiting): void {
    this.waiting.delete(gate);
  }

  private endTurnSoon(): void {
    if (this.endScheduled) return;
    this.endScheduled = true;
    this.schedule(this.endTurn);
  }

  /**
   * The loop has come round: a new turn starts. While its budget lasts, the waiting gates let
   * one line through each in turn, in the order they were paused, and one with lines left goes
   * back to the end of the line: a client with one line waiting (a `who`) waits for one line of
   * each busy sender, not for all of their backlogs.
   */
  readonly endTurn = (): void => {
    this.endScheduled = false;
    // A line released here may end its session, and so on: whatever runs inside this is part
    // of this turn, not the start of another.
    if (this.releasing) return;
    this.turnStart = undefined;
    this.releasing = true;
    try {
      for (const gate of this.waiting) {
        if (this.spent()) break;
        this.waiting.delete(gate);
        if (!gate.release()) this.waiting.add(gate);
      }
    } finally {
      this.releasing = false;
    }
    if (this.waiting.size > 0) this.endTurnSoon();
    this.report();
  };

  private report(): void {
    if (this.episodeStart === undefined) return;
    if (!this.announced) {
      this.announced = true;
      this.log(
        `overloaded: reading paused for ${this.mostAtOnce} connections (input over its budget of ${this.budgetMs} ms a turn; senders are slowed, nothing is dropped)`,
      );
      return;
    }
    if (this.waiting.size > 0 || this.now() - this.lastPause < this.quietMs) return;
    const seconds = ((this.lastPause - this.episodeStart) / 1000).toFixed(1);
    this.log(
      `recovered: reading no longer paused; overloaded for ${seconds} s, up to ${this.mostAtOnce} connections paused at once, ${this.pausesInEpisode} pauses`,
    );
    this.episodeStart = undefined;
  }
}

/**
 * A connection's input through the budget: lines pass while the turn's budget lasts; after
 * that they are held in order, the transport is paused, and the gate waits for the next turn,
 * in which its lines go one at a time in turn with the other waiting gates'. Never drops, never
 * reorders: a completion or an error waits behind the held lines too.
 *
 * ```
 * budget:   ok ok spent | next turn | ok
 * lines:    -a--b--c--d----------------
 * output:   -a--b-----------(cd)--------   (c, d held; the transport paused at c, resumed after d)
 * ```
 */
export function gate<T>(budget: ReadBudget, transport: Pausable): MonoTypeOperatorFunction<T> {
  return operate<T, T>((subscriber) => new Gate(subscriber, budget, transport));
}

/** One connection's gate: a class, so that every connection shares its methods (no closures of its own). */
class Gate<T> implements Operation<T>, Waiting {
  // Held lines from `head` on: taken one at a time without shifting the array (a backlog
  // can be a whole read's worth of lines).
  private held: T[] = [];
  private head = 0;
  private end: { readonly error: unknown } | 'complete' | undefined;
  private pausedNow = false;

  constructor(
    private readonly out: Subscriber<T>,
    private readonly budget: ReadBudget,
    private readonly transport: Pausable,
  ) {}

  private holding(): boolean {
    return this.head < this.held.length;
  }

  release(): boolean {
    if (this.holding()) this.out.next(this.held[this.head++]);
    if (this.holding()) return false;
    this.held = [];
    this.head = 0;
    if (this.end === 'complete') this.out.complete();
    else if (this.end) this.out.error(this.end.error);
    else if (this.pausedNow) {
      this.pausedNow = false;
      this.transport.resume();
    }
    return true;
  }

  private wait(): void {
    if (!this.pausedNow) {
      this.pausedNow = true;
      this.transport.pause();
    }
    this.budget.hold(this);
  }

  next(value: T): void {
    if (!this.holding() && !this.budget.spent()) return this.out.next(value);
    this.held.push(value);
    this.wait();
  }

  complete(): void {
    if (!this.holding()) return this.out.complete();
    this.end = 'complete';
  }

  error(err: unknown): void {
    if (!this.holding()) return this.out.error(err);
    this.end = { error: err };
  }

  finalize(): void {
    this.budget.forget(this);
    this.held = [];
    this.head = 0;
  }
}
