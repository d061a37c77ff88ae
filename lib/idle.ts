/** The idle kick as an operator: the reference's select/time.After loop, as one switchMap. */
import { OperatorFunction, SchedulerLike, asyncScheduler, map, startWith, switchMap, take, timer } from 'rxjs';

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
    activity$.pipe(
      startWith(undefined),
      switchMap(() => timer(ms, scheduler)),
      take(1),
      map(() => undefined),
    );
}

