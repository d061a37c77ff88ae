/**
 * The read budget (lib/overload.ts) on a fake clock: each line "costs" the time its
 * subscriber moves the clock on, and the test says when the event loop has come round (a turn
 * ends). No socket, no sleep.
 */
import test from 'ava';
import { Subject, Subscription } from 'rxjs';
import { Pausable, ReadBudget, gate } from '../lib/overload';

/** A fake clock, a budget on it, and what the budget asked of the world. */
function setup(budgetMs = 5, quietMs = 1000) {
  const clock = { now: 0 };
  const calls = { wakes: 0 };
  const logs: string[] = [];
  // The end of a turn is asked for (counted here) and run by hand (endTurn).
  const budget = new ReadBudget({ budgetMs, quietMs, now: () => clock.now, schedule: () => calls.wakes++, log: (l) => logs.push(l) });
  return { clock, calls, logs, budget };
}

/** A connection: its lines, a transport that records pause/resume, and what got through. */
function connection(budget: ReadBudget, clock: { now: number }, costMs: number) {
  const lines$ = new Subject<string>();
  const transport = { pauses: 0, resumes: 0, paused: false } as Pausable & { pauses: number; resumes: number; paused: boolean };
  transport.pause = () => {
    transport.pauses++;
    transport.paused = true;
  };
  transport.resume = () => {
    transport.resumes++;
    transport.paused = false;
  };
  const out: string[] = [];
  const ends: string[] = [];
  const subscription: Subscription = lines$.pipe(gate(budget, transport)).subscribe({
    next: (line) => {
      out.push(line);
      clock.now += costMs; // handling the line (its broadcast) takes this long
    },
    complete: () => ends.push('complete'),
    error: (err: unknown) => ends.push(`error: ${err instanceof Error ? err.message : String(err)}`),
  });
  return { lines: lines$, transport, out, ends, subscription };
}

test('lines pass while the turn lasts; past the budget they are held in order, the transport paused once', (t) => {
  const { clock, budget } = setup(5);
  const c = connection(budget, clock, 2);
  for (const l of ['a', 'b', 'c', 'd', 'e']) c.lines.next(l);
  // a at 0, b at 2, c at 4 (4 <= 5 passes), d at 6: spent.
  t.deepEqual(c.out, ['a', 'b', 'c']);
  t.is(c.transport.pauses, 1);
  t.true(c.transport.paused);
  t.is(budget.paused, 1);
  budget.endTurn();
  t.deepEqual(c.out, ['a', 'b', 'c', 'd', 'e']);
  t.is(c.transport.resumes, 1);
  t.false(c.transport.paused);
  t.is(budget.paused, 0);
});

test('in the next turn, waiting connections let one line each through in turn, in the order they were paused, a budget a turn', (t) => {
  const { clock, budget } = setup(5);
  const first = connection(budget, clock, 3);
  const second = connection(budget, clock, 3);
  const third = connection(budget, clock, 3);
  first.lines.next('f0'); // 0 -> 3
  first.lines.next('f1'); // 3 -> 6
  // Spent from here on: everything is held.
  second.lines.next('s0');
  first.lines.next('f2');
  third.lines.next('t0');
  second.lines.next('s1');
  t.deepEqual([first.out, second.out, third.out], [['f0', 'f1'], [], []]);
  t.deepEqual([first.transport.pauses, second.transport.pauses, third.transport.pauses], [1, 1, 1]);

  // Paused in the order second, first, third. Turn 1: s0 (0 -> 3; second goes to the back),
  // f2 (3 -> 6): spent.
  clock.now += 100;
  budget.endTurn();
  t.deepEqual([first.out, second.out, third.out], [['f0', 'f1', 'f2'], ['s0'], []]);
  t.deepEqual([first.transport.resumes, second.transport.resumes], [1, 0], 'first is through: reading again');
  // Turn 2: t0, then s1.
  budget.endTurn();
  t.deepEqual([first.out, second.out, third.out], [['f0', 'f1', 'f2'], ['s0', 's1'], ['t0']]);
  t.deepEqual([second.transport.resumes, third.transport.resumes], [1, 1]);
  t.is(budget.paused, 0);
});

