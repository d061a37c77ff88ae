/**
 * End to end, over real TCP: transport faults never crash the server, never leave an
 * unhandled rejection, announce every leave exactly once, and leave nobody online.
 * Clients that reset mid-write, that vanish during their own join, and that half-close.
 * (1,000 clients at once: hardening-crowd.spec.ts.)
 */
import test, { ExecutionContext } from 'ava';
import * as net from 'node:net';
import { ChatServer } from '../../lib/server';
import { TcpClient, connect } from '../helpers/tcp';
import { addrOf, count, reasons, startServer, userLine, waitFor, watchProcess } from '../helpers/server';

/** A raw client that reads and discards everything; resolves once connected. */
function rawClient(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.on('error', () => {});
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.resume();
      resolve(socket);
    });
  });
}

/**
 * Connects one more client and waits for its join: the kernel hands connections to the server
 * in arrival order, so every connection made before it has been accepted (or dropped) by then.
 */
async function probe(t: ExecutionContext, server: ChatServer, port: number): Promise<TcpClient> {
  const client = await connect(port);
  t.teardown(() => client.destroy());
  await client.expectLine(userLine(client.addr, client.addr, server.texts.online), 30_000);
  return client;
}

/** Waits until only `stay` are online, then checks the server is empty once they leave too. */
async function allGone(t: ExecutionContext, server: ChatServer, stay: TcpClient[]): Promise<void> {
  await waitFor(`${stay.length} connections`, () => server.connections === stay.length && server.hub.size === stay.length);
  for (const c of stay) await c.end();
  await waitFor('no connections', () => server.connections === 0 && server.hub.size === 0);
  t.is(server.connections, 0);
  t.is(server.hub.size, 0);
}

test.serial('clients that reset mid-write, while others chat: each leave is announced once, nothing crashes', async (t) => {
  const raised = watchProcess(t);
  const { server, port, logs } = await startServer(t, { rateLimit: 0 });
  const observer = await connect(port);
  t.teardown(() => observer.destroy());
  await observer.expectLine(userLine(observer.addr, observer.addr, server.texts.online));
  const chatter = await connect(port);
  t.teardown(() => chatter.destroy());
  await chatter.expectLine(userLine(chatter.addr, chatter.addr, server.texts.online));

  // The chatter keeps the server writing to every socket, the dying ones included. It waits
  // for its own copy of each line: a loop of bare writes would starve this process's readers.
  let chatting = true;
  let chatted = 0;
  const chat = (async () => {
    for (; chatting; chatted++) {
      await chatter.send(`chat ${chatted}`);
      const echo = userLine(chatter.addr, chatter.addr, `chat ${chatted}`);
      while ((await chatter.nextLine()) !== echo);
    }
  })();
  const resetters: string[] = [];
  const inSession: string[] = [];
  const big = 'x'.repeat(256 * 1024); // over the line limit: the server answers with a notice
  // Half reset at once, most before the server has even accepted them; half once their
  // session runs (they have seen their own join), in the middle of a write.
  await Promise.all(
    Array.from({ length: 50 }, async (_, i) => {
      const socket = await rawClient(port);
      const addr = addrOf(socket);
      resetters.push(addr);
      if (i % 2 === 1) {
        inSession.push(addr);
        const joined = userLine(addr, addr, server.texts.online);
        await new Promise<void>((resolve) => {
          let text = '';
          const onData = (chunk: Buffer) => {
            text += chunk.toString('utf8');
            if (text.split('\n').includes(joined)) {
              socket.off('data', onData);
              resolve();
            }
          };
          socket.on('data', onData);
        });
      }
      socket.write(i % 4 < 2 ? `a full line\nand half a li` : big);
      socket.resetAndDestroy();
    }),
  );
  const last = await probe(t, server, port);
  await waitFor('the resetters to be gone', () => server.connections === 3 && server.hub.size === 3);
  chatting = false;
  await chat;
  const seen = (await observer.sync(5000)).filter((l) => !l.startsWith(`[${chatter.addr}]`));
  t.is(seen[seen.length - 1], userLine(last.addr, last.addr, server.texts.online));
  const offline = count(seen, server.texts.offline);
  const online = count(seen, server.texts.online);
  for (const addr of resetters) {
    t.is(online.get(addr) ?? 0, offline.get(addr) ?? 0, `${addr}: announced leaving as often as joining`);
    t.true((offline.get(addr) ?? 0) <= 1, `${addr}: left at most once`);
  }
  for (const addr of inSession) t.true(online.get(addr) === 1 && offline.get(addr) === 1, `${addr}: reset in session, announced once each way`);
  t.true(
    [...offline.keys()].every((addr) => resetters.includes(addr) || addr === '?:0'),
    'nobody else left',
  );
  t.deepEqual(raised(), []);
  t.log(`50 resetters (${chatted} chat lines meanwhile): ${offline.size} announced under their address; server log: ${JSON.stringify(reasons(logs))}`);
  await allGone(t, server, [observer, chatter, last]);
});

