/**
 * Issue 16's "done when", on real sockets in this process: /metrics parses as Prometheus text
 * and every listed metric moves as it should through a scripted session (joins, three lines, a
 * flood drop, a line too long, idle kicks, a WebSocket, a shutdown); /healthz and /readyz
 * through start, a Redis outage and shutdown; PROXY protocol v1 and v2 headers (valid, split
 * across packets, forged from an untrusted address, malformed, missing) and X-Forwarded-For.
 */
import test, { ExecutionContext } from 'ava';
import * as net from 'node:net';
import WebSocket from 'ws';
import { RedisHub } from '../../lib/redis/hub';
import type { Peer } from '../../lib/peer';
import type { ChatServer, ServerOptions } from '../../lib/server';
import { parseTrustProxy, TrustedProxies } from '../../lib/trust';
import { startWeb } from '../../lib/web';
import { startOps } from '../../lib/web/health';
import { parseExposition, type Exposition } from '../helpers/prometheus';
import { HAVE_REDIS, startRedis } from '../helpers/redis';
import { startServer, userLine, waitFor } from '../helpers/server';
import { connect, TcpClient } from '../helpers/tcp';
import { connectWs, WsClient } from '../web/ws-client';

const trust = (cidrs: string) => parseTrustProxy(cidrs) as TrustedProxies;

async function get(port: number, path: string): Promise<{ status: number; body: string; type: string | null }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') };
}

async function scrape(port: number): Promise<Exposition> {
  const res = await get(port, '/metrics');
  if (res.status !== 200) throw new Error(`/metrics: HTTP ${res.status}: ${res.body}`);
  return parseExposition(res.body);
}