test('a backlog gets one line in its turn: a client with one line waiting does not wait for all of it', (t) => {
  const { clock, budget } = setup(5);
  const busy = connection(budget, clock, 3);
  const light = connection(budget, clock, 3);
  busy.lines.next('x'); // 0 -> 3
  busy.lines.next('y'); // 3 -> 6
  for (const l of ['b0', 'b1', 'b2', 'b3']) busy.lines.next(l);
  light.lines.next('who');
  budget.endTurn(); // b0, then who: spent
  t.deepEqual(light.out, ['who']);
  t.deepEqual(busy.out, ['x', 'y', 'b0']);
  budget.endTurn();
  t.deepEqual(busy.out, ['x', 'y', 'b0', 'b1', 'b2']);
  t.is(busy.transport.resumes, 0, 'still held lines: still paused');
  budget.endTurn();
  t.deepEqual(busy.out, ['x', 'y', 'b0', 'b1', 'b2', 'b3']);
  t.is(busy.transport.resumes, 1);
});

test('a completion or an error waits behind the held lines', (t) => {
  const { clock, budget } = setup(5);
  const ending = connection(budget, clock, 6);
  const failing = connection(budget, clock, 6);
  ending.lines.next('a'); // spends the turn
  ending.lines.next('b');
  ending.lines.complete();
  failing.lines.next('c');
  failing.lines.error(new Error('reset'));
  t.deepEqual([ending.ends, failing.ends], [[], []]);
  budget.endTurn();
  t.deepEqual(ending.out, ['a', 'b']);
  t.deepEqual(ending.ends, ['complete']);
  t.deepEqual(failing.ends, [], 'its turn comes after the budget');
  budget.endTurn();
  t.deepEqual(failing.out, ['c']);
  t.deepEqual(failing.ends, ['error: reset']);
  // Without held lines, the end passes at once.
  const quick = connection(budget, clock, 0);
  budget.endTurn();
  quick.lines.complete();
  t.deepEqual(quick.ends, ['complete']);
});

test('a connection that goes away while held is forgotten: nothing is released into it', (t) => {
  const { clock, budget } = setup(5);
  const gone = connection(budget, clock, 6);
  gone.lines.next('a');
  gone.lines.next('b');
  t.is(budget.paused, 1);
  gone.subscription.unsubscribe();
  t.is(budget.paused, 0);
  budget.endTurn();
  t.deepEqual(gone.out, ['a']);
  t.is(gone.transport.resumes, 0);
});

test("a turn starts at its first line: a line after a quiet spell passes, and asks for the turn's end", (t) => {
  const { clock, calls, budget } = setup(5);
  const c = connection(budget, clock, 1);
  c.lines.next('a');
  t.is(calls.wakes, 1, 'the first line of a turn asks for its end');
  budget.endTurn();
  clock.now += 60_000;
  c.lines.next('b');
  c.lines.next('c');
  t.deepEqual(c.out, ['a', 'b', 'c']);
  t.is(c.transport.pauses, 0);
  t.is(calls.wakes, 2);
  t.false(budget.overloaded);
});

test('a turn with input asks once for its end; one that leaves connections waiting asks for the next', (t) => {
  const { clock, calls, budget } = setup(5);
  const c = connection(budget, clock, 10);
  c.lines.next('a'); // the turn starts: its end is asked for
  c.lines.next('b'); // held: the end is asked for already
  c.lines.next('c');
  t.is(calls.wakes, 1);
  budget.endTurn(); // b released (10 ms), c left: the next turn's end is asked for
  t.deepEqual(c.out, ['a', 'b']);
  t.is(calls.wakes, 2);
  budget.endTurn();
  t.deepEqual(c.out, ['a', 'b', 'c']);
  t.is(calls.wakes, 3, 'the turn that released c asked for its end');
  budget.endTurn();
  // Nothing waits and no line came: no more turns asked for.
  t.is(calls.wakes, 3);
});

