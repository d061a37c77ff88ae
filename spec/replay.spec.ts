/**
 * replayThenLive in virtual time: replays of the log spliced into the live stream, slow and
 * synchronous, overlapping the live lines, back to back, failing, torn down; then a property:
 * whatever the interleaving, no live line is lost and no line comes twice.
 */
import test from 'ava';
import fc from 'fast-check';
import { Observable, Subject, VirtualTimeScheduler, concat, concatMap, defer, from, map, of, throwError, timer } from 'rxjs';
import { replayThenLive } from '../lib/replay';
import { compareIds } from '../lib/store/log';
import { marbles } from './helpers/marbles';

interface Item {
  readonly id: string;
  readonly from?: string;
}

/** Log event n, with id `n-0`. */
const ev = (n: number, from = 'live'): Item => ({ id: `${n}-0`, from });
const idOf = (item: Item): string => item.id;
const END = 'history|end';
const TRUNCATED = 'history|truncated';
const UNKNOWN = 'history|unknown';

// Values for marbles: live items a..h are events 1..8; replayed ones are the same events.
const live = { a: ev(1), b: ev(2), c: ev(3), d: ev(4), e: ev(5), f: ev(6), g: ev(7), h: ev(8) };
const out = { ...live, E: END, T: TRUNCATED, U: UNKNOWN };

test('with no replay, live items pass straight through; done when live and requests are', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, cold, expectObservable }) => {
    const requests$ = cold<Observable<Item | string>>('----|');
    expectObservable(hot('-a-b-c-|', live).pipe(replayThenLive(requests$, idOf, compareIds))).toBe('-a-b-c-|', out);
  });
});

test('a slow replay: live lines that arrive meanwhile come once each, after history|end, in order', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
    // `history|3` once a..c were said; d is said during the replay, e after it.
    const replay$ = cold('--a--b--c--(E|)', out);
    const requests$ = hot('------r', { r: replay$ });
    const source = hot('-a-b-c---d-----------e', live);
    expectObservable(source.pipe(replayThenLive(requests$, idOf, compareIds))).toBe('-a-b-c--a--b--c--(Ed)e', out);
    expectSubscriptions(replay$.subscriptions).toBe('------^----------!');
  });
});

test('a replay that reads the log after some held lines were said gives them once, in its place', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, cold, expectObservable }) => {
    // d and e are said while the log is slow to answer; its answer already holds them.
    const replay$ = cold('------c-d-e-(E|)', out);
    const requests$ = hot('----r', { r: replay$ });
    const source = hot('-abc--d--e-----f-----g', live);
    expectObservable(source.pipe(replayThenLive(requests$, idOf, compareIds))).toBe('-abc------c-d-e-(Ef)-g', out);
  });
});

test('a synchronous replay answers at once; live goes on as before', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, expectObservable }) => {
    const requests$ = hot('---r---', { r: of(ev(1), ev(2), END) });
    const source = hot('-ab-----c', live);
    expectObservable(source.pipe(replayThenLive(requests$, idOf, compareIds))).toBe('-ab(abE)c', out);
  });
});

test('two requests back to back: the second starts when the first is done; each one holds live until it ends', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
    const first$ = cold('---a-(E|)', out);
    const second$ = cold('-----a-b-(E|)', out);
    const requests$ = hot('--(rs)', { r: first$, s: second$ });
    const source = hot('-a-----b-----c-------d', live);
    // The first runs from 2 to 7, the second from 7 to 16: b is held by the first (released
    // after its end; the second then replays it, as history asked), c by the second.
    expectObservable(source.pipe(replayThenLive(requests$, idOf, compareIds))).toBe('-a---a-(Eb)-a-b-(Ec)-d', out);
    expectSubscriptions(first$.subscriptions).toBe('--^----!');
    expectSubscriptions(second$.subscriptions).toBe('-------^--------!');
  });
});

test('unknown-id and truncated markers pass through in the replay, where it puts them', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, cold, expectObservable }) => {
    const requests$ = hot('-r----------s', { r: cold('-U-a-b-(E|)', out), s: cold('-T-b-(E|)', out) });
    const source = hot('ab----c-----', live);
    // b is said as the first request comes (held), c while it runs.
    expectObservable(source.pipe(replayThenLive(requests$, idOf, compareIds))).toBe('a-U-a-b-(Ec)-T-b-E', out);
  });
});

test('a live line that the replay already gave, arriving after it (the log is written before live delivers), is dropped', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, cold, expectObservable }) => {
    const requests$ = hot('-r', { r: cold('-b-c-(E|)', out) });
    // c and d reach this session late: c after the replay that gave it.
    const source = hot('a---------c-d', live);
    expectObservable(source.pipe(replayThenLive(requests$, idOf, compareIds))).toBe('a-b-c-E-----d', out);
  });
});

