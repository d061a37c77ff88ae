// The light operators of lib/relay.ts, against the RxJS operators they stand in for.
import test from 'ava';
import fc from 'fast-check';
import { NEVER, Observable, OperatorFunction, Subject, VirtualTimeScheduler, concatMap, of, timer } from 'rxjs';
import { concatMapNow, feed, mergeWhile } from '../lib/relay';
import { marbles } from './helpers/marbles';

test('concatMapNow: arrays at once, streams in turn, in the order the values came, like concatMap', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, cold, expectObservable }) => {
    const slow = cold('--x|');
    const project = (v: string): readonly string[] | Observable<string> => (v === 's' ? slow : [v, v.toUpperCase()]);
    const source = hot('a-s-b--c|');
    // a at 0; s at 2 answers x at 4 and ends at 5; b (4) waits for it; c at 7; the end at 8.
    expectObservable(source.pipe(concatMapNow(project))).toEqual(source.pipe(concatMap(project)));
  });
});

test('concatMapNow: the first value goes ahead of the source, which is subscribed at once and waits behind it', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
    const lines = hot('-a-b--------|');
    const project = (v: string): readonly string[] | Observable<string> => (v === 'J' ? cold('----(j|)') : [v]);
    expectObservable(lines.pipe(concatMapNow(project, { value: 'J' }))).toBe('----(jab)---|');
    expectSubscriptions(lines.subscriptions).toBe('^-----------!');
  });
});

test('concatMapNow: a throwing project, an erroring inner and an erroring source end the output with the error', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, cold, expectObservable }) => {
    const boom = (v: string): readonly string[] => {
      if (v === 'b') throw new Error('project');
      return [v];
    };
    expectObservable(hot('-a-b-c').pipe(concatMapNow(boom))).toBe('-a-#', undefined, new Error('project'));
    expectObservable(hot('-a-b-c').pipe(concatMapNow((v) => (v === 'b' ? cold('-#') : [v])))).toBe('-a--#');
    expectObservable(hot('-a-#').pipe(concatMapNow((v) => [v]))).toBe('-a-#');
  });
});

test('concatMapNow: unsubscribing tears down the running inner and the source', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
    const inner = cold('-----x|');
    const source = hot('-a---');
    expectObservable(source.pipe(concatMapNow(() => inner)), '^--!').toBe('---');
    expectSubscriptions(inner.subscriptions).toBe('-^-!');
    expectSubscriptions(source.subscriptions).toBe('^--!');
  });
});

test('property: concatMapNow emits what concatMap emits, in the same order and at the same times, for any mix of at-once and later answers', (t) => {
  type Value = readonly [count: number, delay: number, at: number];
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: -1, max: 3 }), fc.integer({ min: 0, max: 10 })), { maxLength: 30 }),
      (values) => {
        const run = (op: (project: (v: Value) => readonly string[] | Observable<string>) => OperatorFunction<Value, string>) => {
          const scheduler = new VirtualTimeScheduler();
          const seen: string[] = [];
          let completedAt = -1;
          const input = new Subject<Value>();
          // delay -1: answered now (an array); otherwise a stream that answers that many virtual ms later.
          const project = ([n, delay]: Value): readonly string[] | Observable<string> => {
            const items = Array.from({ length: n }, (_, i) => `${n}.${delay}.${i}`);
            return delay < 0 ? items : timer(delay, scheduler).pipe(concatMap(() => of(...items)));
          };
          const subscription = input.pipe(op(project)).subscribe({
            next: (x) => seen.push(`${x}@${scheduler.now()}`),
            complete: () => (completedAt = scheduler.now()),
          });
          for (const v of values) scheduler.schedule(() => input.next(v), v[2]);
          scheduler.schedule(() => input.complete(), 11);
          scheduler.flush();
          subscription.unsubscribe();
          return { seen, completedAt };
        };
        const ours = run((project) => concatMapNow(project));
        t.deepEqual(
          ours,
          run((project) => concatMap(project)),
        );
        t.true(ours.completedAt >= 11, 'completes once the source has and every answer is out');
      },
    ),
    { numRuns: 200 },
  );
});

test('mergeWhile: the others first, values mapped, ends with the main branch and runs `ended` just before', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, expectObservable }) => {
    const ended: string[] = [];
    const main = hot('--m--|');
    const other = hot('-o----o', { o: 1 });
    const out = mergeWhile<string>(main, [feed(other, (n) => `o${n}`), feed(NEVER, () => 'never')], () => ended.push('ended'));
    expectObservable(out).toBe('-am--|', { a: 'o1', m: 'm' });
    scheduler.flush();
    t.deepEqual(ended, ['ended']);
  });
});
