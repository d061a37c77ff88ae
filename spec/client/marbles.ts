/**
 * Marble helpers for the client's core: a TestScheduler whose failures are ava assertions,
 * effects as short readable strings, and the effects of one frame as one marble value.
 */
import type { ExecutionContext } from 'ava';
import { Observable, OperatorFunction, SchedulerLike, map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { Effect } from '../../lib/client/effects';

export function marbles(t: ExecutionContext): TestScheduler {
  return new TestScheduler((actual, expected) => t.deepEqual(actual, expected));
}

/**
 * An effect as a string: `text` (a plain line), `[tone] text`, `? prompt` (`?? prompt` when
 * not announced), `> bytes written`, `hangup`, `exit N`.
 */
export function brief(effect: Effect): string {
  switch (effect.kind) {
    case 'show':
      return effect.tone === 'plain' ? effect.text : `[${effect.tone}] ${effect.text}`;
    case 'prompt':
      return `${effect.announce ? '?' : '??'} ${effect.text}`;
    case 'send':
      return `> ${effect.lines.map((line) => line + '\\n').join('')}`;
    case 'hangup':
      return 'hangup';
    case 'exit':
      return `exit ${effect.code}`;
  }
}

/**
 * Everything emitted within one frame, as one array (emitted at the end of that frame): a
 * step of the state machine emits several effects at once, and a marble letter is one value.
 */
export function perFrame<T>(scheduler: SchedulerLike): OperatorFunction<T, T[]> {
  return (source) =>
    new Observable<T[]>((subscriber) => {
      let batch: T[] | undefined;
      return source.subscribe({
        next(value) {
          if (batch === undefined) {
            const current: T[] = (batch = []);
            scheduler.schedule(() => {
              batch = undefined;
              subscriber.next(current);
            });
          }
          batch.push(value);
        },
        error: (err: unknown) => scheduler.schedule(() => subscriber.error(err)),
        complete: () => scheduler.schedule(() => subscriber.complete()),
      });
    });
}

/** Effects as frames of brief strings. */
export function frames(scheduler: SchedulerLike): OperatorFunction<Effect, string[]> {
  return (effects$) => effects$.pipe(map(brief), perFrame(scheduler));
}
