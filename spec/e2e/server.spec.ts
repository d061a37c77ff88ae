/**
 * End-to-end over real TCP sockets: an in-process ChatServer on 127.0.0.1, port 0, and raw
 * clients. Every row of the README's protocol table, in zh and en, plus framing across real
 * TCP writes. Tests synchronise on replies (see TcpClient.sync), never on sleeps.
 */
import test, { ExecutionContext } from 'ava';
import { ChatServer, ServerOptions } from '../../lib/server';
import { Lang } from '../../lib/texts';
import { TcpClient, connect } from '../helpers/tcp';

/** The wire texts as the README's protocol table gives them: literal, so a drifting catalogue fails. */
const WIRE = {
  zh: {
    online: '已上线',
    offline: '已下线',
    listed: '在线...',
    renamed: (name: string) => `您已更改用户名为:${name}`,
    taken: '当前用户名已经被使用!',
    invalidPrefix: '用户名无效:',
    privateFormat: '私聊消息格式不正确,请使用"to|张三|张三你好..."格式',
    noSuchUser: (name: string) => `${name}用户不存在`,
    tooLong: (max: number) => `消息过长(最多${max}字节),已丢弃`,
    kicked: '你被踢了',
    shutdown: '服务器正在关闭',
  },
  en: {
    online: 'is online',
    offline: 'is offline',
    listed: 'online...',
    renamed: (name: string) => `Your name is now:${name}`,
    taken: 'That name is already in use!',
    invalidPrefix: 'Invalid name: ',
    privateFormat: 'Bad private message format, use "to|alice|hello alice..."',
    noSuchUser: (name: string) => `${name}: no such user`,
    tooLong: (max: number) => `Message too long (at most ${max} bytes), discarded`,
    kicked: 'You were kicked (idle too long)',
    shutdown: 'The server is shutting down',
  },
} as const;

const LANGS: readonly Lang[] = ['zh', 'en'];

/** `[addr]name:suffix`, the reference's user line. */
const line = (addr: string, name: string, suffix: string) => `[${addr}]${name}:${suffix}`;

interface Started {
  readonly server: ChatServer;
  readonly port: number;
  /** Resolves with the first server log line matching `pattern` (rejects after `timeoutMs`). */
  logged: (pattern: RegExp, timeoutMs?: number) => Promise<string>;
}

