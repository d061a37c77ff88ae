// The hand-written operators behave like RxJS's: their exceptions become errors downstream.
import test from 'ava';
import { Subject } from 'rxjs';
import { operate } from '../lib/operate';
import { rateLimit } from '../lib/rate-limit';
import { splitLines } from '../lib/lines';
import { marbles } from './helpers/marbles';

test('operate: a throw in next becomes the error, and the source is unsubscribed', (t) => {
  marbles(t).run(({ cold, expectObservable, expectSubscriptions }) => {
    const source = cold('-a-b-c-|');
    const failing = source.pipe(
      operate<string, string>((subscriber) => ({
        next(value) {
          if (value === 'b') throw new Error('bad b');
          subscriber.next(value.toUpperCase());
        },
      })),
    );
    expectObservable(failing).toBe('-A-#', { A: 'A' }, new Error('bad b'));
    expectSubscriptions(source.subscriptions).toBe('^--!');
  });
});

test('operate: a throw in complete becomes the error; finalize runs once on teardown', (t) => {
  let finalized = 0;
  const errors: unknown[] = [];
  const source = new Subject<number>();
  const subscription = source
    .pipe(
      operate<number, number>((subscriber) => ({
        next: (v) => subscriber.next(v),
        complete() {
          throw new Error('at the end');
        },
        finalize: () => finalized++,
      })),
    )
    .subscribe({ error: (err: unknown) => errors.push(err) });
  t.teardown(() => subscription.unsubscribe());
  source.next(1);
  source.complete();
  t.deepEqual(errors, [new Error('at the end')]);
  t.is(finalized, 1);
});

test('splitLines and rateLimit route their own exceptions to error too', (t) => {
  const errors: string[] = [];
  const bytes = new Subject<Uint8Array>();
  // Not a Uint8Array: the framing's own code throws on it.
  const framing = bytes.pipe(splitLines(16)).subscribe({ error: (err: unknown) => errors.push(`lines: ${(err as Error).constructor.name}`) });
  t.teardown(() => framing.unsubscribe());
  bytes.next(42 as unknown as Uint8Array);

  const lines = new Subject<string>();
  const brokenClock = {
    // Read for a line, inside `next`.
    now: () => {
      throw new Error('clock broke');
    },
    schedule: () => {
      throw new Error('unused');
    },
  };
  const limited = lines
    .pipe(rateLimit({ perSecond: 1, burst: 1, scheduler: brokenClock }))
    .subscribe({ error: (err: unknown) => errors.push(`rate: ${(err as Error).message}`) });
  t.teardown(() => limited.unsubscribe());
  lines.next('x');
  t.deepEqual(errors, ['lines: TypeError', 'rate: clock broke']);
});