test('a page read after many lines came (truncated): held lines older than it come before it, none is lost', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, cold, expectObservable }) => {
    // `since|a` with a page of 2, read late: b..e were said meanwhile, the page is d, e.
    const requests$ = hot('-r', { r: cold('------T-d----e-(E|)', out) });
    const source = hot('a-b-c-d-e---------f', live);
    expectObservable(source.pipe(replayThenLive(requests$, idOf, compareIds))).toBe('a------T-(bcd)e-E-f', out);
  });
});

test("live lagging behind a late page: a line older than the page that arrives after it began comes at once; the page's own lines are dropped", (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, cold, expectObservable }) => {
    // The page d, e was read before c, d, e reached this session.
    const requests$ = hot('--r', { r: cold('--T-d-e---(E|)', out) });
    const source = hot('ab------c-d-e--f', live);
    expectObservable(source.pipe(replayThenLive(requests$, idOf, compareIds))).toBe('ab--T-d-(ce)E--f', out);
  });
});

test('a line without an id (a notice) is held during a replay, never dropped, and released after it', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, cold, expectObservable }) => {
    const note: Item = { id: 'not a log id' };
    const idOrNone = (item: Item): string | undefined => (item === note ? undefined : item.id);
    const requests$ = hot('-r', { r: cold('---a-b-(E|)', out) });
    const source = hot('a--n-b------n', { ...live, n: note });
    expectObservable(source.pipe(replayThenLive(requests$, idOrNone, compareIds))).toBe('a---a-b-(En)n', { ...out, n: note });
  });
});

test('unsubscribing mid-replay tears the replay down', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
    const replay$ = cold('--a--b--(E|)', out);
    const requests$ = hot('--r', { r: replay$ });
    const source = hot('-a---b---c', live);
    expectObservable(source.pipe(replayThenLive(requests$, idOf, compareIds)), '^-----!').toBe('-a--a-', out);
    expectSubscriptions(replay$.subscriptions).toBe('--^---!');
    expectSubscriptions(source.subscriptions).toBe('^-----!');
    expectSubscriptions(requests$.subscriptions).toBe('^-----!');
  });
});

test('an exception thrown by idOf reaches the subscriber as an error, and everything is torn down', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
    const boom = new Error('idOf failed');
    const throwing = (item: Item): string => {
      if (item.id === '3-0') throw boom;
      return item.id;
    };
    const replay$ = cold('--a---b--(E|)', out);
    const requests$ = hot('-r', { r: replay$ });
    const source = hot('a--c------', live);
    expectObservable(source.pipe(replayThenLive(requests$, throwing, compareIds))).toBe('a--#', out, boom);
    expectSubscriptions(replay$.subscriptions).toBe('-^-!');
  });
});

test('a replay that errors ends there: onReplayError says what to emit (its end), held lines are released, live goes on', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, cold, expectObservable }) => {
    const failing$ = cold('--a-#', out, new Error('disk'));
    const requests$ = hot('-r------s', { r: failing$, s: cold('-#', out, new Error('again')) });
    const source = hot('a--b-------c', live);
    const withEnd$ = source.pipe(replayThenLive(requests$, idOf, compareIds, { onReplayError: () => [END] }));
    expectObservable(withEnd$).toBe('a--a-(Eb)E-c', out);
    const silent$ = source.pipe(replayThenLive(requests$, idOf, compareIds));
    expectObservable(silent$).toBe('a--a-b-----c', out);
  });
});

test('errors of the live stream and of the requests reach the subscriber', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, cold, expectObservable }) => {
    const requests$ = hot('-r', { r: cold('-----(E|)', out) });
    expectObservable(hot('a--#', live).pipe(replayThenLive(requests$, idOf, compareIds))).toBe('a--#', out);
    expectObservable(hot('a----', live).pipe(replayThenLive(hot<Observable<Item | string>>('--#'), idOf, compareIds))).toBe('a-#', out);
  });
});

test('live completing during a replay: the output completes once the replay is done and nothing waits', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, cold, expectObservable }) => {
    const requests$ = cold('-r|', { r: cold('---a-(E|)', out) });
    expectObservable(hot('a-b|', live).pipe(replayThenLive(requests$, idOf, compareIds))).toBe('a---a-(Eb|)', out);
  });
});

