/**
 * End to end, over real TCP: a client that floods, too many connections, hostile bytes and
 * hostile names never harm another client. In-process ChatServer on 127.0.0.1, port 0.
 */
import test, { ExecutionContext } from 'ava';
import * as net from 'node:net';
import { ChatServer } from '../../lib/server';
import { TcpClient, connect } from '../helpers/tcp';
import { startServer, userLine, waitFor } from '../helpers/server';

/** Connects from a given loopback address (127.0.0.0/8 is all local on Linux). */
function connectFrom(port: number, localAddress: string): Promise<TcpClient> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.setNoDelay(true);
      resolve(new TcpClient(socket));
    });
  });
}

/** Connects `n` clients in turn; each has read its own join and everyone's after it. */
async function room(t: ExecutionContext, server: ChatServer, port: number, n: number, from = '127.0.0.1'): Promise<TcpClient[]> {
  const clients: TcpClient[] = [];
  for (let i = 0; i < n; i++) {
    const client = await connectFrom(port, from);
    t.teardown(() => client.destroy());
    clients.push(client);
    const joined = userLine(client.addr, client.addr, server.texts.online);
    for (const c of clients) await c.expectLine(joined);
  }
  return clients;
}

const floodLine = (i: number) => `flood-${String(i).padStart(4, '0')}`;
const FLOOD = Array.from({ length: 1000 }, (_, i) => floodLine(i) + '\n').join('');

test('flood: 1,000 lines at once pass only the burst (and what the rate allows); one notice, then the kick', async (t) => {
  const { server, port, logs } = await startServer(t); // the defaults: 20 lines/s, burst 40
  const [observer, flooder] = await room(t, server, port, 2);
  const offline = userLine(flooder.addr, flooder.addr, server.texts.offline);

  const started = performance.now();
  await flooder.write(FLOOD);
  const relayed: string[] = [];
  for (let line = await observer.nextLine(); line !== offline; line = await observer.nextLine()) relayed.push(line);
  const seconds = (performance.now() - started) / 1000;

  const k = relayed.length;
  t.deepEqual(
    relayed,
    Array.from({ length: k }, (_, i) => userLine(flooder.addr, flooder.addr, floodLine(i))),
    'the first k lines, in order',
  );
  t.true(k >= 40, `the burst passes: ${k}`);
  t.true(k <= 40 + Math.ceil(20 * seconds), `no more than the burst and the rate allow: ${k} in ${seconds.toFixed(3)} s`);

  // The flooder: its own lines, one rate notice, the kick notice, then the server closes.
  const own = await flooder.rest();
  t.deepEqual(
    own.filter((l) => !l.startsWith(`[${flooder.addr}]`)),
    [server.texts.rateLimited(20), server.texts.floodKick],
  );
  t.deepEqual(
    own.filter((l) => l.startsWith(`[${flooder.addr}]`)),
    relayed,
  );
  t.is(own[own.length - 1], server.texts.floodKick);
  await waitFor('the server to log the kick', () => logs.includes(`disconnected ${flooder.addr} (kicked: flooding)`));

  t.deepEqual(await observer.who(), [userLine(observer.addr, observer.addr, server.texts.listed)]);
  t.is(server.connections, 1);
  t.log(`${k} of 1,000 flood lines relayed in ${(seconds * 1000).toFixed(0)} ms`);
});

test('flood: with rateLimit 0, all 1,000 lines reach a reader, in order, and nobody is kicked', async (t) => {
  const { server, port, logs } = await startServer(t, { rateLimit: 0 });
  const [observer, flooder] = await room(t, server, port, 2);
  await flooder.write(FLOOD);
  const relayed = await observer.nextLines(1000);
  t.deepEqual(
    relayed,
    Array.from({ length: 1000 }, (_, i) => userLine(flooder.addr, flooder.addr, floodLine(i))),
  );
  t.is((await flooder.sync()).length, 1000, 'the flooder got its own lines and nothing else');
  t.deepEqual(await observer.sync(), []);
  t.is(server.connections, 2);
  t.false(
    logs.some((l) => l.startsWith('disconnected')),
    logs.join('\n'),
  );
});

