/**
 * End to end, over real TCP: 1,000 clients arrive together and leave together. No crash, no
 * unhandled rejection, every join and every leave announced exactly once, nobody left online.
 * The slowest hardening test: each join and each leave is written to everyone online, so
 * 1,000 clients cost about a million socket writes.
 */
import test from 'ava';
import * as net from 'node:net';
import { ChatServer } from '../../lib/server';
import { connect } from '../helpers/tcp';
import { addrOf, count, reasons, userLine, waitFor, watchProcess } from '../helpers/server';

/** A client that never reads (reading would cost this process, not the server); resolves once connected. */
function silentClient(port: number, localAddress: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = new net.Socket();
    socket.pause();
    socket.on('error', () => {});
    socket.once('error', reject);
    socket.connect({ port, host: '127.0.0.1', localAddress }, () => {
      socket.off('error', reject);
      resolve(socket);
    });
  });
}

test('1,000 clients connect in two bursts and leave at once: each join and each leave announced once, nobody left online', async (t) => {
  t.timeout(120_000);
  const raised = watchProcess(t);
  const logs: string[] = [];
  const server = new ChatServer({ host: '127.0.0.1', port: 0, lang: 'en', log: (l) => logs.push(l) });
  const { port } = await server.listen();
  t.teardown(() => server.close(100));
  const observer = await connect(port);
  t.teardown(() => observer.destroy());
  await observer.expectLine(userLine(observer.addr, observer.addr, server.texts.online));

  const started = performance.now();
  // Two bursts of 500, spread over four source addresses as a crowd would be. One burst of
  // 1,000 overflows the listen backlog (Node's default, 511): the kernel drops SYNs and the
  // clients retry after 1, 3, 7 s, which tests TCP's patience rather than the server.
  const clients: net.Socket[] = [];
  for (let burst = 0; burst < 2; burst++) {
    const crowd = await Promise.all(Array.from({ length: 500 }, (_, i) => silentClient(port, `127.0.0.${2 + (i % 4)}`)));
    for (const c of crowd) t.teardown(() => c.destroy());
    clients.push(...crowd);
    await waitFor(`${clients.length + 1} online`, () => server.connections === clients.length + 1 && server.hub.size === clients.length + 1, 60_000);
  }
  const addrs = clients.map(addrOf);
  const connectedMs = performance.now() - started;

  // All leave in the same tick: a third cleanly, a third by destroy, a third by reset.
  clients.forEach((c, i) => (i % 3 === 0 ? c.end() : i % 3 === 1 ? c.destroy() : c.resetAndDestroy()));
  await waitFor('only the observer online', () => server.connections === 1 && server.hub.size === 1, 60_000);
  const totalMs = performance.now() - started;

  const seen = await observer.sync(10_000);
  const online = count(seen, server.texts.online);
  const offline = count(seen, server.texts.offline);
  t.is(new Set(addrs).size, 1000);
  t.deepEqual(
    addrs.filter((a) => online.get(a) !== 1 || offline.get(a) !== 1),
    [],
    'every client is announced joining once and leaving once',
  );
  t.is(seen.length, 2000, 'and nothing else');
  for (const addr of addrs.slice(0, 50)) {
    t.true(seen.indexOf(userLine(addr, addr, server.texts.online)) < seen.indexOf(userLine(addr, addr, server.texts.offline)), `${addr} joined before leaving`);
  }
  t.deepEqual(raised(), []);
  t.log(`1,000 clients: all online after ${connectedMs.toFixed(0)} ms, all gone after ${totalMs.toFixed(0)} ms; log reasons: ${JSON.stringify(reasons(logs))}`);
  await observer.end();
  await waitFor('nobody online', () => server.connections === 0 && server.hub.size === 0, 5000);
  t.is(server.connections, 0);
  t.is(server.hub.size, 0);
});
