import test from 'ava';
import { idle } from '../lib/idle';
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
