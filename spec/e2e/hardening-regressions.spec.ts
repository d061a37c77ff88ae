/**
 * Regressions found by the hardening tests (issue 4), end to end: the send-queue bound once
 * counted the bytes corked in the current tick, cutting off clients that read when one tick's
 * output passed the bound (a `who` in a big room, a burst with the rate limit off); and
 * address look-alikes in fullwidth or compatibility characters once passed the name rules.
 */
import test from 'ava';
import { ChatServer } from '../../lib/server';
import { TcpClient, connect } from '../helpers/tcp';

test('a reader is not cut off by one who reply larger than the bound', async (t) => {
  const logs: string[] = [];
  const server = new ChatServer({ host: '127.0.0.1', port: 0, lang: 'en', maxQueueBytes: 4096, log: (l) => logs.push(l) });
  const { port } = await server.listen();
  t.teardown(() => server.close(100));
  const clients: TcpClient[] = [];
  for (let i = 0; i < 200; i++) {
    const c = await connect(port);
    t.teardown(() => c.destroy());
    c.socket.resume();
    clients.push(c);
  }
  const asker = clients[clients.length - 1];
  await asker.expectLine(/is online$/);
  const listed = await asker.who();
  t.is(listed.length, 200, logs.filter((l) => l.includes(asker.addr)).join('\n'));
});

test('with the rate limit off, a reader is not cut off by one chunk of short lines', async (t) => {
  const logs: string[] = [];
  const server = new ChatServer({ host: '127.0.0.1', port: 0, lang: 'en', maxQueueBytes: 64 * 1024, rateLimit: 0, log: (l) => logs.push(l) });
  const { port } = await server.listen();
  t.teardown(() => server.close(100));
  const alice = await connect(port);
  t.teardown(() => alice.destroy());
  await alice.expectLine(/is online$/);
  const bob = await connect(port);
  t.teardown(() => bob.destroy());
  await bob.expectLine(/is online$/);
  await alice.nextLine();
  // 2,000 lines of 5 bytes: 12 KB in, ~74 KB out to each reader, all in one tick.
  await alice.write(Array.from({ length: 2000 }, (_, i) => String(i).padStart(4, '0') + '\n').join(''));
  const got = await bob.nextLines(2000);
  t.deepEqual(
    got,
    Array.from({ length: 2000 }, (_, i) => `[${alice.addr}]${alice.addr}:${String(i).padStart(4, '0')}`),
    logs.join('\n'),
  );
});

test('a name that is an address in fullwidth or compatibility characters is refused like the address itself', async (t) => {
  const server = new ChatServer({ host: '127.0.0.1', port: 0, lang: 'en' });
  const { port } = await server.listen();
  t.teardown(() => server.close(100));
  const alice = await connect(port);
  t.teardown(() => alice.destroy());
  await alice.expectLine(/is online$/);
  // nameKey folds these to `127.0.0.1:5000`, which nameProblem refuses; unfolded, they pass.
  for (const name of ['127.0.0.1\uff1a5000', '\uff11\uff12\uff17.\uff10.\uff10.\uff11:5000', '127\u20240\u20240\u20241:5000']) {
    await alice.send(`rename|${name}`);
    t.is(await alice.nextLine(), server.texts.nameInvalid('address', 32), JSON.stringify(name));
  }
});
