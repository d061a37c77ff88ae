/**
 * End to end, real sockets (issue 13, item 1): the web port is no way around the connection
 * limits. Every accepted socket (TCP chat, HTTP, WebSocket upgrade) counts against
 * `maxConnections` and `maxConnectionsPerIp` at accept; the web holds at most its share
 * (`maxWebConnections`); slow or silent HTTP connections meet short deadlines; when the web is
 * full, the oldest connection with no request in progress makes way. The attackers use other
 * loopback addresses (127.0.0.2) than the users (127.0.0.1, 127.0.0.3). Counts are hundreds and
 * deadlines a second or two, passed as options.
 */
import test, { ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import * as net from 'node:net';
import { ChatServer, ServerOptions } from '../../lib/server';
import { WebHandle, startWeb } from '../../lib/web';
import type { HttpTimeouts } from '../../lib/web/limits';
import { connectWs } from '../web/ws-client';
import { connect } from '../helpers/tcp';
import { userLine, waitFor, watchProcess } from '../helpers/server';

async function start(
  t: ExecutionContext,
  options: ServerOptions,
  timeouts: HttpTimeouts,
): Promise<{ chat: ChatServer; tcpPort: number; web: WebHandle; logs: string[] }> {
  const logs: string[] = [];
  const chat = new ChatServer({ host: '127.0.0.1', port: 0, lang: 'en', log: (l) => logs.push(l), ...options });
  const { port: tcpPort } = await chat.listen();
  const web = await startWeb(chat, { host: '127.0.0.1', port: 0, maxLineBytes: 4096, timeouts });
  t.teardown(async () => {
    await chat.close(100);
    await web.close();
  });
  return { chat, tcpPort, web, logs };
}

/** A connection that sends a request's headers a byte at a time, every `everyMs`, forever. */
class SlowRequest {
  readonly socket: net.Socket;
  readonly opened = performance.now();
  closedAt: number | undefined;
  connected = false;
  response = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(port: number, localAddress: string, everyMs = 100) {
    this.socket = net.connect({ port, host: '127.0.0.1', localAddress });
    this.socket.on('error', () => {});
    this.socket.on('data', (chunk: Buffer) => (this.response += chunk.toString('latin1')));
    this.socket.once('connect', () => {
      this.connected = true;
      this.socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n`);
      this.timer = setInterval(() => this.socket.write('X'), everyMs);
    });
    this.socket.once('close', () => {
      clearInterval(this.timer);
      this.closedAt = performance.now();
    });
  }

  get closed(): boolean {
    return this.closedAt !== undefined;
  }

  destroy(): void {
    clearInterval(this.timer);
    this.socket.destroy();
  }
}

function slowFlood(t: ExecutionContext, port: number, n: number, localAddress = '127.0.0.2'): SlowRequest[] {
  const flood = Array.from({ length: n }, () => new SlowRequest(port, localAddress));
  t.teardown(() => flood.forEach((s) => s.destroy()));
  return flood;
}

const LONG: HttpTimeouts = { headersMs: 30_000, requestMs: 30_000, keepAliveMs: 30_000, idleMs: 30_000 };

test('slow-header requests from one address hold at most its share, meet the headers deadline, and starve neither TCP chat nor WebSockets', async (t) => {
  const raised = watchProcess(t);
  const headersMs = 1500;
  const { chat, tcpPort, web } = await start(
    t,
    { maxConnections: 400, maxConnectionsPerIp: 40 },
    { headersMs, requestMs: 3000, keepAliveMs: 1000, idleMs: 3000 },
  );
  const flood = slowFlood(t, web.port, 200);
  // The 160 over the per-IP limit are dropped at accept, before any header is read.
  await waitFor('160 refused at accept', () => flood.filter((s) => s.closed).length >= 160, 10_000);
  t.is(chat.admission.from('127.0.0.2'), 40);
  const refusedFast = flood.filter((s) => s.closed && s.response === '').length;
  t.true(refusedFast >= 160, `${refusedFast} closed without a byte of response`);

  // Meanwhile users come in by every door.
  const users = await Promise.all(Array.from({ length: 20 }, () => connect(tcpPort)));
  for (const u of users) t.teardown(() => u.destroy());
  for (const u of users) await u.expectLine(userLine(u.addr, u.addr, chat.texts.online), 10_000);
  const browser = await connectWs(web.port);
  t.teardown(() => browser.destroy());
  t.is(await browser.nextLine(), userLine(browser.addr, browser.addr, chat.texts.online));
  t.is((await fetch(`http://127.0.0.1:${web.port}/`)).status, 200);
  browser.send('who');
  const listed = await browser.sync();
  t.is(listed.filter((l) => l.endsWith(':online...')).length, 21);

  // The 40 that were let in are sent a 408 and closed at the headers deadline.
  await waitFor('every slow request closed', () => flood.every((s) => s.closed), headersMs + 5000);
  const lived = flood.filter((s) => s.response !== '').map((s) => (s.closedAt ?? 0) - s.opened);
  t.is(lived.length, 40);
  t.true(flood.filter((s) => s.response !== '').every((s) => s.response.startsWith('HTTP/1.1 408')));
  t.true(Math.max(...lived) < headersMs + 1500, `the longest lived ${Math.max(...lived).toFixed(0)} ms (deadline ${headersMs} ms)`);
  t.is(chat.admission.from('127.0.0.2'), 0);
  t.is(chat.admission.connections, 21, 'the users: 20 TCP, 1 WebSocket (the page request closed)');
  t.deepEqual(raised(), []);
});

test('without a per-IP limit the web holds at most its share, the chat keeps the rest, and a newcomer pushes out the oldest idle connection', async (t) => {
  const raised = watchProcess(t);
  const { chat, tcpPort, web } = await start(t, { maxConnections: 120, maxWebConnections: 60 }, LONG);
  const flood = slowFlood(t, web.port, 100);
  await waitFor('the flood accepted or pushed out', () => flood.every((s) => s.connected) && flood.filter((s) => s.closed).length >= 40, 10_000);
  t.is(chat.admission.webConnections, 60);
  t.is(chat.admission.connections, 60);

  // The chat has the other 60 places.
  const users = await Promise.all(Array.from({ length: 50 }, () => connect(tcpPort)));
  for (const u of users) t.teardown(() => u.destroy());
  for (const u of users) await u.expectLine(userLine(u.addr, u.addr, chat.texts.online), 10_000);
  // A browser: its page request and its WebSocket each push out an old slow request.
  t.is((await fetch(`http://127.0.0.1:${web.port}/`)).status, 200);
  const browser = await connectWs(web.port);
  t.teardown(() => browser.destroy());
  t.is(await browser.nextLine(), userLine(browser.addr, browser.addr, chat.texts.online));
  t.true(chat.admission.webConnections <= 60);
  // More flood: it pushes out its own kind, never the WebSocket, which is no idle HTTP connection.
  const more = slowFlood(t, web.port, 100);
  await waitFor('the second wave accepted or pushed out', () => more.every((s) => s.connected), 10_000);
  browser.send('who');
  t.is((await browser.sync()).filter((l) => l.endsWith(':online...')).length, 51);
  t.true(chat.admission.webConnections <= 60, `${chat.admission.webConnections} web connections`);
  t.true(chat.admission.connections <= 120);
  // A TCP user over the total is refused with the notice, as before.
  const filled = await Promise.all(Array.from({ length: 120 - chat.admission.connections }, () => connect(tcpPort)));
  for (const u of filled) t.teardown(() => u.destroy());
  await waitFor('the chat full', () => chat.admission.connections === 120, 10_000);
  const late = await connect(tcpPort);
  t.teardown(() => late.destroy());
  t.is(await late.nextLine(), chat.texts.serverFull);
  t.deepEqual(raised(), []);
});

test('a connection that sends nothing is closed after the idle deadline', async (t) => {
  const idleMs = 800;
  const { chat, web } = await start(t, {}, { headersMs: 5000, requestMs: 5000, keepAliveMs: 5000, idleMs });
  const opened = performance.now();
  const silent = net.connect({ port: web.port, host: '127.0.0.1', localAddress: '127.0.0.2' });
  silent.on('error', () => {});
  t.teardown(() => silent.destroy());
  await new Promise<void>((resolve) => silent.once('connect', () => resolve()));
  await waitFor('the server counts it', () => chat.admission.from('127.0.0.2') === 1);
  await new Promise<void>((resolve) => silent.once('close', () => resolve()));
  const lived = performance.now() - opened;
  t.true(lived >= idleMs - 50 && lived < idleMs + 2000, `closed after ${lived.toFixed(0)} ms (idle deadline ${idleMs} ms)`);
  await waitFor('its place freed', () => chat.admission.connections === 0);
});

test('a keep-alive connection that upgrades to a WebSocket counts once; its place is freed when it closes', async (t) => {
  const { chat, web } = await start(t, { maxConnectionsPerIp: 1 }, LONG);
  const socket = net.connect({ port: web.port, host: '127.0.0.1' });
  socket.on('error', () => {});
  t.teardown(() => socket.destroy());
  let received = '';
  socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const host = `127.0.0.1:${web.port}`;
  socket.write(`GET /config.json HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
  await waitFor('the page request answered', () => /^HTTP\/1\.1 200/.test(received) && received.includes('}'));
  t.is(chat.admission.connections, 1);
  received = '';
  socket.write(
    `GET /chat HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  await waitFor('the upgrade and the join line', () => received.startsWith('HTTP/1.1 101') && received.includes(':is online'));
  // One socket, one place: with one place per IP, the WebSocket is the keep-alive connection's.
  t.is(chat.admission.connections, 1);
  t.is(chat.admission.webConnections, 1);
  t.is(chat.admission.from('127.0.0.1'), 1);
  t.is(chat.connections, 1);
  socket.destroy();
  await waitFor('its place freed', () => chat.admission.connections === 0 && chat.connections === 0);
  t.is(chat.admission.from('127.0.0.1'), 0);
});

test('connections reset before the server accepted them are counted, on the TCP and the web port', async (t) => {
  const { chat, tcpPort, web } = await start(t, {}, LONG);
  // A child connects and resets while this process (the server's) is blocked in spawnSync:
  // the server only accepts them afterwards, already reset.
  const script = `
    const net = require('net');
    let left = 20;
    for (const port of [${tcpPort}, ${web.port}]) for (let i = 0; i < 10; i++) {
      const s = net.connect(port, '127.0.0.1', () => { s.resetAndDestroy(); if (--left === 0) setTimeout(() => process.exit(0), 100); });
      s.on('error', () => {});
    }
    setTimeout(() => process.exit(1), 5000);`;
  const child = spawnSync(process.execPath, ['-e', script], { timeout: 10_000 });
  t.is(child.status, 0, child.stderr.toString());
  await waitFor('the resets counted', () => chat.resetBeforeAccept >= 20, 5000);
  t.is(chat.resetBeforeAccept, 20);
  t.is(chat.admission.connections, 0);
  t.is(chat.connections, 0);
});

test("the web's idle deadline is for HTTP: a WebSocket outlives it (the chat's idle rule is its own)", async (t) => {
  const idleMs = 300;
  const { chat, web } = await start(t, {}, { headersMs: 300, requestMs: 300, keepAliveMs: 300, idleMs });
  const browser = await connectWs(web.port);
  t.teardown(() => browser.destroy());
  t.is(await browser.nextLine(), userLine(browser.addr, browser.addr, chat.texts.online));
  // Three idle deadlines of silence, then a round trip on the same connection.
  const silentUntil = performance.now() + 3 * idleMs;
  await waitFor('three idle deadlines to pass', () => performance.now() >= silentUntil, 5000);
  browser.send('who');
  t.deepEqual(await browser.sync(), [userLine(browser.addr, browser.addr, chat.texts.listed)]);
  t.is(chat.connections, 1);
});