test('maxConnections 5: the 6th gets the server-full notice and is closed; a freed slot is taken again', async (t) => {
  const { server, port, logs } = await startServer(t, { maxConnections: 5 });
  const clients = await room(t, server, port, 5);
  const sixth = await connect(port);
  t.teardown(() => sixth.destroy());
  t.deepEqual(await sixth.rest(), [server.texts.serverFull]);
  t.true(logs.includes(`refused ${sixth.addr}: ${server.texts.serverFull}`), logs.join('\n'));
  for (const c of clients) t.deepEqual(await c.sync(), [], 'the refused client was never announced');
  t.is(server.connections, 5);

  await clients[0].end();
  await waitFor('the slot to be freed', () => server.connections === 4);
  const again = await connect(port);
  t.teardown(() => again.destroy());
  await again.expectLine(userLine(again.addr, again.addr, server.texts.online));
  t.is(server.connections, 5);
});

test('maxConnectionsPerIp 2: the 3rd from 127.0.0.1 is refused, one from 127.0.0.2 is accepted', async (t) => {
  const { server, port, logs } = await startServer(t, { maxConnectionsPerIp: 2 });
  const [first, second] = await room(t, server, port, 2, '127.0.0.1');
  const third = await connectFrom(port, '127.0.0.1');
  t.teardown(() => third.destroy());
  t.deepEqual(await third.rest(), [server.texts.tooManyFromAddress]);
  t.true(logs.includes(`refused ${third.addr}: ${server.texts.tooManyFromAddress}`), logs.join('\n'));

  const other = await connectFrom(port, '127.0.0.2');
  t.teardown(() => other.destroy());
  t.true(other.addr.startsWith('127.0.0.2:'));
  const joined = userLine(other.addr, other.addr, server.texts.online);
  for (const c of [first, second, other]) await c.expectLine(joined);
  t.is(server.connections, 3);

  // The count is per address and goes down on leaving.
  await first.end();
  await second.expectLine(userLine(first.addr, first.addr, server.texts.offline));
  const fourth = await connectFrom(port, '127.0.0.1');
  t.teardown(() => fourth.destroy());
  await fourth.expectLine(userLine(fourth.addr, fourth.addr, server.texts.online));
});

/** Every byte `client` receives from now on, raw (TcpClient decodes, which would hide invalid UTF-8). */
function rawBytes(client: TcpClient): () => Buffer {
  const chunks: Buffer[] = [];
  client.socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  return () => Buffer.concat(chunks);
}

/** Why `bytes` (lines, each ending in `\n`) is not safe for a terminal, or undefined if it is. */
function unsafe(bytes: Buffer): string | undefined {
  if (bytes.length > 0 && bytes[bytes.length - 1] !== 0x0a) return 'does not end with \\n';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if ((b < 0x20 && b !== 0x0a) || b === 0x7f) return `byte 0x${b.toString(16)} at ${i}`;
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return 'invalid UTF-8';
  }
  const c1 = /[\u0080-\u009f\u202a-\u202e\u2066-\u2069]/.exec(text);
  return c1 ? `U+${c1[0].charCodeAt(0).toString(16).padStart(4, '0')} in ${JSON.stringify(text)}` : undefined;
}

test('hostile bytes: control characters, C1, bidi overrides and invalid UTF-8 reach others only as visible, valid text', async (t) => {
  const { server, port } = await startServer(t);
  const [alice, bob] = await room(t, server, port, 2);
  const received = rawBytes(bob);
  const hostile: [Buffer, string][] = [
    [Buffer.from('\x1b[31mred\x1b[0m \x1b]0;title\x07 \x1b[2J\x1b[H'), '␛[31mred␛[0m ␛]0;title␇ ␛[2J␛[H'],
    [Buffer.from('bell\x07 back\x08space nul\x00 del\x7f tab\tend'), 'bell␇ back␈space nul␀ del␡ tab end'],
    [Buffer.from('lone\rcr, then more'), 'lone␍cr, then more'],
    [Buffer.from('csi\u009b31m nel\u0085 st\u009c', 'utf8'), 'csi\ufffd31m nel\ufffd st\ufffd'],
    [Buffer.from('abc\u202edcba\u2066x', 'utf8'), 'abc\ufffddcba\ufffdx'],
    // 0xff; a lead byte without its continuation; an encoded surrogate; an overlong '/'.
    [Buffer.from([0x61, 0xff, 0x62, 0xc3, 0x28, 0x63, 0xed, 0xa0, 0x80, 0x64, 0xc0, 0xaf, 0x65]), 'a\ufffdb\ufffd(c\ufffd\ufffd\ufffdd\ufffd\ufffde'],
  ];
  await alice.write(Buffer.concat(hostile.flatMap(([bytes]) => [bytes, Buffer.from('\n')])));
  for (const [bytes, shown] of hostile) t.is(await bob.nextLine(), userLine(alice.addr, alice.addr, shown), JSON.stringify(bytes.toString('latin1')));
  // A private message gets the same treatment.
  await alice.write(Buffer.concat([Buffer.from(`to|${bob.addr}|`), Buffer.from('\x1b[2J\x00\u009b\xff', 'latin1'), Buffer.from('\n')]));
  t.is(await bob.nextLine(), `${alice.addr} : ␛[2J␀\ufffd\ufffd`);
  t.deepEqual(await bob.sync(), []);
  const bytes = received();
  t.true(bytes.length > 200, `bob received ${bytes.length} bytes`);
  t.is(unsafe(bytes), undefined);
});

