/**
 * The cluster's log stream, both ways: `Pending` holds this node's lines on their way into
 * `p:log` (in the order they were said, bounded: the outage buffer), and `StreamReader` reads
 * `p:log` on a connection of its own (XREAD BLOCK) and hands every entry over in stream order,
 * this node's own included: a node delivers a line only once the stream holds it.
 */
import type { Redis } from 'ioredis';
import { SchedulerLike, firstValueFrom, race, timer, Subject } from 'rxjs';
import { compareIds } from '../store/log';
import { Entry, StreamEvent, decodeEntry } from './wire';

/** A public line said here, not yet in the stream. */
export interface PendingLine {
  readonly kind: 'say';
  /** This node's sequence number: Redis adds a line only above the last q it has (APPEND). */
  readonly q: number;
  readonly event: Extract<StreamEvent, { kind: 'say' }>;
  /** When it was said (ms). */
  readonly time: number;
  /**
   * Its own node's users saw it already (said while the node could not reach Redis, or shown
   * when the link went down before the stream gave it back). Set once, never unset.
   */
  shown: boolean;
}

/** A member's leave, queued behind its lines so that the others see them in that order. */
export interface PendingLeave {
  readonly kind: 'leave';
  readonly q: number;
  readonly id: string;
  readonly event: Extract<StreamEvent, { kind: 'offline' }>;
  /** As for a line: shown here when the link went down before the stream gave it back. */
  shown: boolean;
}

export type PendingItem = PendingLine | PendingLeave;

/**
 * This node's queue into the stream, in q order. While the link is up it holds a turn's lines
 * for one batch; while it is down it is the outage buffer: at most `limit` items, the oldest
 * dropped past that (`dropped` counts them, `onFull` is told once per outage).
 */
export class Pending {
  private items: PendingItem[] = [];
  private head = 0;
  /** Lines dropped since the last `resetDropped()`. */
  dropped = 0;

  constructor(
    private readonly limit: number,
    private readonly onFull: () => void,
  ) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`the outage buffer must hold at least 1 event, got ${limit}`);
  }

  get size(): number {
    return this.items.length - this.head;
  }

  add(item: PendingItem): void {
    this.items.push(item);
    this.bound();
  }

  /** Every item, oldest first, left in place. */
  all(): readonly PendingItem[] {
    return this.items.slice(this.head);
  }

  /** The oldest item, left in place. */
  peek(): PendingItem | undefined {
    return this.items[this.head];
  }

  /** Removes and returns the oldest lines, at most `max`, up to the first leave. */
  takeLines(max: number): PendingLine[] {
    const out: PendingLine[] = [];
    while (out.length < max && this.head < this.items.length) {
      const item = this.items[this.head];
      if (item.kind !== 'say') break;
      out.push(item);
      this.head++;
    }
    this.compact();
    return out;
  }

  /** Removes the oldest item. */
  shift(): PendingItem | undefined {
    const item = this.items[this.head];
    if (item !== undefined) this.head++;
    this.compact();
    return item;
  }

  /** Items that failed to go in, back in q order (they are older than most of what waits). */
  putBack(failed: readonly PendingItem[]): void {
    if (failed.length === 0) return;
    const rest = this.items.slice(this.head);
    const merged: PendingItem[] = [];
    let i = 0;
    let j = 0;
    while (i < failed.length || j < rest.length) {
      if (j >= rest.length || (i < failed.length && failed[i].q < rest[j].q)) merged.push(failed[i++]);
      else merged.push(rest[j++]);
    }
    this.items = merged;
    this.head = 0;
    this.bound();
  }

  /** Returns how many were dropped since the last call, and starts counting again. */
  resetDropped(): number {
    const dropped = this.dropped;
    this.dropped = 0;
    return dropped;
  }

  private bound(): void {
    if (this.size <= this.limit) return;
    if (this.dropped === 0) this.onFull();
    const over = this.size - this.limit;
    this.head += over;
    this.dropped += over;
    this.compact();
  }

  private compact(): void {
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }
}

export interface ReaderOptions {
  readonly redis: Redis;
  readonly key: string;
  /** How long one XREAD waits for entries. */
  readonly blockMs: number;
  /** The pause after a failed read, and the longest wait for the link to come back. */
  readonly retryMs: number;
  /** Most entries one read returns. */
  readonly count?: number;
  readonly scheduler: SchedulerLike;
  /** Whether reading is allowed now (the link is up): entries read otherwise are read again later. */
  readonly linked: () => boolean;
  /** One entry, in stream order (malformed ones are skipped, their id still passed). */
  readonly entry: (id: string, entry: Entry | undefined) => void;
  /** After each batch. */
  readonly batch: () => void;
  /** A read failed. */
  readonly trouble: (err: unknown) => void;
}

type XreadReply = [string, [string, string[]][]][] | null;

/** Reads the log stream from a position on, for as long as it runs. */
export class StreamReader {
  /** The id of the last entry handed over; undefined until `start`. */
  private at: string | undefined;
  private running = false;
  private closed = false;
  private readonly poke$ = new Subject<void>();

  constructor(private readonly options: ReaderOptions) {}

  get position(): string | undefined {
    return this.at;
  }

  /** Starts reading after `from`, unless a position is already held (reading resumes from it). */
  start(from: string): void {
    this.at ??= from;
    if (this.running || this.closed) return;
    this.running = true;
    void this.run();
  }

  /** The link is back: stop waiting. */
  wake(): void {
    this.poke$.next();
  }

  stop(): void {
    this.closed = true;
    this.poke$.next();
    this.poke$.complete();
  }

  // One read at a time until stop(); each turn awaits a read or a pause, so it never spins.
  private async run(): Promise<void> {
    const o = this.options;
    while (!this.closed) {
      if (!o.linked() || this.at === undefined) {
        await this.pause();
        continue;
      }
      let reply: XreadReply;
      try {
        reply = await o.redis.xread('COUNT', o.count ?? 1000, 'BLOCK', o.blockMs, 'STREAMS', o.key, this.at);
      } catch (err) {
        if (this.closed) return;
        o.trouble(err);
        await this.pause();
        continue;
      }
      // Read while the link went down: dropped, and read again once it is back.
      if (this.closed || !o.linked() || reply === null) continue;
      for (const [, entries] of reply) {
        for (const [id, fields] of entries) {
          if (this.at !== undefined && compareIds(id, this.at) <= 0) continue;
          this.at = id;
          o.entry(id, fields[0] === 'e' && typeof fields[1] === 'string' ? decodeEntry(fields[1]) : undefined);
        }
      }
      o.batch();
    }
    this.running = false;
  }

  private pause(): Promise<unknown> {
    return firstValueFrom(race(timer(this.options.retryMs, this.options.scheduler), this.poke$), { defaultValue: undefined });
  }
}
