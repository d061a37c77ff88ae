/** The page's reconnect back-off, in virtual time. */
import test from 'ava';
import { Observable, defer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { BackoffOptions, Link, PAGE_BACKOFF, backoffDelay, reconnect } from '../../lib/web/backoff';

const FIXED: BackoffOptions = { initialMs: 500, factor: 2, maxMs: 4000, jitter: 0, stableMs: 5000 };

function scheduler(t: { deepEqual(a: unknown, b: unknown): void }): TestScheduler {
  return new TestScheduler((actual, expected) => t.deepEqual(actual, expected));
}

/** A link that behaves as `attempts[n]` on its n-th subscription, and counts subscriptions. */
function scripted<T>(attempts: Observable<T>[]): { link$: Observable<T>; count: () => number } {
  let n = 0;
  return { link$: defer(() => attempts[Math.min(n++, attempts.length - 1)]), count: () => n };
}

const r = (attempt: number, delayMs: number): Link<string> => ({ kind: 'retry', attempt, delayMs, error: 'down' });
const v = (value: string): Link<string> => ({ kind: 'value', value });

test('delays double from initialMs up to maxMs', (t) => {
  t.deepEqual(
    [1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, FIXED)),
    [500, 1000, 2000, 4000, 4000, 4000],
  );
});

test('jitter takes away up to its share of the delay, never adds', (t) => {
  const o = { ...FIXED, jitter: 0.5 };
  t.is(backoffDelay(3, { ...o, random: () => 0 }), 2000);
  t.is(backoffDelay(3, { ...o, random: () => 0.5 }), 1500);
  t.is(backoffDelay(3, { ...o, random: () => 0.999999 }), 1000);
  for (let i = 0; i < 200; i++) {
    const d = backoffDelay(2, { ...PAGE_BACKOFF });
    t.true(d > PAGE_BACKOFF.initialMs * 2 * (1 - PAGE_BACKOFF.jitter) - 1 && d <= PAGE_BACKOFF.initialMs * 2);
  }
});

test('a refused link is retried after 500, 1000, 2000 ms, and its values pass once it is up', (t) => {
  scheduler(t).run(({ cold, expectObservable }) => {
    const { link$ } = scripted([cold<string>('#', {}, 'down'), cold('#', {}, 'down'), cold('#', {}, 'down'), cold('a 99ms b')]);
    expectObservable(reconnect(link$, FIXED)).toBe('x 499ms y 999ms z 1999ms a 99ms b', {
      x: r(1, 500),
      y: r(2, 1000),
      z: r(3, 2000),
      a: v('a'),
      b: v('b'),
    });
  });
});

test('retry notices say which attempt and how long', (t) => {
  scheduler(t).run(({ cold, expectObservable }) => {
    const { link$ } = scripted([cold<string>('#', {}, 'down'), cold('#', {}, 'down'), cold('a')]);
    expectObservable(reconnect(link$, FIXED)).toBe('x 499ms y 999ms a', { x: r(1, 500), y: r(2, 1000), a: v('a') });
  });
});

test('a link that drops soon after coming up keeps growing the delay (no tight loop)', (t) => {
  scheduler(t).run(({ cold, expectObservable }) => {
    // Up, then down 100 ms later, again and again: e.g. a full server that says so and closes.
    const { link$ } = scripted([cold<string>('a 99ms #', { a: 'a' }, 'down')]);
    expectObservable(reconnect(link$, FIXED), '^ 2000ms !').toBe('a 99ms x 499ms a 99ms y 999ms a 99ms z', {
      a: v('a'),
      x: r(1, 500),
      y: r(2, 1000),
      z: r(3, 2000),
    });
  });
});

test('a link that stayed up for stableMs starts the delays over when it drops', (t) => {
  scheduler(t).run(({ cold, expectObservable }) => {
    const { link$ } = scripted([
      cold<string>('#', {}, 'down'),
      cold('#', {}, 'down'),
      cold('a 4999ms #', { a: 'a' }, 'down'), // up for stableMs: healthy
      cold('#', {}, 'down'),
      cold('b'),
    ]);
    expectObservable(reconnect(link$, FIXED)).toBe('x 499ms y 999ms a 4999ms x 499ms y 999ms b', {
      x: r(1, 500),
      y: r(2, 1000),
      a: v('a'),
      b: v('b'),
    });
  });
});

test('completing the link ends it for good: no retry', (t) => {
  scheduler(t).run(({ cold, expectObservable, flush }) => {
    const { link$, count } = scripted([cold<string>('a 9ms |'), cold('b')]);
    expectObservable(reconnect(link$, FIXED)).toBe('a 9ms |', { a: v('a') });
    flush();
    t.is(count(), 1);
  });
});

test('after maxRetries failures in a row the error is passed on', (t) => {
  scheduler(t).run(({ cold, expectObservable }) => {
    const { link$ } = scripted([cold<string>('#', {}, 'down')]);
    expectObservable(reconnect(link$, { ...FIXED, maxRetries: 2 })).toBe('x 499ms y 999ms #', { x: r(1, 500), y: r(2, 1000) }, 'down');
  });
});

test('unsubscribing cancels a pending retry', (t) => {
  scheduler(t).run(({ cold, expectObservable, flush }) => {
    const { link$, count } = scripted([cold<string>('#', {}, 'down')]);
    expectObservable(reconnect(link$, FIXED), '^ 300ms !').toBe('x', { x: r(1, 500) });
    flush();
    t.is(count(), 1);
  });
});
