import test from 'ava';
import fc from 'fast-check';
import { OperatorFunction, SchedulerLike, Subject, VirtualTimeScheduler, map, startWith, switchMap, take, timer } from 'rxjs';
import { idle, idleKick } from '../lib/idle';
import { marbles } from './helpers/marbles';

test('emits after the given silence from subscription, then completes', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, expectObservable }) => {
    expectObservable(hot('-').pipe(idle(60_000, scheduler))).toBe('60s (x|)', { x: undefined });
  });
});

test('every value restarts the countdown', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, expectObservable }) => {
    // Activity at 59 s postpones the kick to 119 s.
    const activity = hot('59s a', { a: 'line' });
    expectObservable(activity.pipe(idle(60_000, scheduler))).toBe('119s (x|)', { x: undefined });
  });
});

test('values closer than the timeout never let it fire', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, expectObservable }) => {
    const activity = hot('5ms a 4ms a 4ms a 4ms a', { a: 1 });
    // Activity at 5, 10, 15 and 20 ms (each value takes a frame): fires 10 ms after the last.
    expectObservable(activity.pipe(idle(10, scheduler))).toBe('30ms (x|)', { x: undefined });
  });
});

test('a line just before the deadline postpones the kick to a full timeout after it, exactly', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, expectObservable }) => {
    const activity = hot('10s a 499ms a', { a: 1 });
    expectObservable(activity.pipe(idle(60_000, scheduler))).toBe('70500ms (x|)', { x: undefined });
  });
});

test('idleKick passes every value on, then emits the kick and completes', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, expectObservable, expectSubscriptions }) => {
    const lines = hot('-a-b 6ms c', { a: 1, b: 2, c: 3 });
    expectObservable(lines.pipe(idleKick(5, 'k', scheduler))).toBe('-a-b 4ms (k|)', { a: 1, b: 2, k: 'k' });
    expectSubscriptions(lines.subscriptions).toBe('^ 7ms !');
  });
});

test('idleKick passes errors and completion on, and stops its timer', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, expectObservable }) => {
    expectObservable(hot('-a-#', { a: 1 }).pipe(idleKick(5, 'k', scheduler))).toBe('-a-#', { a: 1 });
    expectObservable(hot('-a-|', { a: 1 }).pipe(idleKick(5, 'k', scheduler))).toBe('-a-|', { a: 1 });
  });
});

/** The definition: the reference's select/time.After loop as one switchMap (lib/idle.ts). */
const definition =
  (ms: number, scheduler: SchedulerLike): OperatorFunction<unknown, void> =>
  (activity$) =>
    activity$.pipe(
      startWith(undefined),
      switchMap(() => timer(ms, scheduler)),
      take(1),
      map(() => undefined),
    );

/** When `operator` kicks (virtual ms), for lines at `times`. */
function kickTime(operator: (scheduler: SchedulerLike) => OperatorFunction<void, void>, times: readonly number[]): number {
  const scheduler = new VirtualTimeScheduler();
  const activity = new Subject<void>();
  let kickedAt = -1;
  // Ends by itself: both emit once and complete.
  // eslint-disable-next-line rxjs-x/no-ignored-subscription -- completes after its one kick
  activity.pipe(operator(scheduler)).subscribe(() => (kickedAt = scheduler.now()));
  for (const at of [...times].sort((a, b) => a - b)) scheduler.schedule(() => activity.next(), at);
  scheduler.flush();
  return kickedAt;
}

// Timeouts of a whole number of ms and a half: no line can fall on the very instant of a
// deadline, where which of the two comes first is the scheduler's order, not the operator's
// (the next test says what idle() does then).
test('property: idle() kicks at the very moment its switchMap definition does, for any activity', (t) => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 300_000 }), { maxLength: 200 }), fc.integer({ min: 1, max: 120_000 }), (times, whole) => {
      const ms = whole + 0.5;
      const ours = kickTime((scheduler) => idle(ms, scheduler), times);
      t.is(
        ours,
        kickTime((scheduler) => definition(ms, scheduler), times),
        `activity at ${times.join(',')} with ${ms} ms`,
      );
      const last = Math.max(0, ...times.filter((at) => at < ours));
      t.true(ours >= last + ms, 'early');
      t.false(
        times.some((at) => at > last && at < ours),
        'a line went unheeded',
      );
    }),
    { numRuns: 300 },
  );
});

test('a line on the very instant of the deadline is too late: the kick comes then', (t) => {
  t.is(
    kickTime((scheduler) => idle(6, scheduler), [0, 6, 100]),
    6,
  );
});