test('a replay that completes synchronously inside a live emission does not re-enter: requests queue in order', (t) => {
  const seen: (Item | string)[] = [];
  const source = new Subject<Item>();
  const requests$ = new Subject<Observable<Item | string>>();
  const subscription = source.pipe(replayThenLive(requests$, idOf, compareIds)).subscribe((x) => {
    seen.push(x);
    // A subscriber that asks again from inside the output (as a session's command branch may).
    if (x === END && seen.filter((s) => s === END).length === 1) requests$.next(of(ev(2, 'second'), END));
  });
  source.next(ev(1));
  requests$.next(of(ev(1, 'first'), END));
  source.next(ev(2));
  subscription.unsubscribe();
  // Live 2 came after the second replay gave it: dropped.
  t.deepEqual(seen, [ev(1), ev(1, 'first'), END, ev(2, 'second'), END]);
});

// The property: a log of n events (ids 1..n) is stamped over time and delivered live in order,
// each after its own lag; replays (history N, since ID with a page) read it when their turn
// comes, slowly or at once.
interface Request {
  readonly at: number;
  readonly kind: 'history' | 'since';
  readonly count: number;
  readonly back: number;
  readonly page: number;
  readonly readDelay: number;
  readonly itemDelay: number;
  readonly sync: boolean;
}

interface Scenario {
  readonly gaps: readonly number[];
  readonly lags: readonly number[];
  readonly requests: readonly Request[];
}

const scenario = (maxLag: number): fc.Arbitrary<Scenario> =>
  fc.integer({ min: 0, max: 30 }).chain((n) =>
    fc.record({
      gaps: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: n, maxLength: n }),
      lags: fc.array(fc.integer({ min: 0, max: maxLag }), { minLength: n, maxLength: n }),
      requests: fc.array(
        fc.record({
          at: fc.integer({ min: 0, max: 120 }),
          kind: fc.constantFrom('history' as const, 'since' as const),
          count: fc.integer({ min: 1, max: 10 }),
          back: fc.integer({ min: 0, max: 15 }),
          page: fc.integer({ min: 1, max: 8 }),
          readDelay: fc.integer({ min: 0, max: 10 }),
          itemDelay: fc.integer({ min: 0, max: 3 }),
          sync: fc.boolean(),
        }),
        { maxLength: 5 },
      ),
    }),
  );

interface Run {
  readonly n: number;
  readonly output: readonly (Item | string)[];
  /** Where each replay started, as an index in the output. */
  readonly starts: readonly number[];
}

function simulate(s: Scenario, sameInstant: boolean): Run {
  const scheduler = new VirtualTimeScheduler();
  const n = s.gaps.length;
  const live$ = new Subject<Item>();
  const requests$ = new Subject<Observable<Item | string>>();
  const output: (Item | string)[] = [];
  const starts: number[] = [];
  let stamped = 0;
  const subscription = live$.pipe(replayThenLive(requests$, idOf, compareIds)).subscribe((x) => output.push(x));

  let stampAt = 0;
  let deliverAt = 0;
  for (let i = 1; i <= n; i++) {
    stampAt += s.gaps[i - 1];
    deliverAt = Math.max(deliverAt, stampAt + s.lags[i - 1]);
    if (sameInstant) {
      // Stamped and delivered in one step: the log never holds what live has not delivered.
      scheduler.schedule(() => {
        stamped = i;
        live$.next(ev(i));
      }, stampAt);
    } else {
      scheduler.schedule(() => (stamped = i), stampAt);
      scheduler.schedule(() => live$.next(ev(i)), deliverAt);
    }
  }
  // Numbered in the order they are made: that is the order their ends must come in.
  [...s.requests]
    .sort((a, b) => a.at - b.at)
    .forEach((r, k) => {
      const read = (): (Item | string)[] => {
        const head = stamped;
        let from: number;
        const markers: string[] = [];
        if (r.kind === 'history') {
          from = Math.max(1, head - r.count + 1);
        } else {
          from = Math.max(0, head - r.back) + 1;
          if (head - from + 1 > r.page) {
            markers.push(`${TRUNCATED}#${k}`);
            from = head - r.page + 1;
          }
        }
        const items: Item[] = [];
        for (let i = from; i <= head; i++) items.push(ev(i, `replay ${k}`));
        return [...markers, ...items];
      };
      const replay$ = defer(() => {
        starts.push(output.length);
        if (r.sync) return of(...read(), `${END}#${k}`);
        return timer(r.readDelay, scheduler).pipe(
          concatMap(() => concat(from(read()).pipe(concatMap((x) => timer(r.itemDelay, scheduler).pipe(map(() => x)))), of(`${END}#${k}`))),
        );
      });
      scheduler.schedule(() => requests$.next(replay$), r.at);
    });
  scheduler.flush();
  subscription.unsubscribe();
  return { n, output, starts };
}

