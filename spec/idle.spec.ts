import test from 'ava';
import fc from 'fast-check';
import { Subject, VirtualTimeScheduler } from 'rxjs';
import { IDLE_SLACK, idle } from '../lib/idle';
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

test('a line closer than the slack after the last restart is kept, and restarts the countdown at the end of the slack', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, expectObservable }) => {
    // Slack for 60 s: 1 s. Lines at 10 s and 10.5 s: the first restarts at once, the second at
    // 11 s (the end of the slack), so the kick comes at 71 s, half a second "late", never early.
    const activity = hot('10s a 499ms a', { a: 1 });
    expectObservable(activity.pipe(idle(60_000, scheduler))).toBe('71s (x|)', { x: undefined });
  });
});

test('property: after any activity, the kick comes after the timeout of silence, at most the slack later', (t) => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 300_000 }), { maxLength: 200 }), fc.integer({ min: 60, max: 120_000 }), (times, ms) => {
      const scheduler = new VirtualTimeScheduler();
      const activity = new Subject<void>();
      let kickedAt = -1;
      // Ends by itself: idle() emits once and completes.
      // eslint-disable-next-line rxjs-x/no-ignored-subscription -- completes after its one kick
      activity.pipe(idle(ms, scheduler)).subscribe(() => (kickedAt = scheduler.now()));
      // Lines stop being sent once the user was kicked.
      const sent: number[] = [];
      for (const at of [...times].sort((a, b) => a - b)) {
        scheduler.schedule(() => {
          if (kickedAt < 0) {
            sent.push(at);
            activity.next();
          }
        }, at);
      }
      scheduler.flush();
      const last = sent.length > 0 ? sent[sent.length - 1] : 0;
      t.true(kickedAt >= last + ms, `kicked at ${kickedAt}, ${ms} ms after ${last}: early`);
      t.true(kickedAt <= last + ms + ms * IDLE_SLACK, `kicked at ${kickedAt}, ${ms} ms after ${last}: later than the slack`);
      // No silence of `ms` went unpunished: every gap before the kick was shorter than ms.
      let previous = 0;
      for (const at of sent) {
        t.true(at - previous < ms + ms * IDLE_SLACK, `a gap of ${at - previous} ms went by without a kick`);
        previous = at;
      }
    }),
    { numRuns: 300 },
  );
});
