/**
 * `session()` (one object per connection, lib/session.ts) against its definition, the
 * composition of operators it was first written as (spec/helpers/composed-session.ts): the same
 * random scripts of users joining, talking, renaming, whispering, asking for history, going
 * quiet, flooding and leaving, run once on each in virtual time, must give every user the
 * same lines at the same frames, in the same order across users.
 */
import test from 'ava';
import { Observable, Subject, Subscription, map, timer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { Answer, Hub, MemoryHub } from '../lib/hub';
import { Framed, TOO_LONG } from '../lib/lines';
import { Chunk, Line } from '../lib/outbox';
import { Event, renderEvent } from '../lib/protocol';
import { Output, SessionOptions, session } from '../lib/session';
import { MessageLog, formatId, isLogged } from '../lib/store/log';
import { MemoryLog } from '../lib/store/memory';
import { zh } from '../lib/texts';
import { composedSession } from './helpers/composed-session';

type Run = (lines$: Observable<Framed>, options: SessionOptions) => Observable<Output>;

/** A small seeded PRNG (mulberry32): a failing seed can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Script {
  readonly users: readonly {
    readonly addr: string;
    readonly join: number;
    /** Unsubscribed then (the transport closed), if before the script's end. */
    readonly drop?: number;
    readonly lines: readonly { readonly at: number; readonly line: Framed }[];
    /** The user's input ends then (its FIN), if it does. */
    readonly end?: number;
  }[];
  readonly rateLimit: number;
  readonly idleMs: number;
  readonly history: boolean;
  /** The hub answers its questions a few frames later, as a shared (Redis) hub does. */
  readonly slowHub: boolean;
  /** The log answers `last` and `after` a few frames later, as the cluster's stream does. */
  readonly slowLog: boolean;
}

const ADDRS = ['10.0.0.1:1', '10.0.0.2:2', '10.0.0.3:3'];

