import test from 'ava';
import { FLOODING, RATE_LIMITED, rateLimit } from '../lib/rate-limit';
import { marbles } from './helpers/marbles';

const R = RATE_LIMITED;

test('passes a burst, drops the excess with one notice', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, expectObservable }) => {
    const lines = hot('(abcde)', { a: 'a', b: 'b', c: 'c', d: 'd', e: 'e' });
    expectObservable(lines.pipe(rateLimit({ perSecond: 1, burst: 2, scheduler }))).toBe('(abR)', { a: 'a', b: 'b', R });
  });
});

test('tokens come back at the rate: one line a second passes after the burst', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, expectObservable }) => {
    const lines = hot('(abc) 999ms d 499ms e 499ms f', { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6 });
    // c is dropped (notice); d at 1 s has a token; e at 1.5 s has half a token (dropped, but the
    // notice is not repeated in the same burst); f at 2 s has one again.
    expectObservable(lines.pipe(rateLimit({ perSecond: 1, burst: 2, scheduler }))).toBe('(abR) 999ms d 499ms - 499ms f', {
      a: 1,
      b: 2,
      R,
      d: 4,
      f: 6,
    });
  });
});

test('a new burst of abuse after the bucket refilled gets a new notice', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, expectObservable }) => {
    const lines = hot('(abc) 9s (def)', { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6 });
    expectObservable(lines.pipe(rateLimit({ perSecond: 1, burst: 2, scheduler }))).toBe('(abR) 9s (deR)', { a: 1, b: 2, d: 4, e: 5, R });
  });
});

test('sustained dropping is flooding: it ends the stream', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, expectObservable }) => {
    const lines = hot('(abcdef)', { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6 });
    expectObservable(lines.pipe(rateLimit({ perSecond: 1, burst: 1, dropsBeforeKick: 3, scheduler }))).toBe('(aRF|)', {
      a: 1,
      R,
      F: FLOODING,
    });
  });
});

test('a rate of 0 turns the limit off', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, expectObservable }) => {
    const lines = hot('(abcdef)', { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6 });
    expectObservable(lines.pipe(rateLimit({ perSecond: 0, burst: 1, scheduler }))).toBe('(abcdef)', { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6 });
  });
});

test('onDrop is called for every dropped line, not once per notice', (t) => {
  let drops = 0;
  marbles(t).run(({ cold, expectObservable }) => {
    const out = cold('abcde|').pipe(rateLimit({ perSecond: 1, burst: 2, onDrop: () => drops++ }));
    expectObservable(out).toBe('abR--|', { a: 'a', b: 'b', R: RATE_LIMITED });
  });
  // c, d and e were dropped under one notice.
  t.is(drops, 3);
});