/** Polls an HTTP endpoint until it answers `status` (a state, not a duration). */
async function until(port: number, path: string, status: number, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await get(port, path)).status === status) return;
    if (Date.now() > deadline) throw new Error(`${path} did not answer ${status} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function withWeb(t: ExecutionContext, options: ServerOptions) {
  const started = await startServer(t, options);
  const web = await startWeb(started.server, { host: '127.0.0.1', port: 0, maxLineBytes: started.server.options.maxLineBytes });
  t.teardown(() => web.close());
  return { ...started, web };
}

test('metrics move as a scripted session goes: joins, 3 lines, a flood drop, a line too long, idle kicks, a WebSocket, a shutdown', async (t) => {
  const { server, port, web } = await withWeb(t, { idleTimeoutMs: 600, rateLimit: 1, rateBurst: 3, maxLineBytes: 64 });
  const { online, listed } = server.texts;
  const start = await scrape(web.port);
  t.is(start.value('rxim_lines_received_total'), 0);
  t.is(start.value('rxim_online_users'), 0);

  const bob = await connect(port);
  await bob.expectLine(userLine(bob.addr, bob.addr, online));
  const alice = await connect(port);
  await alice.expectLine(userLine(alice.addr, alice.addr, online));
  await bob.expectLine(userLine(alice.addr, alice.addr, online));
  const during = await scrape(web.port);
  t.is(during.value('rxim_connections', { transport: 'tcp' }), 2);
  t.is(during.value('rxim_online_users'), 2);
  t.is(during.value('rxim_connections_total', { transport: 'tcp' }), 2);

  // Three lines within the burst, a fourth and a fifth over it: both dropped, with one notice.
  await alice.write('one\ntwo\nthree\nfour\nfive\n');
  const said = ['one', 'two', 'three'].map((text) => userLine(alice.addr, alice.addr, text));
  t.deepEqual((await alice.nextLines(4)).sort(), [...said, server.texts.rateLimited(1)].sort());
  t.deepEqual(await bob.nextLines(3), said);
  await bob.send('x'.repeat(100));
  await bob.expectLine(server.texts.lineTooLong(64));

  // Both go silent: alice is kicked first, then bob (whose last line came later).
  const [aliceRest, bobRest] = await Promise.all([alice.rest(3000), bob.rest(3000)]);
  t.true(aliceRest.includes(server.texts.kicked), JSON.stringify(aliceRest));
  t.true(bobRest.includes(server.texts.kicked), JSON.stringify(bobRest));
  await waitFor('both sessions to end', () => server.connections === 0);

  const after = await scrape(web.port);
  t.is(after.value('rxim_connections', { transport: 'tcp' }), 0);
  t.is(after.value('rxim_connections_total', { transport: 'tcp' }), 2);
  t.is(after.value('rxim_disconnects_total', { reason: 'idle' }), 2);
  t.is(after.value('rxim_disconnects_total', { reason: 'left' }), 0);
  t.is(after.value('rxim_lines_received_total'), 6);
  t.is(after.value('rxim_lines_dropped_total', { reason: 'rate' }), 2, 'each dropped line counts, not each notice');
  t.is(after.value('rxim_lines_dropped_total', { reason: 'too_long' }), 1);
  // Every line a client got was counted once, and nothing else.
  t.is(after.value('rxim_lines_delivered_total'), alice.received.length + bob.received.length);
  // Rendered events: 2 joins, 3 messages, 2 leaves; each observed once, whoever received it.
  t.is(after.value('rxim_delivery_seconds_count'), 7);
  t.is(after.value('rxim_delivery_seconds_bucket', { le: '+Inf' }), 7);
  t.is(after.value('rxim_online_users'), 0);

  // A TCP and a WebSocket user, then the shutdown.
  const carol = await connect(port);
  t.teardown(() => carol.destroy());
  await carol.expectLine(userLine(carol.addr, carol.addr, online));
  const dave = await connectWs(web.port);
  t.teardown(() => dave.destroy());
  await dave.nextLine();
  dave.send('who');
  t.is((await dave.sync()).filter((line) => line.endsWith(listed)).length, 2);
  const two = await scrape(web.port);
  t.is(two.value('rxim_connections', { transport: 'ws' }), 1);
  t.is(two.value('rxim_connections_total', { transport: 'ws' }), 1);
  t.is(two.value('rxim_connections', { transport: 'tcp' }), 1);
  t.is(two.value('rxim_lines_received_total'), 8, 'who and the sync line');
  t.is((await get(web.port, '/readyz')).status, 200);

  await server.close(500);
  const closed = await scrape(web.port);
  t.is(closed.value('rxim_disconnects_total', { reason: 'shutdown' }), 2);
  t.is(closed.value('rxim_connections', { transport: 'ws' }), 0);
  t.is(closed.value('rxim_connections', { transport: 'tcp' }), 0);
  t.deepEqual(await get(web.port, '/healthz'), { status: 503, body: 'shutting down\n', type: 'text/plain; charset=utf-8' });
  t.is((await get(web.port, '/readyz')).status, 503);
});

test('/healthz and /readyz while running; /metrics only where it is served; the Host check guards /metrics, not the probes', async (t) => {
  const { server, web } = await withWeb(t, {});
  t.deepEqual(await get(web.port, '/healthz'), { status: 200, body: 'ok\n', type: 'text/plain; charset=utf-8' });
  t.deepEqual(await get(web.port, '/readyz'), { status: 200, body: 'ok\n', type: 'text/plain; charset=utf-8' });
  const metrics = await get(web.port, '/metrics');
  t.is(metrics.status, 200);
  t.regex(metrics.type ?? '', /^text\/plain; version=0\.0\.4/);
  const post = await fetch(`http://127.0.0.1:${web.port}/healthz`, { method: 'POST' });
  t.is(post.status, 405);
  // A probe under another name still gets its answer; a scrape under a name the server does not know does not.
  const raw = (path: string) =>
    new Promise<string>((resolve, reject) => {
      const socket = net.connect(web.port, '127.0.0.1', () => socket.end(`GET ${path} HTTP/1.0\r\nHost: lb.internal\r\n\r\n`));
      let data = '';
      socket
        .on('data', (chunk) => (data += chunk.toString()))
        .on('end', () => resolve(data.split('\r\n')[0]))
        .on('error', reject);
    });
  t.is(await raw('/healthz'), 'HTTP/1.1 200 OK');
  t.is(await raw('/metrics'), 'HTTP/1.1 403 Forbidden');

  // --metrics-port: a port of its own, and /metrics leaves the web port.
  const ops = await startOps(server, { host: '127.0.0.1', port: 0 });
  t.teardown(() => ops.close());
  const web2 = await startWeb(server, { host: '127.0.0.1', port: 0, maxLineBytes: 4096, metrics: false });
  t.teardown(() => web2.close());
  t.is((await get(ops.port, '/metrics')).status, 200);
  t.is((await get(ops.port, '/readyz')).status, 200);
  t.is((await get(ops.port, '/')).status, 404);
  t.is((await get(web2.port, '/metrics')).status, 404);
  t.is((await get(web2.port, '/healthz')).status, 200);
});

