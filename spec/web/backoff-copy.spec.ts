/**
 * The page's copy of the back-off (web/backoff.js, plain callbacks) against the module
 * (lib/web/backoff.ts, RxJS): the same random scenarios, in virtual time, same timelines.
 */
import test from 'ava';
import fc from 'fast-check';
import { EMPTY, Observable, asyncScheduler, concat, defer, from, mergeMap, throwError, timer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { BackoffOptions, PAGE_BACKOFF, backoffDelay, reconnect } from '../../lib/web/backoff';

interface Clock {
  now(): number;
  schedule(fn: () => void, ms: number): () => void;
}
interface LinkCallbacks {
  value(v: string): void;
  error(e: unknown): void;
  complete(): void;
}
interface Observer {
  value(v: string): void;
  retry(r: { attempt: number; delayMs: number; error: unknown }): void;
  error(e: unknown): void;
  complete(): void;
}
interface BrowserBackoff {
  PAGE_BACKOFF: BackoffOptions;
  backoffDelay(failures: number, options: BackoffOptions): number;
  reconnect(connect: (link: LinkCallbacks) => () => void, options: BackoffOptions, observer: Observer, clock?: Clock): { stop(): void };
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the page's plain script (UMD, no types), loaded as node loads it
const copy = require('../../web/backoff.js') as BrowserBackoff;

type Attempt = { readonly kind: 'refused' } | { readonly kind: 'up'; readonly values: number; readonly downAfter: number; readonly end: 'error' | 'complete' };
type Entry = readonly [number, string];

// Inside TestScheduler.run(), the async scheduler runs in virtual time: its now() is the frame.
const frame = () => asyncScheduler.now();

const attempt = fc.oneof(
  fc.constant<Attempt>({ kind: 'refused' }),
  fc.record<Attempt & { kind: 'up' }>({
    kind: fc.constant('up'),
    values: fc.integer({ min: 1, max: 3 }),
    downAfter: fc.oneof(fc.constantFrom(0, 1000, 5000), fc.integer({ min: 0, max: 8000 })),
    end: fc.constantFrom<'error' | 'complete'>('error', 'error', 'error', 'complete'),
  }),
);

const options = fc.record({
  initialMs: fc.integer({ min: 1, max: 2000 }),
  factor: fc.constantFrom(1, 1.5, 2, 3),
  maxMs: fc.integer({ min: 1, max: 20000 }),
  jitter: fc.constantFrom(0, 0.25, 0.5, 1),
  stableMs: fc.oneof(fc.constantFrom(0, 1000, 5000), fc.integer({ min: 0, max: 6000 })),
  maxRetries: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
});

function randoms(values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length];
}

function runModule(script: Attempt[], o: BackoffOptions, rnd: number[]): Entry[] {
  const log: Entry[] = [];
  new TestScheduler(() => {}).run(({ flush }) => {
    let n = 0;
    const link$ = defer((): Observable<string> => {
      const a = script[Math.min(n, script.length - 1)];
      const id = n++;
      if (a.kind === 'refused') return throwError(() => new Error('down'));
      const values$ = from(Array.from({ length: a.values }, (_, i) => `v${id}.${i}`));
      return concat(values$, timer(a.downAfter).pipe(mergeMap(() => (a.end === 'error' ? throwError(() => new Error('down')) : EMPTY))));
    });
    const run = reconnect(link$, { ...o, random: randoms(rnd) }).subscribe({
      next: (l) => log.push([frame(), l.kind === 'value' ? l.value : `retry ${l.attempt} ${l.delayMs}`]),
      error: () => log.push([frame(), 'error']),
      complete: () => log.push([frame(), 'complete']),
    });
    flush();
    run.unsubscribe(); // over already when the script ends; a script that does not end stops here
  });
  return log;
}

function runCopy(script: Attempt[], o: BackoffOptions, rnd: number[]): Entry[] {
  const log: Entry[] = [];
  new TestScheduler(() => {}).run(({ flush }) => {
    const clock: Clock = {
      now: frame,
      schedule: (fn, ms) => {
        const sub = asyncScheduler.schedule(fn, ms);
        return () => sub.unsubscribe();
      },
    };
    let n = 0;
    const connect = (link: LinkCallbacks) => {
      const a = script[Math.min(n, script.length - 1)];
      const id = n++;
      if (a.kind === 'refused') {
        link.error('down');
        return () => {};
      }
      for (let i = 0; i < a.values; i++) link.value(`v${id}.${i}`);
      return clock.schedule(() => (a.end === 'error' ? link.error('down') : link.complete()), a.downAfter);
    };
    copy.reconnect(
      connect,
      { ...o, random: randoms(rnd) },
      {
        value: (v) => log.push([frame(), v]),
        retry: (r) => log.push([frame(), `retry ${r.attempt} ${r.delayMs}`]),
        error: () => log.push([frame(), 'error']),
        complete: () => log.push([frame(), 'complete']),
      },
      clock,
    );
    flush();
  });
  return log;
}

test('the page copy uses the same settings and delays as the module', (t) => {
  t.deepEqual(copy.PAGE_BACKOFF, PAGE_BACKOFF);
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 30 }), options, fc.double({ min: 0, max: 0.999, noNaN: true }), (failures, o, r) => {
      const random = () => r;
      t.is(copy.backoffDelay(failures, { ...o, random }), backoffDelay(failures, { ...o, random }));
    }),
  );
});

test('the page copy and the module give the same timeline for any run of failures', (t) => {
  fc.assert(
    fc.property(
      fc.array(attempt, { minLength: 1, maxLength: 8 }),
      options,
      fc.array(fc.double({ min: 0, max: 0.999, noNaN: true }), { minLength: 1, maxLength: 5 }),
      (script, o, rnd) => {
        // Always end: the last attempt completes, so both runs finish.
        const ending: Attempt[] = [...script, { kind: 'up', values: 1, downAfter: 0, end: 'complete' }];
        const expected = runModule(ending, o, rnd);
        const actual = runCopy(ending, o, rnd);
        t.true(expected.length > 0);
        t.deepEqual(actual, expected);
      },
    ),
    { numRuns: 200 },
  );
});
