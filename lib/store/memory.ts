/**
 * The message log in memory: the newest `maxLines` events, gone on restart. For unit tests,
 * and for ids when the server runs without a durable log.
 */
import { After, IdClock, IdParts, LoggedEvent, MessageLog, Stamped, checkMaxLines, compareParts, countOf, formatId, isKnown, isLogged, parseId } from './log';
import type { Event } from '../protocol';

export interface MemoryLogOptions {
  readonly maxLines: number;
  /** The clock ids are made from (ms since the epoch); default Date.now. */
  readonly now?: () => number;
}

interface Entry {
  readonly parts: IdParts;
  readonly stamped: Stamped<LoggedEvent>;
}

// Dropped entries are compacted away once they are this many and half the array: amortised
// O(1) per event instead of an O(n) shift for each one.
const COMPACT_AFTER = 1024;

export class MemoryLog implements MessageLog {
  private readonly maxLines: number;
  private readonly clock: IdClock;
  private entries: Entry[] = [];
  private head = 0;
  /** Every logged event after this id is held (see isKnown). */
  private horizon: IdParts;

  constructor(options: MemoryLogOptions) {
    checkMaxLines(options.maxLines);
    this.maxLines = options.maxLines;
    const now = options.now ?? Date.now;
    this.horizon = { ms: Math.floor(now()), seq: -1 };
    this.clock = new IdClock(now, this.horizon);
  }

  get degraded(): boolean {
    return false;
  }

  stamp<E extends Event>(event: E): Stamped<E> {
    const parts = this.clock.next();
    const stamped: Stamped<E> = { id: formatId(parts), time: parts.ms, event };
    if (isLogged(event)) {
      this.entries.push({ parts, stamped: stamped as Stamped<LoggedEvent> });
      if (this.entries.length - this.head > this.maxLines) this.drop();
    }
    return stamped;
  }

  /** Nothing to write: stamped events are already where reads find them. */
  commit(): void {}

  last(n: number): readonly Stamped<LoggedEvent>[] {
    const count = Math.min(countOf(n), this.entries.length - this.head);
    return this.slice(this.entries.length - count, this.entries.length);
  }

  after(id: string, limit: number): After {
    const parts = parseId(id);
    if (parts === undefined || !isKnown(parts, this.horizon, this.clock.last)) return { known: false, events: this.last(limit) };
    const from = this.firstAfter(parts);
    const count = countOf(limit);
    const truncated = this.entries.length - from > count;
    return { known: true, events: this.slice(Math.max(from, this.entries.length - count), this.entries.length), truncated };
  }

  close(): void {
    this.entries = [];
    this.head = 0;
  }

  private drop(): void {
    this.horizon = this.entries[this.head].parts;
    this.head++;
    if (this.head >= COMPACT_AFTER && this.head * 2 >= this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
  }

  /** The index of the first held entry after `parts` (binary search: entries are in id order). */
  private firstAfter(parts: IdParts): number {
    let lo = this.head;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareParts(this.entries[mid].parts, parts) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private slice(from: number, to: number): Stamped<LoggedEvent>[] {
    const out: Stamped<LoggedEvent>[] = [];
    for (let i = Math.max(from, this.head); i < to; i++) out.push(this.entries[i].stamped);
    return out;
  }
}