test.serial('clients that vanish during their own join: no crash, every join has exactly one leave', async (t) => {
  const raised = watchProcess(t);
  const { server, port } = await startServer(t);
  const observer = await connect(port);
  t.teardown(() => observer.destroy());
  await observer.expectLine(userLine(observer.addr, observer.addr, server.texts.online));
  const gone = await Promise.all(
    Array.from(
      { length: 200 },
      (_, i) =>
        new Promise<string>((resolve) => {
          const socket = net.connect({ port, host: '127.0.0.1' });
          socket.on('error', () => {});
          socket.once('connect', () => {
            const addr = addrOf(socket);
            if (i % 2 === 0) socket.destroy();
            else socket.resetAndDestroy();
            resolve(addr);
          });
        }),
    ),
  );
  const last = await probe(t, server, port);
  await waitFor('the vanished clients to be gone', () => server.connections === 2 && server.hub.size === 2);
  const seen = await observer.sync(5000);
  t.is(seen.pop(), userLine(last.addr, last.addr, server.texts.online));
  const online = count(seen, server.texts.online);
  const offline = count(seen, server.texts.offline);
  for (const addr of gone) {
    t.true((online.get(addr) ?? 0) <= 1, `${addr}: joined at most once`);
    t.is(offline.get(addr) ?? 0, online.get(addr) ?? 0, `${addr}: one leave for each join`);
  }
  t.is(
    seen.length,
    [...online.values(), ...offline.values()].reduce((a, b) => a + b, 0),
    'nothing but joins and leaves',
  );
  t.deepEqual(raised(), []);
  t.log(`200 clients vanished on connect: ${online.size} addresses were announced, each leaving once`);
  await allGone(t, server, [observer, last]);
});

test.serial('a client that half-closes gets its own last line, then the close; the others see it leave once', async (t) => {
  const raised = watchProcess(t);
  const { server, port } = await startServer(t);
  const observer = await connect(port);
  t.teardown(() => observer.destroy());
  await observer.expectLine(userLine(observer.addr, observer.addr, server.texts.online));
  const socket = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  t.teardown(() => socket.destroy());
  const leaving = new TcpClient(await new Promise<net.Socket>((resolve) => socket.once('connect', () => resolve(socket))));
  await leaving.expectLine(userLine(leaving.addr, leaving.addr, server.texts.online));
  await observer.expectLine(userLine(leaving.addr, leaving.addr, server.texts.online));
  socket.end('last words\n');
  t.deepEqual(await leaving.rest(), [userLine(leaving.addr, leaving.addr, 'last words')]);
  await observer.expectLine(userLine(leaving.addr, leaving.addr, 'last words'));
  await observer.expectLine(userLine(leaving.addr, leaving.addr, server.texts.offline));
  t.deepEqual(await observer.sync(), []);
  t.deepEqual(raised(), []);
  await allGone(t, server, [observer]);
});