async function startServer(t: ExecutionContext, options: ServerOptions = {}): Promise<Started> {
  const log: string[] = [];
  const waiters: (() => void)[] = [];
  const server = new ChatServer({
    host: '127.0.0.1',
    port: 0,
    ...options,
    log: (entry) => {
      log.push(entry);
      for (const wake of waiters.splice(0)) wake();
    },
  });
  const { port } = await server.listen();
  t.teardown(() => server.close(100));
  const logged = (pattern: RegExp, timeoutMs = 3000) =>
    new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no log line matching ${pattern} within ${timeoutMs} ms; log: ${JSON.stringify(log)}`)), timeoutMs);
      const check = () => {
        const found = log.find((entry) => pattern.test(entry));
        if (found === undefined) return void waiters.push(check);
        clearTimeout(timer);
        resolve(found);
      };
      check();
    });
  return { server, port, logged };
}

/** `s` as a RegExp source matching itself. */
const literal = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * Connects `n` clients one after the other; each sees its own join, and everyone already
 * there sees it too (all of which is read here, so each client starts with nothing unread).
 */
async function room(t: ExecutionContext, port: number, n: number, lang: Lang): Promise<TcpClient[]> {
  const clients: TcpClient[] = [];
  for (let i = 0; i < n; i++) {
    const client = await connect(port);
    t.teardown(() => client.destroy());
    clients.push(client);
    const joined = line(client.addr, client.addr, WIRE[lang].online);
    for (const c of clients) await c.expectLine(joined);
  }
  return clients;
}

/** Resolves after `ms`: only to make the server read a client's writes as separate chunks. */
const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

for (const lang of LANGS) {
  const w = WIRE[lang];
  const opts: ServerOptions = { lang };

  test(`[${lang}] connect: everyone online, the newcomer included, sees the join line`, async (t) => {
    const { port } = await startServer(t, opts);
    const alice = await connect(port);
    t.teardown(() => alice.destroy());
    await alice.expectLine(line(alice.addr, alice.addr, w.online));
    const bob = await connect(port);
    t.teardown(() => bob.destroy());
    const bobJoined = line(bob.addr, bob.addr, w.online);
    await bob.expectLine(bobJoined); // bob's first line is his own join, not alice's
    await alice.expectLine(bobJoined);
    t.deepEqual(await bob.sync(), []);
    t.deepEqual(await alice.sync(), []);
  });

  test(`[${lang}] a plain line is broadcast to everyone, the sender included`, async (t) => {
    const { port } = await startServer(t, opts);
    const [alice, bob, carol] = await room(t, port, 3, lang);
    await bob.send('hello 世界 | with a bar');
    const expected = line(bob.addr, bob.addr, 'hello 世界 | with a bar');
    for (const c of [alice, bob, carol]) t.is(await c.nextLine(), expected);
  });

  test(`[${lang}] an empty line is not broadcast`, async (t) => {
    const { port } = await startServer(t, opts);
    const [alice, bob] = await room(t, port, 2, lang);
    await alice.send('');
    await alice.send('after');
    const after = line(alice.addr, alice.addr, 'after');
    // The empty line came first: had it been broadcast, it would arrive before `after`.
    t.is(await bob.nextLine(), after);
    t.is(await alice.nextLine(), after);
  });

  test(`[${lang}] who: one line per online user, in join order, to the sender only`, async (t) => {
    const { port } = await startServer(t, opts);
    const [alice, bob, carol] = await room(t, port, 3, lang);
    await alice.send(`rename|alice`);
    await alice.expectLine(w.renamed('alice'));
    t.deepEqual(await carol.who(), [line(alice.addr, 'alice', w.listed), line(bob.addr, bob.addr, w.listed), line(carol.addr, carol.addr, w.listed)]);
    t.deepEqual(await alice.sync(), []);
    t.deepEqual(await bob.sync(), []);
  });

  test(`[${lang}] rename to a free name: confirmed, and the new name is used everywhere`, async (t) => {
    const { port } = await startServer(t, opts);
    const [alice, bob] = await room(t, port, 2, lang);
    await alice.send('rename|爱丽丝');
    await alice.expectLine(w.renamed('爱丽丝'));
    t.deepEqual(await bob.sync(), [], 'a rename is told to the renamer only');
    await alice.send('hi');
    for (const c of [alice, bob]) await c.expectLine(line(alice.addr, '爱丽丝', 'hi'));
    t.deepEqual(await bob.who(), [line(alice.addr, '爱丽丝', w.listed), line(bob.addr, bob.addr, w.listed)]);
  });

  test(`[${lang}] rename to a taken name (also case- and width-insensitively): refused, the old name kept`, async (t) => {
    const { port } = await startServer(t, opts);
    const [alice, bob] = await room(t, port, 2, lang);
    await alice.send('rename|Alice');
    await alice.expectLine(w.renamed('Alice'));
    for (const taken of ['Alice', 'alice', 'ALICE', 'ＡＬＩＣＥ']) {
      await bob.send(`rename|${taken}`);
      t.is(await bob.nextLine(), w.taken, taken);
    }
    t.deepEqual(await alice.sync(), [], 'the holder hears nothing of it');
    await bob.send('still me');
    for (const c of [alice, bob]) t.is(await c.nextLine(), line(bob.addr, bob.addr, 'still me'));
    // Taking one's own name in another case is not a clash.
    await alice.send('rename|ALICE');
    await alice.expectLine(w.renamed('ALICE'));
    t.deepEqual(await bob.who(), [line(alice.addr, 'ALICE', w.listed), line(bob.addr, bob.addr, w.listed)]);
  });

  test(`[${lang}] rename to an invalid name: a notice saying why, for each kind of problem`, async (t) => {
    const { server, port } = await startServer(t, opts);
    const [alice] = await room(t, port, 1, lang);
    const cases: [string, 'length' | 'bar' | 'space' | 'control' | 'address'][] = [
      ['', 'length'],
      ['x'.repeat(33), 'length'],
      ['名'.repeat(33), 'length'],
      ['a|b', 'bar'],
      ['a b', 'space'],
      ['a\u3000b', 'space'],
      ['a\u0007b', 'control'],
      ['a\u001bb', 'control'],
      ['10.0.0.1:5000', 'address'],
      ['[::1]:5000', 'address'],
    ];
    const seen = new Map<string, string>();
    for (const [name, problem] of cases) {
      await alice.send(`rename|${name}`);
      const notice = await alice.nextLine();
      t.true(notice.startsWith(w.invalidPrefix), `${JSON.stringify(name)}: ${notice}`);
      t.is(notice, server.texts.nameInvalid(problem, 32), `${JSON.stringify(name)} is refused for ${problem}`);
      seen.set(problem, notice);
    }
    t.is(new Set(seen.values()).size, 5, 'each kind of problem has its own reason');
    // The longest valid name is accepted, and nothing above changed the name.
    t.deepEqual(await alice.who(), [line(alice.addr, alice.addr, w.listed)]);
    await alice.send(`rename|${'名'.repeat(32)}`);
    await alice.expectLine(w.renamed('名'.repeat(32)));
  });

  test(`[${lang}] to|NAME|TEXT reaches NAME alone, TEXT keeping further bars`, async (t) => {
    const { port } = await startServer(t, opts);
    const [alice, bob, carol] = await room(t, port, 3, lang);
    await bob.send('rename|bob');
    await bob.expectLine(w.renamed('bob'));
    await alice.send('to|bob|a|b | c');
    await bob.expectLine(`${alice.addr} : a|b | c`);
    // The sender's current name, not its address, once it has one.
    await alice.send('rename|alice');
    await alice.expectLine(w.renamed('alice'));
    await alice.send('to|bob|再见');
    await bob.expectLine('alice : 再见');
    t.deepEqual(await alice.sync(), [], 'the sender gets no copy');
    t.deepEqual(await carol.sync(), [], 'nobody else sees it');
    t.deepEqual(await bob.sync(), []);
  });

  test(`[${lang}] to| without a name or a text: the format notice`, async (t) => {
    const { port } = await startServer(t, opts);
    const [alice, bob] = await room(t, port, 2, lang);
    await bob.send(`rename|x`);
    await bob.expectLine(w.renamed('x'));
    for (const bad of ['to|x', 'to||x', 'to|x|', 'to|', 'to||']) {
      await alice.send(bad);
      t.is(await alice.nextLine(), w.privateFormat, bad);
    }
    t.deepEqual(await bob.sync(), [], 'nothing reached x');
  });

  test(`[${lang}] to|NOBODY|TEXT: no such user`, async (t) => {
    const { port } = await startServer(t, opts);
    const [alice, bob] = await room(t, port, 2, lang);
    await alice.send('to|nobody|hi');
    await alice.expectLine(w.noSuchUser('nobody'));
    await alice.send('to|无名氏|hi');
    await alice.expectLine(w.noSuchUser('无名氏'));
    t.deepEqual(await bob.sync(), []);
  });

  test(`[${lang}] a line over maxLineBytes: a notice, the line dropped, the connection still works`, async (t) => {
    const max = 64;
    const { port } = await startServer(t, { ...opts, maxLineBytes: max });
    const [alice, bob] = await room(t, port, 2, lang);
    // Exactly at the limit: accepted (CRLF's CR does not count).
    await alice.write('y'.repeat(max) + '\r\n');
    for (const c of [alice, bob]) await c.expectLine(line(alice.addr, alice.addr, 'y'.repeat(max)));
    // One byte over, in one write, followed by a good line in the same write.
    await alice.write('x'.repeat(max + 1) + '\nafter one\n');
    await alice.expectLine(w.tooLong(max));
    for (const c of [alice, bob]) await c.expectLine(line(alice.addr, alice.addr, 'after one'));
    // Far over, in many writes: one notice, nothing of it broadcast.
    for (let i = 0; i < 20; i++) await alice.write('z'.repeat(500));
    await alice.write('\nafter many\n');
    await alice.expectLine(w.tooLong(max));
    for (const c of [alice, bob]) await c.expectLine(line(alice.addr, alice.addr, 'after many'));
    t.deepEqual(await alice.sync(), []);
    t.deepEqual(await bob.sync(), []);
  });

  test(`[${lang}] idle: the silent user is kicked and disconnected, the others told once, gone from who`, async (t) => {
    // Long enough that a loaded machine's stalls do not kick bob too; the timing itself is
    // tested in virtual time (spec/session.spec.ts).
    const idleTimeoutMs = 1000;
    const { server, port, logged } = await startServer(t, { ...opts, idleTimeoutMs });
    const [bob] = await room(t, port, 1, lang);
    // bob keeps talking (empty lines: activity, never broadcast) so that only alice goes idle.
    const keepAlive = setInterval(() => void bob.send('').catch(() => undefined), idleTimeoutMs / 10);
    t.teardown(() => clearInterval(keepAlive));
    // Taken before connecting: the server's timer starts after this, so the kick can never
    // come sooner than the timeout after it (a lower bound holds however loaded the machine).
    const connecting = Date.now();
    const alice = await connect(port);
    t.teardown(() => alice.destroy());
    t.deepEqual(await alice.rest(5000), [line(alice.addr, alice.addr, w.online), w.kicked], 'her join, the kick, then the connection closes');
    t.true(Date.now() - connecting >= idleTimeoutMs - 5, `kicked after ${Date.now() - connecting} ms`);
    await bob.expectLine(line(alice.addr, alice.addr, w.online));
    await bob.expectLine(line(alice.addr, alice.addr, w.offline), 5000);
    t.deepEqual(await bob.who(), [line(bob.addr, bob.addr, w.listed)], 'one offline line only, and alice is gone');
    clearInterval(keepAlive);
    await logged(new RegExp(`disconnected ${literal(alice.addr)} \\(kicked: idle\\)$`));
    t.is(server.connections, 1);
  });

  // That any line resets the idle timer is timing: tested in virtual time (spec/idle.spec.ts,
  // spec/session.spec.ts), not here with sleeps.

  for (const how of ['cleanly', 'by reset'] as const) {
    test(`[${lang}] disconnect ${how}: the others get exactly one offline line`, async (t) => {
      const { server, port, logged } = await startServer(t, opts);
      const [alice, bob, carol] = await room(t, port, 3, lang);
      await alice.send('rename|alice');
      await alice.expectLine(w.renamed('alice'));
      if (how === 'cleanly') await alice.end();
      else await alice.reset();
      const offline = line(alice.addr, 'alice', w.offline);
      for (const c of [bob, carol]) await c.expectLine(offline);
      for (const c of [bob, carol]) t.deepEqual(await c.who(), [line(bob.addr, bob.addr, w.listed), line(carol.addr, carol.addr, w.listed)]);
      await logged(new RegExp(`disconnected ${literal(alice.addr)}( \\(.*\\))?$`));
      t.is(server.connections, 2);
      // Her name is free again.
      await bob.send('rename|alice');
      await bob.expectLine(w.renamed('alice'));
    });
  }

  test(`[${lang}] server close(): everyone gets the shutdown notice and is disconnected`, async (t) => {
    const { server, port } = await startServer(t, opts);
    const clients = await room(t, port, 3, lang);
    const closed = server.close(1000);
    for (const c of clients) t.deepEqual(await c.rest(), [w.shutdown]);
    await closed;
    t.is(server.connections, 0);
    await t.throwsAsync(connect(port), undefined, 'the port is no longer listening');
  });
}

test('framing: a line written one byte per write', async (t) => {
  const { port } = await startServer(t);
  const [alice, bob] = await room(t, port, 2, 'zh');
  for (const byte of Buffer.from('hello 世界\n')) {
    await alice.write(Buffer.of(byte));
    await pause(1);
  }
  for (const c of [alice, bob]) t.is(await c.nextLine(), line(alice.addr, alice.addr, 'hello 世界'));
});

test('framing: two lines (and a command) in one write', async (t) => {
  const { port } = await startServer(t);
  const [alice, bob] = await room(t, port, 2, 'zh');
  await alice.write('one\ntwo\nwho\n');
  t.deepEqual(await bob.nextLines(2), [line(alice.addr, alice.addr, 'one'), line(alice.addr, alice.addr, 'two')]);
  t.deepEqual(await alice.nextLines(4), [
    line(alice.addr, alice.addr, 'one'),
    line(alice.addr, alice.addr, 'two'),
    line(alice.addr, alice.addr, '在线...'),
    line(bob.addr, bob.addr, '在线...'),
  ]);
});

test('framing: CRLF line endings', async (t) => {
  const { port } = await startServer(t);
  const [alice, bob] = await room(t, port, 2, 'zh');
  await alice.write('rename|alice\r\n');
  await alice.expectLine('您已更改用户名为:alice'); // not `alice\r`
  await alice.write('who\r\nhi\r\n');
  await alice.expectLine(line(alice.addr, 'alice', '在线...'));
  await alice.expectLine(line(bob.addr, bob.addr, '在线...'));
  for (const c of [alice, bob]) await c.expectLine(line(alice.addr, 'alice', 'hi'));
  // The CR and the LF in separate writes.
  await alice.write('split\r');
  await pause(5);
  await alice.write('\n');
  for (const c of [alice, bob]) t.is(await c.nextLine(), line(alice.addr, 'alice', 'split'));
});

test('framing: a UTF-8 character split across writes', async (t) => {
  const { port } = await startServer(t);
  const [alice, bob] = await room(t, port, 2, 'zh');
  const bytes = Buffer.from('世界😀\n'); // 3 + 3 + 4 bytes + LF
  // Cut inside every character: after the first byte of 世, inside 界, inside the emoji.
  for (const [from, to] of [
    [0, 1],
    [1, 4],
    [4, 5],
    [5, 8],
    [8, 10],
    [10, bytes.length],
  ]) {
    await alice.write(bytes.subarray(from, to));
    await pause(5);
  }
  for (const c of [alice, bob]) t.is(await c.nextLine(), line(alice.addr, alice.addr, '世界😀'));
  // And a rename whose name arrives in pieces.
  const rename = Buffer.from('rename|名字\n');
  await alice.write(rename.subarray(0, 8));
  await pause(5);
  await alice.write(rename.subarray(8));
  t.is(await alice.nextLine(), '您已更改用户名为:名字');
});

test('a kicked client that never closes its side is still let go of (logged, no longer counted)', async (t) => {
  const { server, port, logged } = await startServer(t, { idleTimeoutMs: 300 });
  const alice = await connect(port, '127.0.0.1', { allowHalfOpen: true });
  t.teardown(() => alice.destroy());
  t.deepEqual(await alice.rest(), [line(alice.addr, alice.addr, '已上线'), '你被踢了']);
  // The reference closes a kicked user's connection outright; a FIN alone leaves the socket
  // (and its slot under --max-connections) held for as long as the client pleases.
  await logged(new RegExp(`disconnected ${literal(alice.addr)} \\(kicked: idle\\)$`));
  t.is(server.connections, 0);
});

test('close() completes even when a refused client never closes its side', async (t) => {
  const { server, port } = await startServer(t, { maxConnections: 1 });
  const [alice] = await room(t, port, 1, 'zh');
  const refused = await connect(port, '127.0.0.1', { allowHalfOpen: true });
  t.teardown(() => refused.destroy());
  t.deepEqual(await refused.rest(), ['服务器已满,请稍后再试']);
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    server.close(200).then(() => 'closed'),
    new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still closing after 2 s'), 2000))),
  ]);
  clearTimeout(timer);
  t.is(outcome, 'closed', `close() with a refused, half-open client: ${outcome} (${Date.now() - started} ms)`);
  t.deepEqual(await alice.rest(), ['服务器正在关闭']);
});
