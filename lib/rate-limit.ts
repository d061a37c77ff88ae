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
  const { perSecond, burst } = options;
  if (!(perSecond > 0)) return (source) => source;
  const scheduler = options.scheduler ?? asyncScheduler;
  const dropsBeforeKick = options.dropsBeforeKick ?? burst * 10;
  const perMs = perSecond / 1000;
  return operate<T, T | RateSignal>((subscriber) => {
    let tokens = burst;
    let last = scheduler.now();
    let drops = 0; // in the current burst of abuse
    return {
      next(value) {
        const now = scheduler.now();
        tokens = Math.min(burst, tokens + (now - last) * perMs);
        last = now;
        if (tokens >= burst) drops = 0; // calmed down: a new burst may be noticed again
        if (tokens >= 1) {
          tokens -= 1;
          subscriber.next(value);
          return;
        }
        drops += 1;
        options.onDrop?.();
        if (drops === 1) subscriber.next(RATE_LIMITED);
        if (drops >= dropsBeforeKick) {
          subscriber.next(FLOODING);
          subscriber.complete();
        }
      },
    };
  });
}
