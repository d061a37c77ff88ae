/**
 * Reconnect with exponential back-off, as a stream: the web page's timing rule, here so that
 * it is tested in virtual time. `web/backoff.js` is the page's copy (no build step), kept in
 * step with this one by spec/web/backoff-copy.spec.ts.
 */
import { Observable, SchedulerLike, asyncScheduler, defer, map, retry, tap, throwError, timer } from 'rxjs';

export interface BackoffOptions {
  /** Delay before the first retry, in ms. */
  readonly initialMs: number;
  /** The delay grows by this factor each failure in a row... */
  readonly factor: number;
  /** ...up to this, in ms. */
  readonly maxMs: number;
  /** Share of each delay taken away at random (0: none, 0.5: up to half), so that many
   *  pages dropped together by a restart do not all come back in the same instant. */
  readonly jitter: number;
  /** A link that stayed up this long was healthy: its failure starts the delays over. */
  readonly stableMs: number;
  /** Failures in a row after which to give up (the error is passed on). */
  readonly maxRetries?: number;
  /** In [0, 1); Math.random by default. */
  readonly random?: () => number;
}

/** What the page uses. */
export const PAGE_BACKOFF: BackoffOptions = { initialMs: 500, factor: 2, maxMs: 15_000, jitter: 0.5, stableMs: 5_000 };

/** The delay before retry number `failures` (1 for the first failure). */
export function backoffDelay(failures: number, options: BackoffOptions): number {
  const random = options.random ?? Math.random;
  const base = Math.min(options.maxMs, options.initialMs * options.factor ** (failures - 1));
  return Math.round(base * (1 - options.jitter * random()));
}

/** A value of the link, or notice of a retry about to be made. */
export type Link<T> =
  { readonly kind: 'value'; readonly value: T } | { readonly kind: 'retry'; readonly attempt: number; readonly delayMs: number; readonly error: unknown };

/**
 * Subscribes to `link$` and, each time it errors, again after a growing delay; its values
 * pass through. Completing ends for good (the page completes its link after a kick).
 *
 * ```
 * link$ (1st):  #                        (refused)
 * link$ (2nd):              #            (refused)
 * link$ (3rd):                      a--  (up)
 * output:       r1---500ms--r2--1000ms--a--   (r: retry notices, initialMs 500, no jitter)
 * ```
 */
export function reconnect<T>(link$: Observable<T>, options: BackoffOptions, scheduler: SchedulerLike = asyncScheduler): Observable<Link<T>> {
  return new Observable<Link<T>>((subscriber) => {
    let failures = 0;
    let upSince: number | undefined;
    return defer(() => {
      upSince = undefined;
      return link$;
    })
      .pipe(
        tap(() => {
          if (upSince === undefined) upSince = scheduler.now();
        }),
        map((value): Link<T> => ({ kind: 'value', value })),
        retry({
          delay: (error: unknown) => {
            if (upSince !== undefined && scheduler.now() - upSince >= options.stableMs) failures = 0;
            failures++;
            if (failures > (options.maxRetries ?? Infinity)) return throwError(() => error);
            const delayMs = backoffDelay(failures, options);
            subscriber.next({ kind: 'retry', attempt: failures, delayMs, error });
            return timer(delayMs, scheduler);
          },
        }),
      )
      .subscribe(subscriber);
  });
}