test.serial('an over-long line: the notice, nothing buffered (200 MB without a newline), and the connection still works', async (t) => {
  t.timeout(20_000);
  const maxLineBytes = 1024;
  const { server, port } = await startServer(t, { maxLineBytes });
  const [alice, bob] = await room(t, server, port, 2);
  // Twice the bound below, so that a server holding the line would fail. The bound is not
  // tighter because the server's 64 KiB read buffers are garbage that V8 collects only every
  // 64 MB or so of external memory.
  const total = 200 * 1024 * 1024;
  const bound = 100e6;
  const chunk = Buffer.alloc(64 * 1024, 'z'.charCodeAt(0));
  // arrayBuffers counts this isolate's Buffers (a server holding the line would hold them);
  // rss is the whole process, which other test files' worker threads share: logged only.
  const before = process.memoryUsage();
  let peakBuffers = 0;
  let peakRss = 0;
  for (let sent = 0; sent < total; sent += chunk.length) {
    await alice.write(chunk);
    if ((sent / chunk.length) % 8 === 0) {
      const now = process.memoryUsage();
      peakBuffers = Math.max(peakBuffers, now.arrayBuffers - before.arrayBuffers);
      peakRss = Math.max(peakRss, now.rss - before.rss);
    }
  }
  await alice.write('\nafter\n');
  await alice.expectLine(server.texts.lineTooLong(maxLineBytes));
  for (const c of [alice, bob]) await c.expectLine(userLine(alice.addr, alice.addr, 'after'));
  t.deepEqual(await alice.sync(), [], 'one notice only');
  t.deepEqual(await bob.sync(), []);
  const after = process.memoryUsage();
  peakBuffers = Math.max(peakBuffers, after.arrayBuffers - before.arrayBuffers);
  peakRss = Math.max(peakRss, after.rss - before.rss);
  t.true(peakBuffers < bound, `Buffers grew by ${(peakBuffers / 1e6).toFixed(1)} MB`);
  t.log(`200 MB without a newline: Buffers grew by at most ${(peakBuffers / 1e6).toFixed(1)} MB, rss by at most ${(peakRss / 1e6).toFixed(1)} MB`);
});

test('hostile names: control characters, zero-width and bidi characters, addresses and case twins are refused', async (t) => {
  const { server, port } = await startServer(t);
  const [alice, bob, carol] = await room(t, server, port, 3);
  await alice.send('rename|alice');
  await alice.expectLine(server.texts.renamed('alice'));
  const invalid = (problem: 'control' | 'address') => server.texts.nameInvalid(problem, 32);
  const cases: [string, string][] = [
    ['Alice', server.texts.nameTaken],
    ['ALICE', server.texts.nameTaken],
    ['\x1b[31mevil', invalid('control')],
    ['evil\x07', invalid('control')],
    ['nul\x00', invalid('control')],
    ['c1\u0085', invalid('control')],
    ['ad\u200bmin', invalid('control')],
    ['\u202enimda', invalid('control')],
    ['bom\ufeff', invalid('control')],
    [carol.addr, invalid('address')], // the default name of a user online
    [alice.addr, invalid('address')], // the address of a user who renamed
    ['[::1]:8888', invalid('address')],
  ];
  for (const [name, notice] of cases) {
    await bob.send(`rename|${name}`);
    t.is(await bob.nextLine(), notice, JSON.stringify(name));
  }
  // None of it took: bob keeps his name and the others heard nothing.
  t.deepEqual(
    await bob.who(),
    [alice, bob, carol].map((c, i) => userLine(c.addr, i === 0 ? 'alice' : c.addr, server.texts.listed)),
  );
  t.deepEqual(await alice.sync(), []);
  t.deepEqual(await carol.sync(), []);
});