(HAVE_REDIS ? test : test.skip)(
  '/readyz is 503 while the Redis link is down and 200 again once it is back; /healthz stays 200 (needs redis-server)',
  async (t) => {
    const redis = await startRedis();
    t.teardown(() => redis.stop());
    const hub = new RedisHub({ url: redis.url, reconnectMs: 50, commandTimeoutMs: 300, nodeTimeoutMs: 1500 });
    await hub.start();
    const { server } = await startServer(t, { hub });
    const ops = await startOps(server, { host: '127.0.0.1', port: 0 });
    t.teardown(() => ops.close());
    t.is((await get(ops.port, '/readyz')).status, 200);
    let metrics = await scrape(ops.port);
    t.is(metrics.value('rxim_cluster_linked'), 1);
    t.is(metrics.value('rxim_cluster_nodes'), 1, 'this node, registered');

    await redis.stop();
    await until(ops.port, '/readyz', 503);
    t.regex((await get(ops.port, '/readyz')).body, /cluster link down/);
    t.is((await get(ops.port, '/healthz')).status, 200, 'still serving its own users');
    metrics = await scrape(ops.port);
    t.is(metrics.value('rxim_cluster_linked'), 0);
    t.true(Number.isNaN(metrics.value('rxim_cluster_nodes')), 'unknown while Redis cannot say');

    await redis.restart();
    await until(ops.port, '/readyz', 200);
    metrics = await scrape(ops.port);
    t.is(metrics.value('rxim_cluster_linked'), 1);

    await server.close(100);
    t.is((await get(ops.port, '/readyz')).status, 503);
    t.is((await get(ops.port, '/healthz')).status, 503);
  },
);

// ---- PROXY protocol on the TCP port ----

/** A raw connection, from `localAddress` (any 127/8 address is this machine's). */
function dial(port: number, localAddress = '127.0.0.1'): Promise<TcpClient> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1', localAddress });
    socket.setNoDelay(true);
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(new TcpClient(socket));
    });
  });
}

function v2(src: string, dst: string, sport: number, dport: number, command = 1): Buffer {
  const b = Buffer.alloc(28);
  Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]).copy(b);
  b[12] = 0x20 | command;
  b[13] = 0x11;
  b.writeUInt16BE(12, 14);
  src.split('.').forEach((n, i) => (b[16 + i] = Number(n)));
  dst.split('.').forEach((n, i) => (b[20 + i] = Number(n)));
  b.writeUInt16BE(sport, 24);
  b.writeUInt16BE(dport, 26);
  return b;
}

async function proxied(t: ExecutionContext, options: ServerOptions = {}): Promise<{ server: ChatServer; port: number; logs: string[] }> {
  return startServer(t, { proxyProtocol: true, trustProxy: trust('127.0.0.1'), proxyHeaderTimeoutMs: 300, ...options });
}

test('PROXY v1: the user is named after the client the proxy names; its first line may share the packet', async (t) => {
  const { server, port } = await proxied(t);
  const c = await dial(port);
  t.teardown(() => c.destroy());
  await c.write('PROXY TCP4 203.0.113.7 192.0.2.1 51234 8888\r\nwho\n');
  t.is(await c.nextLine(), userLine('203.0.113.7:51234', '203.0.113.7:51234', server.texts.online));
  t.is(await c.nextLine(), userLine('203.0.113.7:51234', '203.0.113.7:51234', server.texts.listed));
});

test('PROXY v2 split across packets; v2 LOCAL (a health check) keeps the proxy`s own address', async (t) => {
  const { server, port } = await proxied(t);
  const c = await dial(port);
  t.teardown(() => c.destroy());
  const header = v2('198.51.100.23', '10.0.0.2', 40001, 8888);
  // Three writes with a pause between them: three TCP segments, read separately by the server.
  for (const part of [header.subarray(0, 5), header.subarray(5, 15), header.subarray(15)]) {
    await c.write(part);
    await new Promise((resolve) => setTimeout(resolve, 15));
  }
  t.is(await c.nextLine(), userLine('198.51.100.23:40001', '198.51.100.23:40001', server.texts.online));

  const check = await dial(port);
  t.teardown(() => check.destroy());
  await check.write(v2('0.0.0.0', '0.0.0.0', 0, 0, 0));
  t.is(await check.nextLine(), userLine(check.addr, check.addr, server.texts.online));
});

