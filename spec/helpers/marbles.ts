/** A TestScheduler whose failures are ava assertions. */
import type { ExecutionContext } from 'ava';
import { TestScheduler } from 'rxjs/testing';

export function marbles(t: ExecutionContext): TestScheduler {
  return new TestScheduler((actual, expected) => t.deepEqual(actual, expected));
}
