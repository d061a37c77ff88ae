// ChatServer with in-memory peers: what the TCP edge does, without sockets.
import test from 'ava';
import { NEVER, Subject } from 'rxjs';
import { Event } from '../lib/protocol';
import { Chunk, FlushPacing, type Outgoing } from '../lib/outbox';
import { ChatServer, Peer } from '../lib/server';

/** What a peer was handed, a line a string with its `\n` (reading a chunk's lines closes it: the next lines come in another). */
function linesOf(data: Outgoing): string[] {
  return data instanceof Chunk ? data.lines.map((line) => `${line.text}\n`) : [data.toString('utf8')];
}

function fakePeer(i: number, written: string[] = []): Peer & { closed: boolean } {
  const onClose: (() => void)[] = [];
  const close = () => {
    if (peer.closed) return;
    peer.closed = true;
    for (const callback of onClose.splice(0)) callback();
  };
  const peer = {
    addr: `10.0.0.${i}:${1000 + i}`,
    ip: `10.0.0.${i}`,
    lines$: NEVER,
    closed: false,
    write: (data: Outgoing) => void written.push(...linesOf(data)),
    queued: () => 0,
    end: close,
    destroy: close,
    onClose: (callback: () => void) => void (peer.closed ? queueMicrotask(callback) : onClose.push(callback)),
  };
  return peer;
}

test('close(): everyone gets the notice; no leave is broadcast to those still connected', async (t) => {
  const server = new ChatServer({ lang: 'en' });
  const written: string[][] = [];
  const peers = Array.from({ length: 50 }, (_, i) => fakePeer(i, (written[i] = [])));
  for (const peer of peers) server.accept(peer);
  const seen: Event[] = [];
  const watching = server.hub.events$.subscribe((event) => seen.push(event));
  t.teardown(() => watching.unsubscribe());
  const joins = written[0].length;

  await server.close(0);

  t.deepEqual(
    seen.filter((e) => e.kind === 'offline'),
    [],
    'the hub delivered no leave',
  );
  for (const [i, lines] of written.entries()) {
    t.deepEqual(lines.slice(i === 0 ? joins : lines.length - 1), ['The server is shutting down\n'], `peer ${i}`);
  }
  t.true(peers.every((p) => p.closed));
  t.is(server.connections, 0);
  t.is(server.hub.size, 0);
});

test('refuses connections past maxConnections and per IP, with the notice', async (t) => {
  const server = new ChatServer({ lang: 'en', maxConnections: 2, maxConnectionsPerIp: 1 });
  const a = fakePeer(1);
  const sameIp = { ...fakePeer(1), addr: '10.0.0.1:2000' };
  const sameIpWritten: string[] = [];
  sameIp.write = (data) => void sameIpWritten.push(...linesOf(data));
  server.accept(a);
  server.accept(sameIp);
  t.deepEqual(sameIpWritten, ['Too many connections from your address\n']);
  server.accept(fakePeer(2));
  const third: string[] = [];
  server.accept(fakePeer(3, third));
  t.deepEqual(third, ['The server is full, try again later\n']);
  t.is(server.connections, 2);
  await server.close(0); // its sessions' idle timers would hold the worker for a minute
});

test('a session that ends for a reason is logged with it', async (t) => {
  const logs: string[] = [];
  const server = new ChatServer({ lang: 'en', log: (line) => logs.push(line), rateLimit: 1, rateBurst: 1 });
  const lines = new Subject<string>();
  const peer = { ...fakePeer(7), lines$: lines };
  server.accept(peer);
  for (let i = 0; i < 20; i++) lines.next('spam');
  await new Promise<void>((resolve) => peer.onClose(resolve));
  t.deepEqual(logs, ['connected 10.0.0.7:1007', 'disconnected 10.0.0.7:1007 (kicked: flooding)']);
});

test('flush pacing: every turn while flushes are cheap; after a flush of T ms, the next waits until T ms have passed', (t) => {
  const pacing = new FlushPacing();
  t.is(pacing.wait(0), 0, 'nothing flushed yet: at the end of this turn');
  pacing.flushed(100, 100.4); // 0.4 ms: cheap
  t.is(pacing.wait(100.5), 0, 'a cheap flush does not hold the next one back');
  pacing.flushed(200, 225); // 25 ms: a write to thousands of sockets
  t.is(pacing.wait(225), 25, 'right after: waits as long as the flush took');
  t.is(pacing.wait(240), 10, 'asked later: only the rest of that time');
  t.is(pacing.wait(250), 0, 'once as much time has passed as the flush took: at once');
  t.is(pacing.wait(300), 0);
  pacing.flushed(400, 600); // the process was paused mid-flush for 200 ms
  t.is(pacing.wait(600), 50, 'never more than maxWaitMs (50 by default)');
});

test('two servers in one process share no batching, rendering or numbering', async (t) => {
  const { MemoryHub } = await import('../lib/hub');
  // One hub, two servers in two languages: each renders the hub's events in its own texts.
  const hub = new MemoryHub();
  const zh = new ChatServer({ hub, lang: 'zh' });
  const en = new ChatServer({ hub, lang: 'en' });
  t.not(zh.outbox, en.outbox);
  t.not(zh.broadcast$, en.broadcast$);
  const zhLines: string[] = [];
  const enLines: string[] = [];
  const a = fakePeer(1, zhLines);
  const b = fakePeer(2, enLines);
  // Each peer flushes through its own server's outbox, as the transports do.
  let zhFlushes = 0;
  let enFlushes = 0;
  zh.outbox.later(() => zhFlushes++);
  en.outbox.later(() => enFlushes++);
  zh.accept(a);
  en.accept(b);
  t.deepEqual(zhLines, ['[10.0.0.1:1001]10.0.0.1:1001:已上线\n', '[10.0.0.2:1002]10.0.0.2:1002:已上线\n']);
  t.deepEqual(enLines, ['[10.0.0.2:1002]10.0.0.2:1002:is online\n']);
  zh.outbox.flushAll();
  t.is(zhFlushes, 1);
  t.is(enFlushes, 0, "flushing one server's outbox leaves the other's alone");
  en.outbox.flushAll();
  t.is(enFlushes, 1);
  // Session ids are numbered per server, yet unique on the shared hub's members.
  t.is(hub.size, 2);
  await zh.close(0);
  await en.close(0);
});