test('one log line when an overload starts, one when it is over (a quiet second later), with figures', (t) => {
  const { clock, logs, budget } = setup(5, 1000);
  const conns = [connection(budget, clock, 6), connection(budget, clock, 6), connection(budget, clock, 6)];
  conns[0].lines.next('a'); // spends the turn
  for (const c of conns) c.lines.next('b'); // three paused
  t.true(budget.overloaded);
  t.deepEqual(logs, []);
  budget.endTurn();
  t.deepEqual(logs, ['overloaded: reading paused for 3 connections (input over its budget of 5 ms a turn; senders are slowed, nothing is dropped)']);
  budget.endTurn();
  budget.endTurn();
  t.is(logs.length, 1, 'still within the quiet second: no news');
  t.true(budget.overloaded);
  // The last pause was at 6 ms (the three b's, after a's 6 ms).
  clock.now = 6 + 999;
  budget.endTurn();
  t.is(logs.length, 1);
  clock.now = 6 + 1000;
  budget.endTurn();
  t.is(logs.length, 2);
  t.regex(logs[1], /^recovered: reading no longer paused; overloaded for \d+\.\d s, up to 3 connections paused at once, 3 pauses$/);
  t.false(budget.overloaded);
  t.is(budget.episodes, 1);
  t.is(budget.pauses, 3);
  // A second episode is announced again.
  conns[1].lines.next('c');
  conns[1].lines.next('d');
  budget.endTurn();
  t.is(logs.length, 3);
  t.regex(logs[2], /^overloaded: reading paused for 1 connections/);
  t.is(budget.episodes, 2);
});

test('property: whatever the costs and turns, every line passes once, in order, and no turn runs far past its budget', (t) => {
  // A fixed pseudo-random walk (no dependency on luck): 3 connections, 200 events.
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const { clock, budget } = setup(5);
  const conns = [0, 1, 2].map(() => connection(budget, clock, 0));
  const sent: string[][] = [[], [], []];
  let turnStart: number | undefined;
  let longest = 0;
  for (let step = 0; step < 200; step++) {
    const r = random();
    if (r < 0.15) {
      // The loop comes round: the turn that ends here must not have run past budget + one line's cost.
      if (turnStart !== undefined) longest = Math.max(longest, clock.now - turnStart);
      turnStart = undefined;
      budget.endTurn();
      continue;
    }
    const i = Math.floor(random() * 3);
    const line = `${i}-${sent[i].length}`;
    sent[i].push(line);
    const before = conns[i].out.length;
    if (turnStart === undefined) turnStart = clock.now;
    conns[i].lines.next(line);
    if (conns[i].out.length > before) clock.now += Math.floor(random() * 4); // its cost: 0-3 ms
  }
  for (let k = 0; k < 100 && budget.paused > 0; k++) budget.endTurn();
  t.deepEqual(
    conns.map((c) => c.out),
    sent,
  );
  t.true(longest <= 5 + 3, `a turn ran ${longest} ms`);
});

test('a turn end run during a release (by what a released line set off) starts no new turn', (t) => {
  const { clock, budget } = setup(5);
  const c = connection(budget, clock, 3);
  const other = connection(budget, clock, 3);
  c.lines.next('a');
  c.lines.next('b'); // 3 -> 6: spent
  for (const l of ['c', 'd', 'e']) c.lines.next(l);
  for (const l of ['o', 'p']) other.lines.next(l);
  // Handling a released line ends the turn again, re-entrantly.
  let nested = 0;
  c.out.push = (...items: string[]) => {
    nested++;
    budget.endTurn();
    return Array.prototype.push.apply(c.out, items);
  };
  budget.endTurn(); // c (0 -> 3), o (3 -> 6): spent, whatever the nested calls said
  t.true(nested >= 1);
  t.deepEqual([c.out.slice(), other.out], [['a', 'b', 'c'], ['o']]);
  budget.endTurn();
  t.deepEqual(
    [c.out.slice(), other.out],
    [
      ['a', 'b', 'c', 'd'],
      ['o', 'p'],
    ],
  );
});
