/** The idle kick as an operator: the reference's select/time.After loop, as one switchMap. */
import { OperatorFunction, SchedulerLike, asyncScheduler, map, startWith, switchMap, take, throttleTime, timer } from 'rxjs';

/** How late, as a fraction of the timeout, the kick may come: 1 s for 60 s. */
export const IDLE_SLACK = 1 / 60;

/**
 * Emits once, after `ms` of silence from the source (counted from subscription, restarted by
 * activity), then completes.
 *
 * ```
 * activity: --a-----b--------------
 * idle(5):  ------------------x|       (5 frames after b)
 * ```
 *
 * Restarting a timer costs a timer object and a timer-list insert and removal: with one
 * restart per line it was a quarter of the server's CPU for a thousand busy users. So the
 * activity is thinned first, to at most one restart per `ms * IDLE_SLACK` (leading and
 * trailing): the kick comes after `ms` of silence and at most `ms * IDLE_SLACK` later, never
 * early. An isolated line restarts the countdown at once.
 */
export function idle<T>(ms: number, scheduler: SchedulerLike = asyncScheduler): OperatorFunction<T, void> {
  return (activity$) =>
    activity$.pipe(
      throttleTime(ms * IDLE_SLACK, scheduler, { leading: true, trailing: true }),
      startWith(undefined),
      switchMap(() => timer(ms, scheduler)),
      take(1),
      map(() => undefined),
    );
}
