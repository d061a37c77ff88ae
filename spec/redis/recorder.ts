/**
 * Records a stream's values from subscription on and waits, with a timeout, until they
 * satisfy a condition: tests synchronise on what arrived, never on sleeps.
 */
import { Observable, Subscription, map } from 'rxjs';
import type { Event } from '../../lib/protocol';

export class Recorder<T> {
  readonly values: T[] = [];
  private readonly subscription: Subscription;
  private waiters: (() => void)[] = [];

  constructor(source$: Observable<T>) {
    this.subscription = source$.subscribe((value) => {
      this.values.push(value);
      for (const wake of this.waiters) wake();
    });
  }

  /** Resolves with the values once `done(values)` holds; rejects after `timeoutMs`. */
  until(done: (values: readonly T[]) => boolean, timeoutMs = 3000, what = 'the expected values'): Promise<readonly T[]> {
    if (done(this.values)) return Promise.resolve(this.values);
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!done(this.values)) return;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve(this.values);
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`no ${what} within ${timeoutMs} ms; got ${JSON.stringify(this.values).slice(0, 2000)}`));
      }, timeoutMs);
      this.waiters.push(check);
    });
  }

  stop(): void {
    this.subscription.unsubscribe();
  }
}

/** An event without its stream stamp: what tests about who saw what compare. */
export function unstamped(event: Event): Event {
  if (!('stamp' in event)) return event;
  const { stamp: _stamp, ...rest } = event;
  return rest;
}

/** Records a hub's events as `unstamped` gives them. */
export function recordEvents(hub: { readonly events$: Observable<Event> }): Recorder<Event> {
  return new Recorder(hub.events$.pipe(map(unstamped)));
}