test('PROXY: forged from an untrusted address, malformed or missing: refused and logged, never named after the header', async (t) => {
  const { server, port, logs } = await proxied(t);
  const forger = await dial(port, '127.0.0.2');
  await forger.write('PROXY TCP4 10.9.9.9 192.0.2.1 1 8888\r\nwho\n');
  t.deepEqual(await forger.rest(), []);
  const garbage = await dial(port);
  await garbage.write('GET / HTTP/1.1\r\n\r\n');
  t.deepEqual(await garbage.rest(), []);
  const silent = await dial(port); // says nothing: dropped after proxyHeaderTimeoutMs
  t.deepEqual(await silent.rest(2000), []);
  const health = await dial(port); // a TCP check: connects, closes (not counted, logged at debug only)
  await health.end();
  await waitFor('the refusals to be logged', () => logs.filter((line) => line.startsWith('refused')).length === 4);
  const refused = logs.filter((line) => line.startsWith('refused')).sort();
  t.regex(refused.find((l) => l.includes(forger.addr)) ?? '', /^refused 127\.0\.0\.2:\d+: not a trusted proxy \(see --trust-proxy\)$/);
  t.regex(refused.find((l) => l.includes(garbage.addr)) ?? '', /: bad PROXY header: no PROXY protocol header$/);
  t.regex(refused.find((l) => l.includes(silent.addr)) ?? '', /: no PROXY header within 300 ms$/);
  t.regex(refused.find((l) => l.includes(health.addr)) ?? '', /: closed before its PROXY header$/);
  t.false(
    logs.some((line) => line.includes('10.9.9.9')),
    'the forged address was never used',
  );
  t.is(server.connections, 0);
  const metrics = parseExposition(await server.metrics.text());
  t.is(metrics.value('rxim_disconnects_total', { reason: 'refused' }), 3);
  t.is(metrics.value('rxim_connections_total', { transport: 'tcp' }), 0);
});

test('PROXY: per-IP limits count the client the header names, not the proxy', async (t) => {
  const { server, port } = await proxied(t, { maxConnectionsPerIp: 1 });
  const first = await dial(port);
  t.teardown(() => first.destroy());
  await first.write('PROXY TCP4 198.51.100.1 192.0.2.1 1000 8888\r\n');
  await first.expectLine(userLine('198.51.100.1:1000', '198.51.100.1:1000', server.texts.online));
  const other = await dial(port);
  t.teardown(() => other.destroy());
  await other.write('PROXY TCP4 198.51.100.2 192.0.2.1 1000 8888\r\n');
  await other.expectLine(userLine('198.51.100.2:1000', '198.51.100.2:1000', server.texts.online));
  const again = await dial(port);
  await again.write('PROXY TCP4 198.51.100.1 192.0.2.1 1001 8888\r\n');
  t.deepEqual(await again.rest(), [server.texts.tooManyFromAddress]);
});

// ---- X-Forwarded-For on the web port ----

function wsFrom(port: number, localAddress: string, headers: Record<string, string>): Promise<WsClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/chat`, { origin: `http://127.0.0.1:${port}`, localAddress, headers });
    const client = new WsClient(ws);
    ws.once('error', reject);
    ws.once('open', () => resolve(client));
  });
}

test('X-Forwarded-For and -Proto: believed from a trusted proxy (right-most untrusted hop), ignored from anyone else; per-IP limits use it', async (t) => {
  const { server, web } = await withWeb(t, { trustProxy: trust('127.0.0.1'), maxConnectionsPerIp: 1 });
  const { online } = server.texts;
  // The peers as the web edge hands them over (to see `secure`, which no line shows from loopback).
  const peers: Peer[] = [];
  const accept = server.accept.bind(server);
  server.accept = (...args: Parameters<ChatServer['accept']>) => {
    peers.push(args[0]);
    accept(...args);
  };
  const viaProxy = await wsFrom(web.port, '127.0.0.1', { 'X-Forwarded-For': '6.6.6.6, 198.51.100.7', 'X-Forwarded-Proto': 'https' });
  t.teardown(() => viaProxy.destroy());
  const port = viaProxy.addr.split(':')[1];
  t.is(await viaProxy.nextLine(), userLine(`198.51.100.7:${port}`, `198.51.100.7:${port}`, online));
  t.true(peers[0].secure, 'X-Forwarded-Proto: https from a trusted proxy: TLS ended there');

  const direct = await wsFrom(web.port, '127.0.0.2', { 'X-Forwarded-For': '198.51.100.99', 'X-Forwarded-Proto': 'https' });
  t.teardown(() => direct.destroy());
  t.is(await direct.nextLine(), userLine(direct.addr, direct.addr, online));
  t.falsy(peers[1].secure, 'anyone else saying https is not believed');

  // Same forwarded client, another connection through the proxy: over its per-IP limit.
  const again = await wsFrom(web.port, '127.0.0.1', { 'X-Forwarded-For': '198.51.100.7' });
  t.is(await again.nextLine(), server.texts.tooManyFromAddress);
  t.is(await again.closed, 1000);
  // And the proxy itself is not the one limited.
  const another = await wsFrom(web.port, '127.0.0.1', { 'X-Forwarded-For': '198.51.100.8' });
  t.teardown(() => another.destroy());
  t.regex(await another.nextLine(), /^\[198\.51\.100\.8:\d+\]/);
});
