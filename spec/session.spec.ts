import test from 'ava';
import { Observable, map, timer } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { Hub, MemoryHub } from '../lib/hub';
import { Framed, TOO_LONG } from '../lib/lines';
import { Line } from '../lib/outbox';
import { Output, session, textOf } from '../lib/session';
import { en, Texts, zh } from '../lib/texts';
import { marbles } from './helpers/marbles';

// Sessions composed from streams alone: no socket anywhere.
const A = '10.0.0.1:1001';
const B = '10.0.0.2:1002';
const C = '10.0.0.3:1003';

/** Lines shared with other recipients as their text, for the marble diagrams. */
const plain = (out: Output): Output => (out instanceof Line ? out.text : out);

function world(scheduler: TestScheduler, texts: Texts = zh, extra: { rateLimit?: number; rateBurst?: number } = {}) {
  const hub = new MemoryHub();
  const user = (addr: string, lines$: Observable<Framed>): Observable<Output> =>
    session(lines$, { hub, texts, addr, id: addr, idleMs: 60_000, maxLineBytes: 16, scheduler, ...extra }).pipe(map(plain));
  return { hub, user };
}

test('the newcomer and everyone already online see the join line', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, expectObservable }) => {
    const { user } = world(scheduler);
    expectObservable(user(A, hot('-')), '^ 30ms !').toBe('a 4ms b 5ms o', { a: `[${A}]${A}:已上线`, b: `[${B}]${B}:已上线`, o: `[${B}]${B}:已下线` });
    expectObservable(user(B, hot('-')), '5ms ^ 5ms !').toBe('5ms b', { b: `[${B}]${B}:已上线` });
  });
});

test('a plain line reaches everyone, the sender included; an empty line reaches nobody', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, expectObservable }) => {
    const { user } = world(scheduler);
    const said = `[${A}]${A}:hello 世界`;
    expectObservable(user(A, hot('--x-y', { x: '', y: 'hello 世界' })), '^ 30ms !').toBe('ab--s 5ms o', {
      a: `[${A}]${A}:已上线`,
      b: `[${B}]${B}:已上线`,
      s: said,
      o: `[${B}]${B}:已下线`,
    });
    expectObservable(user(B, hot('-')), '-^ 8ms !').toBe('-b--s', { b: `[${B}]${B}:已上线`, s: said });
  });
});

test('who lists everyone online, in join order, to the asker alone', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, expectObservable }) => {
    const { user } = world(scheduler);
    expectObservable(user(A, hot('-')), '^ 30ms !').toBe('ab 8ms o', { a: `[${A}]${A}:已上线`, b: `[${B}]${B}:已上线`, o: `[${B}]${B}:已下线` });
    expectObservable(user(B, hot('---w', { w: 'who' })), '-^ 8ms !').toBe('-b-(xy)', {
      b: `[${B}]${B}:已上线`,
      x: `[${A}]${A}:在线...`,
      y: `[${B}]${B}:在线...`,
    });
  });
});

test('rename: free, taken (also by case), invalid; the new name is used from then on', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, expectObservable }) => {
    const { user } = world(scheduler);
    expectObservable(user(A, hot('--r-----s', { r: 'rename|Alice', s: 'hi' })), '^ 30ms !').toBe('abr 5ms s 11ms o', {
      a: `[${A}]${A}:已上线`,
      b: `[${B}]${B}:已上线`,
      r: '您已更改用户名为:Alice',
      s: `[${A}]Alice:hi`,
      o: `[${B}]${B}:已下线`,
    });
    expectObservable(user(B, hot('----xyzw-', { x: 'rename|Alice', y: 'rename|alice', z: 'rename|a b', w: `rename|${C}` })), '-^ 18ms !').toBe('-b--xyzws', {
      b: `[${B}]${B}:已上线`,
      x: '当前用户名已经被使用!',
      y: '当前用户名已经被使用!',
      z: '用户名无效:不能包含空白字符',
      w: '用户名无效:不能使用"地址:端口"形式的名字',
      s: `[${A}]Alice:hi`,
    });
  });
});

test('renaming to your own name, or its other case, succeeds', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, expectObservable }) => {
    const { user } = world(scheduler);
    expectObservable(user(A, hot('-xyw', { x: 'rename|bob', y: 'rename|Bob', w: 'who' })), '^ 9ms !').toBe('axyw', {
      a: `[${A}]${A}:已上线`,
      x: '您已更改用户名为:bob',
      y: '您已更改用户名为:Bob',
      w: `[${A}]Bob:在线...`,
    });
  });
});

