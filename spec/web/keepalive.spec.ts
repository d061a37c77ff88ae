/**
 * The page's idle rule (web/keepalive.js) in virtual time: a present reader is never kicked,
 * a hidden or abandoned tab says nothing and is freed, and the page never chatters. The
 * server's side is modelled as its rule says: a connection silent for the timeout is kicked.
 */
import test from 'ava';
import fc from 'fast-check';
import { asyncScheduler } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';

interface Clock {
  now(): number;
  schedule(fn: () => void, ms: number): () => void;
}
interface KeepAlive {
  start(idleTimeoutMs?: number): void;
  stop(): void;
  sent(): void;
  interacted(): void;
}
interface KeepAliveModule {
  PRESENCE_MS: number;
  DEFAULT_IDLE_TIMEOUT_MS: number;
  intervalFor(idleTimeoutMs: number): number;
  keepAlive(options: { presenceMs?: number }, page: { visible(): boolean; send(): void }, clock?: Clock): KeepAlive;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the page's plain script (UMD, no types), loaded as node loads it
const page = require('../../web/keepalive.js') as KeepAliveModule;

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/** What a person and the page do, at a time (ms from opening the page). */
type Act = { readonly at: number; readonly kind: 'interact' | 'hide' | 'show' | 'say' };

interface Run {
  /** When the page spoke: its own lines ('say') and keep-alives. */
  readonly lines: readonly number[];
  readonly keepAlives: readonly number[];
  /** Whether a person was there at time t (visible, and touched the page within the window). */
  present(t: number): boolean;
}

/**
 * Opens the page at 0 (connected at once), plays the acts, runs until `until`. A tab coming
 * into view counts as an interaction, as web/app.js wires it.
 */
function run(acts: readonly Act[], options: { idleTimeoutMs: number; presenceMs?: number; until: number }): Run {
  const lines: number[] = [];
  const keepAlives: number[] = [];
  const presenceMs = options.presenceMs ?? page.PRESENCE_MS;
  new TestScheduler(() => {}).run(({ flush }) => {
    const now = () => asyncScheduler.now();
    const clock: Clock = {
      now,
      schedule: (fn, ms) => {
        const sub = asyncScheduler.schedule(fn, ms);
        return () => sub.unsubscribe();
      },
    };
    let visible = true;
    const alive = page.keepAlive(
      { presenceMs },
      {
        visible: () => visible,
        send: () => {
          lines.push(now());
          keepAlives.push(now());
        },
      },
      clock,
    );
    // The acts are scheduled first: at the same instant as a keep-alive, they come before it
    // (as present() reads them).
    for (const act of acts) {
      asyncScheduler.schedule(() => {
        if (act.kind === 'hide') visible = false;
        if (act.kind === 'show') {
          visible = true;
          alive.interacted();
        }
        if (act.kind === 'interact') alive.interacted();
        if (act.kind === 'say') {
          lines.push(now());
          alive.sent();
        }
      }, act.at);
    }
    alive.start(options.idleTimeoutMs);
    asyncScheduler.schedule(() => alive.stop(), options.until);
    flush();
  });
  const present = (t: number): boolean => {
    let visible = true;
    let last = 0;
    for (const act of acts) {
      if (act.at > t) break;
      if (act.kind === 'hide') visible = false;
      if (act.kind === 'show') visible = true;
      if (act.kind === 'show' || act.kind === 'interact') last = act.at;
    }
    return visible && t - last < presenceMs;
  };
  return { lines: lines.sort((a, b) => a - b), keepAlives, present };
}

/** When the server would kick: the first moment the page was silent for the timeout, if any. */
function kickAt(lines: readonly number[], idleTimeoutMs: number, until: number): number | undefined {
  let last = 0; // connecting is activity
  for (const t of [...lines, until]) {
    if (t - last >= idleTimeoutMs) return last + idleTimeoutMs;
    last = t;
  }
  return undefined;
}

test('the silence the page allows itself: 45 s for the default 60 s, half a short timeout', (t) => {
  t.is(page.DEFAULT_IDLE_TIMEOUT_MS, 60 * SECOND);
  t.is(page.intervalFor(60 * SECOND), 45 * SECOND);
  t.is(page.intervalFor(600 * SECOND), 585 * SECOND);
  t.is(page.intervalFor(10 * SECOND), 5 * SECOND);
  t.is(page.intervalFor(1 * SECOND), 500);
  t.is(page.PRESENCE_MS, 10 * MINUTE);
});

test('a reader who opened the page and never touched it: kept in for ten minutes, then freed', (t) => {
  const r = run([], { idleTimeoutMs: 60 * SECOND, until: 30 * MINUTE });
  // Every 45 s while the ten minutes last (13 x 45 s = 585 s), then nothing.
  t.deepEqual(
    r.keepAlives,
    Array.from({ length: 13 }, (_, i) => (i + 1) * 45 * SECOND),
  );
  t.is(kickAt(r.lines, 60 * SECOND, 30 * MINUTE), 645 * SECOND);
});

test('a reader who moves the mouse now and then stays for as long as they do', (t) => {
  const acts: Act[] = Array.from({ length: 6 }, (_, i) => ({ at: (i + 1) * 9 * MINUTE, kind: 'interact' }));
  const r = run(acts, { idleTimeoutMs: 60 * SECOND, until: 2 * 60 * MINUTE });
  // Present until 54 + 10 = 64 minutes: never silent for a minute before that.
  const kick = kickAt(r.lines, 60 * SECOND, 2 * 60 * MINUTE);
  t.truthy(kick);
  t.true(kick! > 64 * MINUTE && kick! <= 65 * MINUTE, String(kick));
});

test('the page speaking for itself restarts the silence: no keep-alive while the user chats', (t) => {
  const acts: Act[] = Array.from({ length: 10 }, (_, i) => ({ at: (i + 1) * 30 * SECOND, kind: 'say' }));
  const r = run(acts, { idleTimeoutMs: 60 * SECOND, until: 5 * MINUTE + 30 * SECOND });
  t.deepEqual(r.keepAlives, []);
  t.is(kickAt(r.lines, 60 * SECOND, 5 * MINUTE + 30 * SECOND), undefined);
});

test('a background tab says nothing and is kicked; brought back in time, it speaks at once', (t) => {
  const hidden = run([{ at: 10 * SECOND, kind: 'hide' }], { idleTimeoutMs: 60 * SECOND, until: 10 * MINUTE });
  t.deepEqual(hidden.keepAlives, []);
  t.is(kickAt(hidden.lines, 60 * SECOND, 10 * MINUTE), 60 * SECOND);
  // Hidden at 10 s, back at 50 s: overdue (45 s), so it speaks when it comes back.
  const back = run(
    [
      { at: 10 * SECOND, kind: 'hide' },
      { at: 50 * SECOND, kind: 'show' },
    ],
    { idleTimeoutMs: 60 * SECOND, until: 3 * MINUTE },
  );
  t.deepEqual(back.keepAlives, [50 * SECOND, 95 * SECOND, 140 * SECOND]);
});

test('after stop (the connection closed) nothing is sent, whatever the person does', (t) => {
  const lines: number[] = [];
  new TestScheduler(() => {}).run(({ flush }) => {
    const clock: Clock = {
      now: () => asyncScheduler.now(),
      schedule: (fn, ms) => {
        const sub = asyncScheduler.schedule(fn, ms);
        return () => sub.unsubscribe();
      },
    };
    const alive = page.keepAlive({}, { visible: () => true, send: () => lines.push(asyncScheduler.now()) }, clock);
    alive.start(1000);
    asyncScheduler.schedule(() => alive.stop(), 1200);
    asyncScheduler.schedule(() => alive.interacted(), 3000);
    asyncScheduler.schedule(() => alive.sent(), 4000);
    flush();
  });
  t.deepEqual(lines, [500, 1000]);
});

const act = (until: number) =>
  fc.record({ at: fc.integer({ min: 0, max: until / 500 }).map((n) => n * 500), kind: fc.constantFrom<Act['kind']>('interact', 'hide', 'show', 'say') });

test('any person, any tab: kicked only when nobody was there; absent, never a keep-alive; never chatty', (t) => {
  const UNTIL = 40 * MINUTE;
  const fail = (why: string): never => {
    throw new Error(why);
  };
  // Violations throw, so that fast-check shrinks them and names the smallest case.
  t.notThrows(() =>
    fc.assert(
      fc.property(
        fc.array(act(UNTIL), { maxLength: 30 }).map((acts) => [...acts].sort((a, b) => a.at - b.at)),
        fc.constantFrom(1 * SECOND, 5 * SECOND, 60 * SECOND, 90 * SECOND),
        fc.constantFrom(30 * SECOND, 2 * MINUTE, 10 * MINUTE),
        (acts, idleTimeoutMs, presenceMs) => {
          const r = run(acts, { idleTimeoutMs, presenceMs, until: UNTIL });
          const interval = page.intervalFor(idleTimeoutMs);
          // 1. A kick means nobody was there from the moment the page was due to speak to the
          //    kick: not even for an instant (coming back in time rescues the connection).
          let last = 0;
          for (const at of [...r.lines, UNTIL]) {
            if (at - last >= idleTimeoutMs) {
              for (let moment = last + interval; moment < last + idleTimeoutMs; moment += 500) {
                if (r.present(moment)) fail(`silent from ${last} to ${at} though someone was there at ${moment}`);
              }
            }
            last = at;
          }
          for (const at of r.keepAlives) {
            // 2. A keep-alive only when a person is there.
            if (!r.present(at)) fail(`keep-alive at ${at} with nobody there`);
            // 3. Never sooner than the interval after the page last spoke.
            const before = r.lines.filter((l) => l < at);
            const previous = before.length > 0 ? before[before.length - 1] : 0;
            if (at - previous < interval) fail(`keep-alive at ${at}, ${at - previous} ms after the last line`);
          }
        },
      ),
      { numRuns: 300 },
    ),
  );
});
