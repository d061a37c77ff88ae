/**
 * The brute-force limit on password checks: at most `max` failed attempts per key (an account,
 * an IP) in any sliding window of `windowMs` (5 in 15 minutes by default). An attempt is counted
 * when it starts, before the slow password check, and forgiven if it succeeds: so a crowd of
 * parallel attempts cannot all pass the check before the first failure is recorded. Clocked by
 * an RxJS scheduler, so the window is tested in virtual time; `RedisLimiter`
 * (./redis-accounts.ts) keeps the same counts in Redis for every node.
 */
import { SchedulerLike, asyncScheduler } from 'rxjs';
import type { Answer } from '../hub';

export interface LimitOptions {
  /** Failed attempts allowed per key in one window. */
  readonly max: number;
  readonly windowMs: number;
}

export const LIMIT_DEFAULTS: LimitOptions = { max: 5, windowMs: 15 * 60_000 };

/** An attempt let through: hand it back to `forgive` if the password was right. */
export interface Attempt {
  readonly keys: readonly string[];
  readonly token: string;
}

/** Let through (and counted), or refused until `retryAfterMs` from now. */
export type AttemptResult = { readonly ok: true; readonly attempt: Attempt } | { readonly ok: false; readonly retryAfterMs: number };

export interface AttemptLimiter {
  /** Counts an attempt against every key, all or none: refused if any key is at its limit. */
  attempt(keys: readonly string[]): Answer<AttemptResult>;
  /** The attempt succeeded: it no longer counts as a failure. */
  forgive(attempt: Attempt): void;
}

/** The limiter's keys for one login: the account (by name key) and the client's IP. */
export function attemptKeys(nameKey: string, ip: string): string[] {
  return [`account:${nameKey}`, `ip:${ip}`];
}

interface Mark {
  readonly at: number;
  readonly token: string;
}

/**
 * In this process: per key, the times of its counted attempts (at most `max` are ever kept).
 * Keys whose attempts are all older than the window are dropped as they are met, and the whole
 * map is swept when it grows past `maxKeys`, so an attacker rotating names or addresses makes it
 * no bigger than that.
 */
export class MemoryLimiter implements AttemptLimiter {
  private readonly marks = new Map<string, Mark[]>();
  private readonly limit: LimitOptions;
  private readonly scheduler: SchedulerLike;
  private readonly maxKeys: number;
  private tokens = 0;

  constructor(options: Partial<LimitOptions> & { readonly scheduler?: SchedulerLike; readonly maxKeys?: number } = {}) {
    this.limit = { max: options.max ?? LIMIT_DEFAULTS.max, windowMs: options.windowMs ?? LIMIT_DEFAULTS.windowMs };
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.maxKeys = options.maxKeys ?? 100_000;
  }

  attempt(keys: readonly string[]): AttemptResult {
    const now = this.scheduler.now();
    let retryAfterMs = 0;
    for (const key of keys) {
      const live = this.live(key, now);
      // Full: refused until its oldest counted attempt leaves the window.
      if (live.length >= this.limit.max) retryAfterMs = Math.max(retryAfterMs, live[0].at + this.limit.windowMs - now);
    }
    if (retryAfterMs > 0) return { ok: false, retryAfterMs };
    const token = String(++this.tokens);
    for (const key of keys) {
      const live = this.live(key, now);
      live.push({ at: now, token });
      this.marks.set(key, live);
    }
    if (this.marks.size > this.maxKeys) this.sweep(now);
    return { ok: true, attempt: { keys: [...keys], token } };
  }

  forgive(attempt: Attempt): void {
    for (const key of attempt.keys) {
      const marks = this.marks.get(key);
      if (!marks) continue;
      const left = marks.filter((m) => m.token !== attempt.token);
      if (left.length > 0) this.marks.set(key, left);
      else this.marks.delete(key);
    }
  }

  /** How many keys are held (for the bound's test). */
  get size(): number {
    return this.marks.size;
  }

  /** The key's attempts still inside the window, oldest first (a key with none is forgotten). */
  private live(key: string, now: number): Mark[] {
    const marks = this.marks.get(key);
    if (!marks) return [];
    const live = marks.filter((m) => m.at + this.limit.windowMs > now);
    if (live.length === 0) this.marks.delete(key);
    else if (live.length !== marks.length) this.marks.set(key, live);
    return live;
  }

  private sweep(now: number): void {
    for (const key of [...this.marks.keys()]) this.live(key, now);
    // Still too many live keys: forget the ones seen first (the Map keeps insertion order).
    for (const key of this.marks.keys()) {
      if (this.marks.size <= this.maxKeys) break;
      this.marks.delete(key);
    }
  }
}