const idNumber = (x: Item): number => Number(x.id.split('-')[0]);

/** Every id 1..n appears; within each stretch from one replay's start to the next, none twice. */
function lossesAndDuplicates(run: Run): string[] {
  const problems: string[] = [];
  const ids = run.output.filter((x): x is Item => typeof x !== 'string').map(idNumber);
  for (let i = 1; i <= run.n; i++) if (!ids.includes(i)) problems.push(`event ${i} never came`);
  const bounds = [0, ...run.starts, run.output.length];
  for (let k = 0; k + 1 < bounds.length; k++) {
    const seen = new Set<number>();
    for (const x of run.output.slice(bounds[k], bounds[k + 1])) {
      if (typeof x === 'string') continue;
      if (seen.has(idNumber(x))) problems.push(`event ${idNumber(x)} twice after replay start ${k}`);
      seen.add(idNumber(x));
    }
  }
  return problems;
}

/** Each stretch is a run of consecutive ids that starts no later than right after the largest before it. */
function gapsAndDisorder(run: Run): string[] {
  const problems: string[] = [];
  const bounds = [0, ...run.starts, run.output.length];
  let largest = 0;
  for (let k = 0; k + 1 < bounds.length; k++) {
    const ids = run.output
      .slice(bounds[k], bounds[k + 1])
      .filter((x): x is Item => typeof x !== 'string')
      .map(idNumber);
    if (ids.length === 0) continue;
    if (ids[0] > largest + 1) problems.push(`stretch ${k} starts at ${ids[0]}, after ${largest}: a gap`);
    for (let i = 1; i < ids.length; i++) if (ids[i] !== ids[i - 1] + 1) problems.push(`stretch ${k}: ${ids[i]} after ${ids[i - 1]}`);
    largest = Math.max(largest, ...ids);
  }
  return problems;
}

/** Each replay's end came once, in request order, and it came at all. */
function ends(run: Run, requests: number): string[] {
  const got = run.output.filter((x): x is string => typeof x === 'string' && x.startsWith(END));
  const want = Array.from({ length: requests }, (_, k) => `${END}#${k}`);
  return JSON.stringify(got) === JSON.stringify(want) ? [] : [`ends ${JSON.stringify(got)}`];
}

test('property: when the log holds only what live has delivered, every stretch after a replay starts is in log order, with no gap and no duplicate', (t) => {
  fc.assert(
    fc.property(scenario(0), (s) => {
      const run = simulate(s, true);
      t.deepEqual([...lossesAndDuplicates(run), ...gapsAndDisorder(run), ...ends(run, s.requests.length)], [], JSON.stringify(s));
    }),
    { numRuns: 500 },
  );
});

test('property: when live lags behind the log, no event is lost and none comes twice after a replay starts', (t) => {
  fc.assert(
    fc.property(scenario(6), (s) => {
      const run = simulate(s, false);
      t.deepEqual([...lossesAndDuplicates(run), ...ends(run, s.requests.length)], [], JSON.stringify(s));
    }),
    { numRuns: 500 },
  );
});

test('the property checks can fail: a splice that forgets held lines, or replays them twice, is caught', (t) => {
  // Guards the guards: runs built by hand, as a wrong operator would emit them.
  const lost: Run = { n: 3, output: [ev(1), ev(2), `${END}#0`], starts: [1] };
  const twice: Run = { n: 3, output: [ev(1), ev(2), ev(3), `${END}#0`, ev(3)], starts: [1] };
  const disorder: Run = { n: 3, output: [ev(1), ev(3), ev(2), `${END}#0`], starts: [1] };
  t.deepEqual(lossesAndDuplicates(lost), ['event 3 never came']);
  t.deepEqual(lossesAndDuplicates(twice), ['event 3 twice after replay start 1']);
  t.deepEqual(gapsAndDisorder(disorder), ['stretch 1 starts at 3, after 1: a gap', 'stretch 1: 2 after 3']);
  t.deepEqual(ends(lost, 2), [`ends ["${END}#0"]`]);
});

test('a replay of a throwing Observable with no onReplayError: nothing emitted for it, no error downstream', (t) => {
  const seen: (Item | string)[] = [];
  let failed: unknown;
  const source = new Subject<Item>();
  const subscription = source.pipe(replayThenLive(of(throwError(() => new Error('read failed'))), idOf, compareIds)).subscribe({
    next: (x) => seen.push(x),
    error: (e: unknown) => {
      failed = e;
    },
  });
  source.next(ev(1));
  subscription.unsubscribe();
  t.deepEqual(seen, [ev(1)]);
  t.is(failed, undefined);
});
