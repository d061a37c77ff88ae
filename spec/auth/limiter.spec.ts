/**
 * The brute-force limit (lib/auth/limiter.ts) in virtual time: 5 counted attempts per key in
 * any 15 minutes, all keys or none, forgiven on success, and a bounded memory.
 */
import test from 'ava';
import { TestScheduler } from 'rxjs/testing';
import { map } from 'rxjs';
import { LIMIT_DEFAULTS, MemoryLimiter, attemptKeys } from '../../lib/auth/limiter';

const scheduler = (t: import('ava').ExecutionContext) => new TestScheduler((actual, expected) => t.deepEqual(actual, expected));

test('defaults: 5 attempts in 15 minutes', (t) => {
  t.deepEqual(LIMIT_DEFAULTS, { max: 5, windowMs: 15 * 60_000 });
});

test('the 6th failed attempt within 15 minutes is refused until the first leaves the window', (t) => {
  const ts = scheduler(t);
  ts.run(({ hot, expectObservable }) => {
    const limiter = new MemoryLimiter({ scheduler: ts });
    const attempts$ = hot('abcdef 899993ms g h');
    const out$ = attempts$.pipe(
      map(() => {
        const r = limiter.attempt(['account:bob']);
        return r.ok ? 'o' : `x${r.retryAfterMs}`;
      }),
    );
    expectObservable(out$).toBe('abcdef 899993ms g h', { a: 'o', b: 'o', c: 'o', d: 'o', e: 'o', f: 'x899995', g: 'x1', h: 'o' });
  });
});

test('sliding: spread-out failures free one slot at a time', (t) => {
  const ts = scheduler(t);
  ts.run(({ hot, expectObservable }) => {
    const limiter = new MemoryLimiter({ scheduler: ts });
    // Failures at 0, 1, 2, 3 and 4 minutes; at 5 minutes the 6th is refused; at 15 minutes
    // the one from minute 0 has left, so one more gets through, and the next is refused again.
    const attempts$ = hot('a 59999ms b 59999ms c 59999ms d 59999ms e 59999ms f 599999ms g h');
    const out$ = attempts$.pipe(map(() => (limiter.attempt(['ip:10.0.0.1']).ok ? 'o' : 'x')));
    expectObservable(out$).toBe('a 59999ms b 59999ms c 59999ms d 59999ms e 59999ms f 599999ms g h', {
      a: 'o',
      b: 'o',
      c: 'o',
      d: 'o',
      e: 'o',
      f: 'x',
      g: 'o',
      h: 'x',
    });
  });
});

test('one IP trying many names is stopped by its IP; one name tried from many IPs by its name', (t) => {
  scheduler(t).run(({ hot, expectObservable }) => {
    const limiter = new MemoryLimiter();
    const fromOneIp$ = hot('abcdef', { a: 'n1', b: 'n2', c: 'n3', d: 'n4', e: 'n5', f: 'n6' }).pipe(
      map((name) => (limiter.attempt(attemptKeys(name, '10.0.0.1')).ok ? 'o' : 'x')),
    );
    expectObservable(fromOneIp$).toBe('abcdef', { a: 'o', b: 'o', c: 'o', d: 'o', e: 'o', f: 'x' });
  });
  scheduler(t).run(({ hot, expectObservable }) => {
    const limiter = new MemoryLimiter();
    const fromManyIps$ = hot('abcdef', { a: '1', b: '2', c: '3', d: '4', e: '5', f: '6' }).pipe(
      map((ip) => (limiter.attempt(attemptKeys('bob', `10.0.0.${ip}`)).ok ? 'o' : 'x')),
    );
    expectObservable(fromManyIps$).toBe('abcdef', { a: 'o', b: 'o', c: 'o', d: 'o', e: 'o', f: 'x' });
  });
});

test('a refused attempt counts against no key; a forgiven (successful) one no longer counts', (t) => {
  scheduler(t).run(() => {
    const limiter = new MemoryLimiter({ max: 2 });
    t.true(limiter.attempt(['account:bob', 'ip:a']).ok);
    t.true(limiter.attempt(['account:bob', 'ip:b']).ok);
    // bob is full: refused, and ip:c is not charged for it.
    t.false(limiter.attempt(['account:bob', 'ip:c']).ok);
    t.true(limiter.attempt(['account:carol', 'ip:c']).ok);
    t.true(limiter.attempt(['account:dave', 'ip:c']).ok);
    t.false(limiter.attempt(['account:erin', 'ip:c']).ok);
    // Success gives the attempt back.
    const right = limiter.attempt(['account:frank', 'ip:d']);
    if (!right.ok) return t.fail('expected the attempt to pass');
    limiter.forgive(right.attempt);
    const again = limiter.attempt(['account:frank', 'ip:d']);
    t.true(again.ok);
    t.true(limiter.attempt(['account:frank', 'ip:e']).ok);
    t.false(limiter.attempt(['account:frank', 'ip:f']).ok, 'two counted for frank: the forgiven one is gone, the other two count');
  });
});

test('memory is bounded: at most maxKeys are held, and expired keys are swept', (t) => {
  const ts = scheduler(t);
  ts.run(({ hot, expectObservable }) => {
    const limiter = new MemoryLimiter({ maxKeys: 10, windowMs: 1000, scheduler: ts });
    const sizes$ = hot('a 999ms b 1000ms c', { a: 50, b: 50, c: 1 }).pipe(
      map((n) => {
        for (let i = 0; i < n; i++) limiter.attempt([`ip:${ts.now()}-${i}`]);
        return limiter.size;
      }),
    );
    // a: 50 new keys, the oldest forgotten past 10; b: still in the window, the cap holds;
    // c: every earlier key has expired, and the sweep leaves only the new one.
    expectObservable(sizes$).toBe('a 999ms b 1000ms c', { a: 10, b: 10, c: 1 });
  });
});
