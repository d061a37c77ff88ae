/**
 * What every MessageLog must do, as ava tests registered for one implementation: ids, pending
 * events, last(), after() (normal, truncated, unknown), private ids, retention.
 */
import test, { ExecutionContext } from 'ava';
import { isObservable } from 'rxjs';
import type { Answer } from '../../lib/hub';
import type { Event } from '../../lib/protocol';
import { LocalLog, LoggedEvent, MessageLog, Stamped, compareIds, parseId } from '../../lib/store/log';

export interface LogUnderTest {
  readonly log: LocalLog;
  /** Runs whatever retention the log does later (background deletion), now. */
  readonly settle: () => void;
}

export type MakeLog = (t: ExecutionContext, options: { readonly maxLines: number; readonly now: () => number }) => LogUnderTest;

/**
 * A log whose reads answer now, as the contract reads them: a read that answers later (the
 * SqliteLog reading a long reply a page a turn) is driven to its end by `runDeferred`, which
 * runs the log's next deferred step and says whether there was one.
 */
export function readingNow(log: MessageLog, runDeferred: () => boolean): LocalLog {
  const now = <T>(answer: Answer<T>): T => {
    if (!isObservable(answer)) return answer;
    let got: { readonly value: T } | undefined;
    const subscription = answer.subscribe((value) => (got = { value }));
    while (got === undefined && runDeferred());
    subscription.unsubscribe();
    if (got === undefined) throw new Error('the read never answered');
    return got.value;
  };
  return {
    stamp: <E extends Event>(event: E) => log.stamp(event),
    commit: () => log.commit(),
    last: (n) => now(log.last(n)),
    after: (id, limit) => now(log.after(id, limit)),
    get degraded() {
      return log.degraded;
    },
    close: () => log.close(),
  };
}

/** A clock the test moves by hand. */
export function manualClock(start: number): { now: () => number; set: (ms: number) => void } {
  let ms = start;
  return { now: () => ms, set: (to) => (ms = to) };
}

export const say = (text: string, name = 'alice'): Event => ({ kind: 'say', addr: '127.0.0.1:5000', name, text });
export const whisper = (text: string): Event => ({ kind: 'private', from: 'bob', text });

/** Stamps `count` public lines `m0`, `m1`, ... and returns them. */
export function sayMany(log: MessageLog, count: number, prefix = 'm'): Stamped[] {
  const out: Stamped[] = [];
  for (let i = 0; i < count; i++) out.push(log.stamp(say(`${prefix}${i}`)));
  return out;
}

const texts = (events: readonly Stamped<LoggedEvent>[]): string[] => events.map((s) => (s.event.kind === 'say' ? s.event.text : s.event.kind));
const ids = (events: readonly Stamped[]): string[] => events.map((s) => s.id);

