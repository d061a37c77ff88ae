/**
 * Flood control as an operator: a token bucket per connection, in the scheduler's time
 * (so tests run it in virtual time).
 */
import { OperatorFunction, SchedulerLike, asyncScheduler } from 'rxjs';
import { operate } from './operate';

/** Emitted once when a client starts losing lines to the limit (one notice per burst). */
export const RATE_LIMITED = Symbol('rate limited');
/** Emitted, then completion, when dropping goes on long enough to count as abuse. */
export const FLOODING = Symbol('flooding');
export type RateSignal = typeof RATE_LIMITED | typeof FLOODING;

export interface RateLimitOptions {
  /** Tokens (lines) added per second; 0 disables the limit. */
  readonly perSecond: number;
  /** Bucket size: lines that may arrive at once. */
  readonly burst: number;
  /** Lines dropped in one burst of abuse before the client is cut off; default 10 × burst. */
  readonly dropsBeforeKick?: number;
  readonly scheduler?: SchedulerLike;
  /** Called for every line dropped (a metric: each one counts, not one per notice). */
  readonly onDrop?: () => void;
}

/**
 * Passes values while the bucket has tokens. A value with no token is dropped; the first
 * drop of a burst emits `RATE_LIMITED`. A burst ends when the bucket has refilled completely.
 * After `dropsBeforeKick` drops in one burst it emits `FLOODING` and completes.
 *
 * ```
 * rate 1/s, burst 2
 * lines:  abc-------d---
 * output: abR-------d---       (R: RATE_LIMITED; c dropped)
 * ```
 */
export function rateLimit<T>(options: RateLimitOptions): OperatorFunction<T, T | RateSignal> {
  if (!(options.perSecond > 0)) return (source) => source;
  const scheduler = options.scheduler ?? asyncScheduler;
  return operate<T, T | RateSignal>((subscriber) => {
    const bucket = new TokenBucket(options.perSecond, options.burst, options.onDrop, options.dropsBeforeKick);
    return {
      next(value) {
        const verdict = bucket.take(scheduler.now());
        if (verdict === PASS) subscriber.next(value);
        else if (verdict !== DROPPED) subscriber.next(verdict);
        if (verdict === FLOODING) subscriber.complete();
      },
    };
  });
}

/** A line that has its token: it passes. */
export const PASS = Symbol('pass');
/** A line dropped without a notice (one was given earlier in the same burst). */
export const DROPPED = Symbol('dropped');

/**
 * One connection's bucket: what `rateLimit` does with each line, as a verdict (the session
 * keeps one of these instead of an operator in its pipeline). `RATE_LIMITED`: dropped, and the
 * first drop of its burst; `FLOODING`: dropped, and the user is to be cut off.
 * With `dropsBeforeKick` 1 the first drop is both: `FLOODING` wins (the notice would be the
 * line before the kick's).
 */
export class TokenBucket {
  private readonly perMs: number;
  private readonly dropsBeforeKick: number;
  private tokens: number;
  private last: number | undefined;
  private drops = 0; // in the current burst of abuse

  /** The rateLimit options, one by one (a connection keeps no options object for them). */
  constructor(
    perSecond: number,
    private readonly burst: number,
    private readonly onDrop?: () => void,
    dropsBeforeKick = burst * 10,
  ) {
    this.perMs = perSecond / 1000;
    this.dropsBeforeKick = dropsBeforeKick;
    this.tokens = burst;
  }

  /** The verdict on a line arriving at `now` (the scheduler's time). */
  take(now: number): typeof PASS | typeof DROPPED | RateSignal {
    const { burst } = this;
    this.tokens = Math.min(burst, this.tokens + (now - (this.last ?? now)) * this.perMs);
    this.last = now;
    if (this.tokens >= burst) this.drops = 0; // calmed down: a new burst may be noticed again
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return PASS;
    }
    this.drops += 1;
    this.onDrop?.();
    if (this.drops >= this.dropsBeforeKick) return FLOODING;
    return this.drops === 1 ? RATE_LIMITED : DROPPED;
  }
}