test('to|NAME|TEXT reaches NAME alone; unknown names and bad formats get notices', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, expectObservable }) => {
    const { user } = world(scheduler);
    const a$ = hot('-----r', { r: 'rename|alice' });
    const b$ = hot('-------pqu', { p: 'to|ALICE|a|b', q: 'to|alice', u: 'to|nobody|hi' });
    expectObservable(user(A, a$), '^ 30ms !').toBe('a(bc)r-p--x 11ms y', {
      a: `[${A}]${A}:已上线`,
      b: `[${B}]${B}:已上线`,
      c: `[${C}]${C}:已上线`,
      r: '您已更改用户名为:alice',
      p: `${B} : a|b`,
      x: `[${C}]${C}:已下线`,
      y: `[${B}]${B}:已下线`,
    });
    expectObservable(user(B, b$), '-^ 20ms !').toBe('-(bc) 3ms qux', {
      b: `[${B}]${B}:已上线`,
      c: `[${C}]${C}:已上线`,
      q: '私聊消息格式不正确,请使用"to|张三|张三你好..."格式',
      u: 'nobody用户不存在',
      x: `[${C}]${C}:已下线`,
    });
    expectObservable(user(C, hot('-')), '-^ 8ms !').toBe('-c', { c: `[${C}]${C}:已上线` });
  });
});

test('an over-long line gets a notice and nothing is broadcast', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, expectObservable }) => {
    const { user } = world(scheduler);
    expectObservable(user(A, hot('-x-y', { x: TOO_LONG, y: 'ok' })), '^ 9ms !').toBe('an-s', {
      a: `[${A}]${A}:已上线`,
      n: '消息过长(最多16字节),已丢弃',
      s: `[${A}]${A}:ok`,
    });
  });
});

test('60 s of silence kicks: the kick line, a close, and the others see one leave', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, expectObservable }) => {
    const { user } = world(scheduler);
    // B stays active (a line every 30 s) and asks who is online after A's kick.
    const b$ = hot('30s k 29999ms k 999ms w', { k: '', w: 'who' });
    expectObservable(user(A, hot('-'))).toBe('(ab) 59996ms (kc|)', {
      a: `[${A}]${A}:已上线`,
      b: `[${B}]${B}:已上线`,
      k: '你被踢了',
      c: { close: 'idle' },
    });
    expectObservable(user(B, b$), '^ 62s !').toBe('b 59999ms o 999ms w', {
      b: `[${B}]${B}:已上线`,
      o: `[${A}]${A}:已下线`,
      w: `[${B}]${B}:在线...`,
    });
  });
});

test('a line at 59 s postpones the kick by another 60 s', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, expectObservable }) => {
    const { user } = world(scheduler);
    expectObservable(user(A, hot('59s x', { x: '' }))).toBe('a 118999ms (kc|)', { a: `[${A}]${A}:已上线`, k: '你被踢了', c: { close: 'idle' } });
  });
});

test('a user who leaves is announced once to the others, and the session ends', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, cold, expectObservable }) => {
    const { user, hub } = world(scheduler);
    expectObservable(user(A, cold('--|')), '^ 9ms !').toBe('ab|', { a: `[${A}]${A}:已上线`, b: `[${B}]${B}:已上线` });
    expectObservable(user(B, hot('-')), '-^ 8ms !').toBe('-bo', { b: `[${B}]${B}:已上线`, o: `[${A}]${A}:已下线` });
    scheduler.schedule(() => t.is(hub.size, 1), 5);
  });
});

test('a user whose connection is torn down (unsubscribed) is announced once too', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, expectObservable }) => {
    const { user } = world(scheduler);
    expectObservable(user(A, hot('-')), '^ 3ms !').toBe('ab', { a: `[${A}]${A}:已上线`, b: `[${B}]${B}:已上线` });
    expectObservable(user(B, hot('-')), '-^ 8ms !').toBe('-b--o', { b: `[${B}]${B}:已上线`, o: `[${A}]${A}:已下线` });
  });
});

test('flooding: excess lines are dropped with one notice, sustained abuse disconnects', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, expectObservable }) => {
    const { user } = world(scheduler, zh, { rateLimit: 1, rateBurst: 2 });
    const burst = 'x'.repeat(30);
    expectObservable(user(A, hot(`-(${burst})`, { x: 'spam' }))).toBe('a(ssnfc|)', {
      a: `[${A}]${A}:已上线`,
      s: `[${A}]${A}:spam`,
      n: '发言过快(每秒最多1条),多出的消息已丢弃',
      f: '持续刷屏,你被断开了',
      c: { close: 'flood' },
    });
  });
});