export function logContract(name: string, make: MakeLog): void {
  test(`${name}: ids strictly increase and stay unique across many stamps in one millisecond, and across the clock going back`, (t) => {
    const clock = manualClock(1_764_427_200_000);
    const { log } = make(t, { maxLines: 100_000, now: clock.now });
    const stamped: Stamped[] = [];
    for (let i = 0; i < 5000; i++) stamped.push(log.stamp(i % 3 === 0 ? whisper(`p${i}`) : say(`m${i}`)));
    clock.set(1_764_427_200_001);
    stamped.push(log.stamp(say('next ms')));
    clock.set(1_764_427_100_000); // back by 100 s
    stamped.push(log.stamp(say('clock went back')));
    for (let i = 1; i < stamped.length; i++) t.true(compareIds(stamped[i - 1].id, stamped[i].id) < 0, `${stamped[i - 1].id} then ${stamped[i].id}`);
    t.is(new Set(ids(stamped)).size, stamped.length);
    for (const s of stamped) {
      const parts = parseId(s.id);
      t.truthy(parts, s.id);
      t.is(s.time, parts?.ms ?? -1);
    }
    // In one millisecond, seq counts; a new millisecond starts it again.
    t.is(stamped[4999].id.split('-')[0], '1764427200000');
    t.is(stamped[5000].id, '1764427200001-0');
    t.is(stamped[5001].id, '1764427200001-1');
  });

  test(`${name}: events come back as they were stamped, oldest first; private messages get an id but stay out of the history`, (t) => {
    const { log } = make(t, { maxLines: 100, now: manualClock(1000).now });
    const events: Event[] = [
      { kind: 'online', addr: '[::1]:4000', name: '小明' },
      say('a|b|c 世界 \u2400'),
      whisper('secret'),
      { kind: 'offline', addr: '[::1]:4000', name: '小明' },
    ];
    const stamped = events.map((e) => log.stamp(e));
    log.commit();
    t.deepEqual(log.last(10), [stamped[0], stamped[1], stamped[3]]);
    t.deepEqual(log.last(2), [stamped[1], stamped[3]]);
    t.deepEqual(log.last(0), []);
    t.deepEqual(log.last(-3), []);
    t.false(log.degraded);
  });

  test(`${name}: pending events are visible to last() and after() before commit, and the same after it`, (t) => {
    const { log } = make(t, { maxLines: 100, now: manualClock(1000).now });
    const committed = sayMany(log, 3, 'c');
    log.commit();
    const pending = sayMany(log, 2, 'p');
    const read = () => ({ last: texts(log.last(10)), after: log.after(committed[0].id, 10), page: log.after(committed[0].id, 3) });
    const before = read();
    t.deepEqual(before.last, ['c0', 'c1', 'c2', 'p0', 'p1']);
    t.deepEqual(before.after, { known: true, events: [...committed.slice(1), ...pending], truncated: false });
    // The page spans stored and pending events: the newest three, and more did follow.
    t.deepEqual(before.page, { known: true, events: [committed[2], ...pending], truncated: true });
    t.deepEqual(log.after(pending[0].id, 1), { known: true, events: [pending[1]], truncated: false });
    log.commit();
    t.deepEqual(read(), before);
  });

  test(`${name}: after() gives the events after an id, oldest first; more than the limit: the newest page, truncated`, (t) => {
    const { log } = make(t, { maxLines: 100, now: manualClock(1000).now });
    const m = sayMany(log, 10);
    log.commit();
    t.deepEqual(log.after(m[3].id, 100), { known: true, events: m.slice(4), truncated: false });
    t.deepEqual(log.after(m[0].id, 3), { known: true, events: m.slice(7), truncated: true });
    t.deepEqual(log.after(m[6].id, 3), { known: true, events: m.slice(7), truncated: false }, 'exactly the limit follows: not truncated');
    t.deepEqual(log.after(m[9].id, 3), { known: true, events: [], truncated: false });
    t.deepEqual(log.after(m[2].id, 0), { known: true, events: [], truncated: true });
  });

  test(`${name}: an id that is malformed, before the log began, or newer than anything given out is unknown: the newest page`, (t) => {
    const clock = manualClock(5000);
    const { log } = make(t, { maxLines: 100, now: clock.now });
    const m = sayMany(log, 6);
    log.commit();
    const newest = { known: false, events: m.slice(3) };
    const last = parseId(m[5].id)!;
    for (const id of [
      '',
      'x',
      '5000',
      '5000-',
      '-1',
      '5000-0-0',
      ' 5000-0',
      '1234567890123456-0',
      '1-1234567890',
      '4999-0',
      '0-0',
      `${last.ms}-${last.seq + 1}`,
      `${last.ms + 1}-0`,
    ]) {
      t.deepEqual(log.after(id, 3), newest, JSON.stringify(id));
    }
    // An id given out since is known.
    const next = log.stamp(whisper('x'));
    t.deepEqual(log.after(next.id, 3), { known: true, events: [], truncated: false });
  });

  test(`${name}: the id of a private message (given out, never stored) is known while it lies within the retained range`, (t) => {
    const { log, settle } = make(t, { maxLines: 3, now: manualClock(1000).now });
    const a = log.stamp(say('a'));
    const p = log.stamp(whisper('p'));
    const b = log.stamp(say('b'));
    const q = log.stamp(whisper('q'));
    log.commit();
    t.deepEqual(log.after(p.id, 10), { known: true, events: [b], truncated: false });
    t.deepEqual(log.after(q.id, 10), { known: true, events: [], truncated: false });
    // Three more lines push a and b out: p lies before the oldest retained event, and b,
    // after it, is gone.
    const more = sayMany(log, 3);
    log.commit();
    settle();
    t.deepEqual(log.after(p.id, 10), { known: false, events: more });
    t.deepEqual(log.after(a.id, 10), { known: false, events: more });
    t.deepEqual(log.after(q.id, 10), { known: true, events: more, truncated: false }, 'q comes after the last deleted event, b');
  });

  test(`${name}: retention keeps the newest maxLines; an expired id is unknown, the last deleted one still known`, (t) => {
    const { log, settle } = make(t, { maxLines: 5, now: manualClock(1000).now });
    const m = sayMany(log, 12);
    log.commit();
    settle();
    t.deepEqual(log.last(100), m.slice(7));
    t.deepEqual(log.after(m[5].id, 100), { known: false, events: m.slice(7) }, 'm6 was deleted: after m5 there is a gap');
    t.deepEqual(log.after(m[6].id, 100), { known: true, events: m.slice(7), truncated: false }, 'nothing after m6 is missing');
    t.deepEqual(log.after(m[7].id, 2), { known: true, events: m.slice(10), truncated: true });
    // Retention goes on with every commit.
    const n = sayMany(log, 3, 'n');
    log.commit();
    settle();
    t.deepEqual(texts(log.last(100)), ['m10', 'm11', 'n0', 'n1', 'n2']);
    t.deepEqual(log.after(m[8].id, 100), { known: false, events: [m[10], m[11], ...n] });
  });

  test(`${name}: a long run with retention keeps order and bounds`, (t) => {
    const clock = manualClock(1000);
    const { log, settle } = make(t, { maxLines: 50, now: clock.now });
    const all: Stamped[] = [];
    for (let turn = 0; turn < 200; turn++) {
      if (turn % 7 === 0) clock.set(1000 + turn);
      all.push(...sayMany(log, 1 + (turn % 13), `t${turn}.`));
      log.commit();
      if (turn % 10 === 0) settle();
    }
    settle();
    t.deepEqual(log.last(1000), all.slice(all.length - 50));
    t.deepEqual(log.after(all[all.length - 51].id, 1000), { known: true, events: all.slice(all.length - 50), truncated: false });
    t.deepEqual(log.after(all[all.length - 20].id, 7), { known: true, events: all.slice(all.length - 7), truncated: true });
  });
}
