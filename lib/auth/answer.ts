/**
 * Composing `Answer`s (a value now, or an Observable later; see lib/hub.ts) without turning
 * every value into an Observable: the accounts chain a store lookup, a hub claim and a store
 * read, and in memory all of them answer at once, so a session's reply stays synchronous
 * (marble-testable) unless a step really waits.
 */
import { Observable, catchError, isObservable, mergeMap, of } from 'rxjs';
import type { Answer } from '../hub';

/** `then(answer, f)`: f applied to the value, now if it is known now. */
export function then<T, U>(answer$: Answer<T>, next$: (value: T) => Answer<U>): Answer<U> {
  if (!isObservable(answer$)) return next$(answer$);
  return answer$.pipe(
    mergeMap((value) => {
      const after$ = next$(value);
      return isObservable(after$) ? after$ : of(after$);
    }),
  );
}

/** An answer as an Observable, for code that is asynchronous anyway (a password check). */
export function observe<T>(answer$: Answer<T>): Observable<T> {
  return isObservable(answer$) ? answer$ : of(answer$);
}

/** The store could not be used (disk full, Redis gone): the user is told to try again later. */
export const UNAVAILABLE: unique symbol = Symbol('accounts unavailable');
export type Unavailable = typeof UNAVAILABLE;

/**
 * Runs a store step and catches what it throws (now, or later on its Observable): the
 * failure is reported to `failed`, and the answer is UNAVAILABLE instead. A store that fails
 * (disk full, Redis gone) becomes a notice, never a session torn down.
 */
export function guarded<T>(step$: () => Answer<T>, failed: (error: unknown) => void): Answer<T | Unavailable> {
  let answer$: Answer<T>;
  try {
    answer$ = step$();
  } catch (error) {
    failed(error);
    return UNAVAILABLE;
  }
  return isObservable(answer$)
    ? answer$.pipe(
        catchError((error: unknown) => {
          failed(error);
          return of(UNAVAILABLE);
        }),
      )
    : answer$;
}
