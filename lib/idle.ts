/**
 * The idle kick: the reference's select/time.After loop. Its definition is one switchMap,
 *
 *     activity$.pipe(startWith(undefined), switchMap(() => timer(ms, scheduler)), take(1))
 *
 * (spec/idle.spec.ts checks the operators below against it, frame for frame, in virtual time).
 * Written that way it costs every connection eight subscriptions (about 9 KB: measured in
 * BENCHMARKS.md) and every line a timer cancelled and another made. So it is written as
 * what that switchMap computes: a deadline, moved by each value, and one timer per connection
 * that, when it fires early (activity since), sleeps again until the deadline. A line costs an
 * assignment; a quiet connection holds one timer (Node keeps the timers of one duration in one
 * list, so 10,000 connections' kicks are one list, not 10,000 entries in a heap).
 */
import { Observable, OperatorFunction, SchedulerAction, SchedulerLike, asyncScheduler } from 'rxjs';
import { Relay } from './relay';

/** What the session puts in its command stream when the user has been silent too long. */
export const IDLE = Symbol('idle');

/**
 * Passes the source's values on; once `ms` have gone by without one (counted from
 * subscription), emits `kick` and completes.
 *
 * ```
 * lines:        --a-----b------------
 * idleKick(5):  --a-----b----k|          (5 frames after b)
 * ```
 */
export function idleKick<T, K>(ms: number, kick: K, scheduler: SchedulerLike = asyncScheduler): OperatorFunction<T, T | K> {
  return (source) =>
    new Observable<T | K>((out) => {
      let deadline = scheduler.now() + ms;
      const check = function (this: SchedulerAction<unknown>) {
        const wait = deadline - scheduler.now();
        if (wait > 0) {
          this.schedule(undefined, wait);
          return;
        }
        out.next(kick);
        out.complete();
      };
      out.add(scheduler.schedule(check, ms));
      return source.subscribe(
        new Relay<T>(
          (value) => {
            deadline = scheduler.now() + ms;
            out.next(value);
          },
          (err) => out.error(err),
          () => out.complete(),
        ),
      );
    });
}

/**
 * Emits once, after `ms` of silence from the source (counted from subscription, restarted by
 * every value), then completes.
 *
 * ```
 * activity: --a-----b--------------
 * idle(5):  ------------------x|       (5 frames after b)
 * ```
 */
export function idle<T>(ms: number, scheduler: SchedulerLike = asyncScheduler): OperatorFunction<T, void> {
  return (activity$) =>
    new Observable<void>((out) =>
      activity$.pipe(idleKick(ms, IDLE, scheduler)).subscribe(
        new Relay<T | typeof IDLE>(
          (value) => {
            if (value === IDLE) out.next();
          },
          (err) => out.error(err),
          () => out.complete(),
        ),
      ),
    );
}
