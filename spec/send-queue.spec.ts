import test from 'ava';
import { tap } from 'rxjs';
import { boundSendQueue } from '../lib/send-queue';
import { marbles } from './helpers/marbles';

test('passes lines while the queue is within the bound, then cuts the client off', (t) => {
  marbles(t).run(({ cold, expectObservable }) => {
    // The queue grows by each line's length as if the client never read.
    let queued = 0;
    const output = cold('-a-b-c-d-|', { a: 'xxxx', b: 'yyyy', c: 'zzzz', d: 'never' }).pipe(
      boundSendQueue(() => queued, 6),
      tap((out) => (queued += typeof out === 'string' ? out.length : 0)),
    );
    expectObservable(output).toBe('-a-b-(x|)', { a: 'xxxx', b: 'yyyy', x: { close: 'sendq' } });
  });
});

test('a client that reads (queue drains) is never cut off', (t) => {
  marbles(t).run(({ cold, expectObservable }) => {
    const output = cold('-a-b-c-|', { a: 'x'.repeat(100), b: 'y', c: 'z' }).pipe(boundSendQueue(() => 0, 6));
    expectObservable(output).toBe('-a-b-c-|', { a: 'x'.repeat(100), b: 'y', c: 'z' });
  });
});

test('close signals pass through regardless of the queue', (t) => {
  marbles(t).run(({ cold, expectObservable }) => {
    const output = cold('-a|', { a: { close: 'idle' as const } }).pipe(boundSendQueue(() => 1e9, 6));
    expectObservable(output).toBe('-a|', { a: { close: 'idle' } });
  });
});

test('an exception thrown while measuring the queue reaches the subscriber as an error, not the process', (t) => {
  marbles(t).run(({ cold, expectObservable, expectSubscriptions }) => {
    const source = cold('-a-b-|', { a: 'x', b: 'y' });
    const output = source.pipe(
      boundSendQueue(() => {
        throw new Error('socket gone');
      }, 6),
    );
    expectObservable(output).toBe('-#', undefined, new Error('socket gone'));
    // The source is torn down with it, as RxJS's own operators do.
    expectSubscriptions(source.subscriptions).toBe('^!');
  });
});
