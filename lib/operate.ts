/**
 * The one way this project writes an operator by hand: like RxJS's own operators, an
 * exception thrown by the operator's code (or by a function it was given) reaches the
 * subscriber's `error` and tears the source down, instead of escaping as an uncaughtException.
 */
import { Observable, OperatorFunction, Subscriber } from 'rxjs';

/** What a hand-written operator does with each notification of its source. */
export interface Operation<T> {
  next(value: T): void;
  /** Default: complete the output. */
  complete?(): void;
  /** Default: pass the error on. */
  error?(err: unknown): void;
  /** Runs once when the output is torn down. */
  finalize?(): void;
}

/**
 * `init` runs once per subscription and returns what to do with the source's notifications;
 * whatever it or they throw becomes the output's error.
 */
export function operate<T, R>(init: (subscriber: Subscriber<R>) => Operation<T>): OperatorFunction<T, R> {
  return (source) =>
    new Observable<R>((subscriber) => {
      const operation = init(subscriber);
      const guard = (run: () => void) => {
        try {
          run();
        } catch (err) {
          subscriber.error(err);
        }
      };
      const subscription = source.subscribe({
        next: (value) => guard(() => operation.next(value)),
        error: (err: unknown) => guard(() => (operation.error ? operation.error(err) : subscriber.error(err))),
        complete: () => guard(() => (operation.complete ? operation.complete() : subscriber.complete())),
      });
      return () => {
        subscription.unsubscribe();
        operation.finalize?.();
      };
    });
}