test('the English catalogue gives every text in English', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, expectObservable }) => {
    const { user } = world(scheduler, en);
    expectObservable(user(A, hot('-wrtx', { w: 'who', r: 'rename|a b', t: 'to|zed|hi', x: 'to|zed' })), '^ 9ms !').toBe('awrtx', {
      a: `[${A}]${A}:is online`,
      w: `[${A}]${A}:online...`,
      r: 'Invalid name: it must not contain whitespace',
      t: 'zed: no such user',
      x: 'Bad private message format, use "to|alice|hello alice..."',
    });
  });
});

test('lines sent while a slow hub is still taking the join are kept and answered after it, in order', (t) => {
  const scheduler = marbles(t);
  scheduler.run(({ hot, expectObservable }) => {
    const hub = new MemoryHub();
    // A shared hub (Redis) answers the join later: here 5 ms later, in virtual time.
    const slow = Object.create(hub) as Hub;
    slow.join = (member) => timer(5).pipe(map(() => hub.join(member)));
    const lines$ = hot('-w-x|', { w: 'who', x: 'hi' });
    expectObservable(session(lines$, { hub: slow, texts: en, addr: A, id: A, idleMs: 60_000, maxLineBytes: 16, scheduler }).pipe(map(plain))).toBe(
      '-----(jwx|)',
      {
        j: `[${A}]${A}:is online`,
        w: `[${A}]${A}:online...`,
        x: `[${A}]${A}:hi`,
      },
    );
  });
});

test('a long replay leaves in chunks, one a turn of the event loop, so other users are not held up', async (t) => {
  const { MemoryLog } = await import('../lib/store/memory');
  const { REPLAY_CHUNK } = await import('../lib/session');
  const { Subject } = await import('rxjs');
  const hub = new MemoryHub();
  const log = new MemoryLog({ maxLines: 10_000 });
  for (let i = 0; i < 2 * REPLAY_CHUNK + 10; i++) log.stamp({ kind: 'say', addr: B, name: B, text: `m${i}` });
  const lines$ = new Subject<string>();
  const out: string[] = [];
  let ended = () => {};
  const end = new Promise<void>((resolve) => (ended = resolve));
  const subscription = session(lines$, { hub, texts: en, addr: A, id: A, idleMs: 60_000, maxLineBytes: 64, history: { log, page: 10_000 } }).subscribe((o) => {
    const line = textOf(o) ?? '(closed)';
    out.push(line);
    if (line === 'history|end') ended();
  });
  out.length = 0; // the join
  lines$.next(`history|${2 * REPLAY_CHUNK + 10}`);
  t.is(out.length, REPLAY_CHUNK, 'the first chunk at once, nothing more in this turn');
  await end;
  t.is(out.length, 2 * REPLAY_CHUNK + 10 + 1, 'the rest on later turns, then history|end');
  t.is(out[0], `[${B}]${B}:m0`);
  t.is(out[out.length - 1], 'history|end');
  subscription.unsubscribe();
});

test('a hub that throws while the session starts: the output errors, and what the session had already subscribed is released', async (t) => {
  const { Subject } = await import('rxjs');
  const inner = new MemoryHub();
  const hub: Hub = {
    events$: inner.events$,
    inbox: () => {
      throw new Error('inbox down');
    },
    join: (member) => inner.join(member),
    leave: (id) => inner.leave(id),
    rename: (id, name) => inner.rename(id, name),
    claim: (id, name) => inner.claim(id, name),
    list: () => inner.list(),
    say: (id, text) => inner.say(id, text),
    whisper: (from, to, text) => inner.whisper(from, to, text),
    get size() {
      return inner.size;
    },
    close: () => inner.close(),
  };
  const broadcast$ = new Subject<Line>();
  const errors: string[] = [];
  const subscription = session(new Subject<Framed>(), { hub, texts: en, addr: A, id: A, idleMs: 60_000, maxLineBytes: 64, broadcast$ }).subscribe({
    error: (err: unknown) => errors.push((err as Error).message),
  });
  t.deepEqual(errors, ['inbox down']);
  t.true(subscription.closed);
  t.false(broadcast$.observed, 'the broadcast it had subscribed is released');
});
