/**
 * The message log's seam: event ids, stamped events, and the MessageLog interface that the
 * embedded SQLite log, the in-memory log and the cluster's Redis Stream log
 * (`lib/redis/stream-log.ts`) implement.
 */
import type { Answer } from '../hub';
import type { Event } from '../protocol';

/** The events the public history holds: joins, leaves, public messages. */
export type LoggedEvent = Extract<Event, { kind: 'online' | 'offline' | 'say' }>;

/** An event with its id (`MS-SEQ`, in log order) and its time (ms since the epoch). */
export interface Stamped<E = Event> {
  readonly id: string;
  readonly time: number;
  readonly event: E;
}

/** What `after(id)` found: the events after a known id, or (unknown id) the newest page. */
export type After =
  | { readonly known: true; readonly events: readonly Stamped<LoggedEvent>[]; readonly truncated: boolean }
  | { readonly known: false; readonly events: readonly Stamped<LoggedEvent>[] };

/**
 * Reads answer with an `Answer` (lib/hub.ts): the embedded logs know the answer now and return
 * the value; the Redis Stream log has to ask Redis and returns an Observable of it.
 */
export interface MessageLog {
  /**
   * Gives an event its id and time now. Logged events (online/offline/say) are held in memory
   * until commit(); others (private) get an id only. An event that already carries its stamp
   * (`event.stamp`: a shared hub took it from the cluster's stream) is not stamped again: the
   * server uses that stamp and does not call this for it.
   */
  stamp<E extends Event>(event: E): Stamped<E>;
  /**
   * Writes every event stamped since the last commit in ONE transaction (write-ahead: call it
   * just before a turn's lines are flushed to sockets). Never throws: a failure (disk full, I/O
   * error) degrades the log to "no history": it reports once through `onTrouble`, stops
   * writing, and history reads return empty, while stamping goes on.
   */
  commit(): void;
  /** The last n logged events before now (committed or still pending), oldest first. */
  last(n: number): Answer<readonly Stamped<LoggedEvent>[]>;
  /**
   * Logged events strictly after id, oldest first, at most `limit`: when more follow, the
   * NEWEST `limit` and truncated=true. An id that is malformed, expired (an event after it was
   * deleted by retention) or newer than anything given out -> known:false with the newest page.
   * Any id in between is known, a private message's id (given out, never stored) included.
   */
  after(id: string, limit: number): Answer<After>;
  /** True once the log has degraded to no history. */
  readonly degraded: boolean;
  close(): void;
}

/**
 * A log in this process that answers every read now (MemoryLog). The SqliteLog answers a read
 * of one page now and a longer one a page a turn (lib/store/sqlite.ts); both keep the contract
 * in spec/store/log-contract.ts.
 */
export interface LocalLog extends MessageLog {
  last(n: number): readonly Stamped<LoggedEvent>[];
  after(id: string, limit: number): After;
}

/** An id as numbers. `seq` is -1 only in a position "just before the first id of ms". */
export interface IdParts {
  readonly ms: number;
  readonly seq: number;
}

/** The largest seq an id may carry (9 digits); a millisecond that fills up moves to the next. */
export const MAX_SEQ = 999_999_999;

const ID = /^(\d{1,15})-(\d{1,9})$/;

/** `1764427200123-0` -> { ms, seq }; undefined for anything else. */
export function parseId(s: string): IdParts | undefined {
  const m = ID.exec(s);
  return m === null ? undefined : { ms: Number(m[1]), seq: Number(m[2]) };
}

export function formatId(parts: IdParts): string {
  return `${parts.ms}-${parts.seq}`;
}

export function compareParts(a: IdParts, b: IdParts): number {
  return a.ms !== b.ms ? (a.ms < b.ms ? -1 : 1) : a.seq !== b.seq ? (a.seq < b.seq ? -1 : 1) : 0;
}

// Sorts malformed ids first (and equal to each other) rather than throwing: ids reach this
// from clients, and an ordering must be total for sorting and binary search.
const MALFORMED: IdParts = { ms: -1, seq: -1 };

/** Orders two ids in log order (negative, 0, positive); a malformed id sorts before all others. */
export function compareIds(a: string, b: string): number {
  return compareParts(parseId(a) ?? MALFORMED, parseId(b) ?? MALFORMED);
}

export function isLogged(event: Event): event is LoggedEvent {
  return event.kind === 'online' || event.kind === 'offline' || event.kind === 'say';
}

/**
 * Hands out ids in strictly increasing order: ms = max(now, last ms); within one ms, seq counts.
 * It starts strictly after `after`, so a reopened log never reuses an id, stored or not.
 */
export class IdClock {
  private ms: number;
  private seq: number;

  constructor(
    private readonly now: () => number,
    after: IdParts,
  ) {
    this.ms = after.ms;
    this.seq = after.seq;
  }

  next(): IdParts {
    const now = Math.floor(this.now());
    if (now > this.ms) {
      this.ms = now;
      this.seq = 0;
    } else if (this.seq < MAX_SEQ) {
      this.seq++;
    } else {
      this.ms++;
      this.seq = 0;
    }
    return { ms: this.ms, seq: this.seq };
  }

  /**
   * Moves the clock to at least `parts` (an id given out elsewhere, e.g. by the cluster's
   * stream): ids handed out after it stay in log order with it.
   */
  observe(parts: IdParts): void {
    if (compareParts(parts, { ms: this.ms, seq: this.seq }) > 0) {
      this.ms = parts.ms;
      this.seq = parts.seq;
    }
  }

  /** The newest id given out (or, before any, the position ids start after). */
  get last(): IdParts {
    return { ms: this.ms, seq: this.seq };
  }
}

/**
 * Whether `after(id)` can answer without a gap: the id lies at or after the horizon (the newest
 * id whose successors may have been deleted: the last deleted event, or the log's beginning)
 * and no later than the newest id given out.
 */
export function isKnown(id: IdParts, horizon: IdParts, newest: IdParts): boolean {
  return compareParts(horizon, id) <= 0 && compareParts(id, newest) <= 0;
}

/** Checks a log's options; throws (a programmer error) for a bound that is not a positive integer. */
export function checkMaxLines(maxLines: number): void {
  if (!Number.isInteger(maxLines) || maxLines < 1) throw new RangeError(`maxLines must be a positive integer, got ${maxLines}`);
}

/** A page size or count from outside as a usable count: 0 for anything not positive. */
export function countOf(n: number): number {
  return Number.isFinite(n) && n > 0 ? Math.floor(n) : 0;
}