function scriptOf(seed: number): Script {
  const r = random(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
  const ids = [0, 3, 10, 25, 60].map((ms) => formatId({ ms, seq: 0 }));
  const vocabulary: (() => Framed)[] = [
    () => 'hi',
    () => `m${Math.floor(r() * 100)}`,
    () => '',
    () => 'who',
    () => pick(['rename|x', 'rename|y', 'rename|', `rename|${pick(ADDRS)}`]),
    () => pick(['to|x|hey', `to|${pick(ADDRS)}|yo`, 'to|nobody|hm', 'to|bad']),
    () => pick(['cap|tags', 'cap|other']),
    () => pick(['history|2', 'history|5', 'history|', 'history|x']),
    () => `since|${pick(ids)}`,
    () => TOO_LONG,
    () => pick(['register|pw', 'login|a|b', 'logout']),
  ];
  const users = ADDRS.map((addr) => {
    const join = Math.floor(r() * 10);
    const lines: { at: number; line: Framed }[] = [];
    let at = join;
    const n = Math.floor(r() * 14);
    // Bursts now and then, so that the rate limit and flooding come into play.
    for (let i = 0; i < n; i++) {
      at += r() < 0.3 ? 0 : 1 + Math.floor(r() * 12);
      lines.push({ at, line: pick(vocabulary)() });
    }
    // Now and then a flood: more lines at once than the rate limit lets pass, long enough to be cut off.
    if (r() < 0.15) {
      const flood = lines.length > 0 ? lines[Math.floor(r() * lines.length)].at : join;
      for (let i = 0; i < 25; i++) lines.push({ at: flood, line: `spam${i}` });
      lines.sort((a, b) => a.at - b.at);
      at = Math.max(at, flood);
    }
    const drop = r() < 0.3 ? join + 5 + Math.floor(r() * 80) : undefined;
    const end = r() < 0.3 ? at + 1 + Math.floor(r() * 10) : undefined;
    return { addr, join, drop, lines, end };
  });
  return {
    users,
    rateLimit: r() < 0.4 ? pick([1, 50]) : 0,
    idleMs: pick([15, 37, 1000]),
    history: r() < 0.7,
    slowHub: r() < 0.4,
    slowLog: r() < 0.4,
  };
}

/** A hub whose questions are answered `delay` frames later (the effect itself happens at once). */
function slowHub(inner: MemoryHub, delay: number, scheduler: TestScheduler): Hub {
  const later = <T>(value: T): Answer<T> => timer(delay, scheduler).pipe(map(() => value));
  return {
    events$: inner.events$,
    inbox: (id) => inner.inbox(id),
    join: (member) => later(inner.join(member)),
    leave: (id) => inner.leave(id),
    rename: (id, name) => later(inner.rename(id, name)),
    claim: (id, name) => later(inner.claim(id, name)),
    list: () => later(inner.list()),
    say: (id, text) => inner.say(id, text),
    whisper: (from, to, text) => later(inner.whisper(from, to, text)),
    get size() {
      return inner.size;
    },
    close: () => inner.close(),
  };
}

function slowLog(log: MemoryLog, delay: number, scheduler: TestScheduler): MessageLog {
  return {
    stamp: (event) => log.stamp(event),
    commit: () => log.commit(),
    last: (n) => timer(delay, scheduler).pipe(map(() => log.last(n))),
    after: (id, limit) => timer(delay, scheduler).pipe(map(() => log.after(id, limit))),
    get degraded() {
      return log.degraded;
    },
    close: () => log.close(),
  };
}

/** What a user is given, comparable across the two runs. */
function shown(out: Output): string {
  if (typeof out === 'string') return out;
  if (out instanceof Line) return `${out.text} @${out.stamp?.id ?? '-'}`;
  if (out instanceof Chunk) return out.lines.map(shown).join(' / ');
  return `close:${out.close}`;
}

/** Runs a script on `run`; returns every emission, `frame user what`, in order. */
function play(script: Script, run: Run): string[] {
  const seen: string[] = [];
  const scheduler = new TestScheduler(() => {});
  scheduler.run(() => {
    const memoryHub = new MemoryHub();
    const hub = script.slowHub ? slowHub(memoryHub, 3, scheduler) : memoryHub;
    const memoryLog = new MemoryLog({ maxLines: 1000, now: () => scheduler.now() });
    const log = script.slowLog ? slowLog(memoryLog, 2, scheduler) : memoryLog;
    // The server's broadcast: each event stamped and rendered once for every session.
    const broadcast$ = new Subject<Line>();
    const stamp = (event: Event) => (script.history && isLogged(event) ? memoryLog.stamp(event) : undefined);
    // Lives as long as the run's hub (the scheduler's run ends with it).
    const events = memoryHub.events$.subscribe((event) => broadcast$.next(new Line(renderEvent(event, zh), stamp(event))));
    scheduler.schedule(() => events.unsubscribe(), 2001);
    for (const user of script.users) {
      const input$ = new Subject<Framed>();
      let subscription: Subscription | undefined;
      scheduler.schedule(() => {
        subscription = run(input$, {
          hub,
          texts: zh,
          addr: user.addr,
          id: user.addr,
          broadcast$,
          history: script.history ? { log, page: 4 } : undefined,
          idleMs: script.idleMs,
          maxLineBytes: 16,
          rateLimit: script.rateLimit,
          rateBurst: 2,
          scheduler,
        }).subscribe({
          next: (out) => seen.push(`${scheduler.now()} ${user.addr} ${shown(out)}`),
          error: (err: unknown) => seen.push(`${scheduler.now()} ${user.addr} error ${String(err)}`),
          complete: () => seen.push(`${scheduler.now()} ${user.addr} complete`),
        });
      }, user.join);
      for (const { at, line } of user.lines) scheduler.schedule(() => input$.next(line), at);
      if (user.end !== undefined) scheduler.schedule(() => input$.complete(), user.end);
      if (user.drop !== undefined) scheduler.schedule(() => subscription?.unsubscribe(), user.drop);
    }
    // Everyone still there leaves at the end, so that every leave is seen.
    scheduler.schedule(() => seen.push('end'), 2000);
  });
  return seen;
}

test('session() gives every user what the composed operators give, frame for frame (400 random scripts)', (t) => {
  let compared = 0;
  for (let seed = 1; seed <= 400; seed++) {
    const script = scriptOf(seed);
    const expected = play(script, composedSession);
    const actual = play(script, session);
    t.deepEqual(actual, expected, `seed ${seed}: ${JSON.stringify(script)}`);
    if (actual.join('\n') !== expected.join('\n')) return;
    compared += expected.length;
  }
  // The scripts exercise what they are meant to: replays, kicks, floods and slow answers.
  t.true(compared > 10_000, `${compared} emissions compared`);
});

test('the scripts reach every path: replays, idle kicks, floods, renames, private lines', (t) => {
  const all = Array.from({ length: 400 }, (_, i) => play(scriptOf(i + 1), session).join('\n')).join('\n');
  for (const what of ['history|end', 'history|unknown', 'close:idle', 'close:flood', zh.rateLimited(1), '@', 'cap|ack|tags', zh.renamed('x'), zh.nameTaken]) {
    t.true(all.includes(what), `some script gives ${what}`);
  }
  t.regex(all, / : (hey|yo) @/, 'a private line is delivered');
});
