/**
 * End to end, real sockets (issue 13, item 8): the operator's log says how every session
 * ended. At shutdown each session's end is logged, with its reason, before `close()` resolves
 * (the CLI exits right after); a WebSocket ended for a ping flood, a protocol error or a lost
 * connection is logged with that reason; connections reset before they were accepted are
 * counted, and the count is logged at shutdown.
 */
import test, { ExecutionContext } from 'ava';
import { spawnSync } from 'node:child_process';
import * as net from 'node:net';
import { ChatServer } from '../../lib/server';
import { WebHandle, startWeb } from '../../lib/web';
import { PING_FLOOD_BYTES } from '../../lib/web/peer';
import { connectWs } from '../web/ws-client';
import { connect } from '../helpers/tcp';
import { userLine, waitFor } from '../helpers/server';

async function start(t: ExecutionContext): Promise<{ chat: ChatServer; tcpPort: number; web: WebHandle; logs: string[] }> {
  const logs: string[] = [];
  const chat = new ChatServer({ host: '127.0.0.1', port: 0, lang: 'en', log: (l) => logs.push(l) });
  const { port: tcpPort } = await chat.listen();
  const web = await startWeb(chat, { host: '127.0.0.1', port: 0, maxLineBytes: 4096 });
  t.teardown(async () => {
    await chat.close(100);
    await web.close();
  });
  return { chat, tcpPort, web, logs };
}

test('shutdown: every session, TCP and WebSocket, is logged ending with its reason before close() resolves; the resets are counted in the last line', async (t) => {
  const { chat, tcpPort, web, logs } = await start(t);
  // Two connections reset before the server accepts them (it is blocked in spawnSync meanwhile).
  const script = `const net = require('net'); let left = 2;
    for (let i = 0; i < 2; i++) { const s = net.connect(${tcpPort}, '127.0.0.1', () => { s.resetAndDestroy(); if (--left === 0) setTimeout(() => process.exit(0), 100); }); s.on('error', () => {}); }`;
  t.is(spawnSync(process.execPath, ['-e', script], { timeout: 10_000 }).status, 0);
  const tcp = await Promise.all([connect(tcpPort), connect(tcpPort), connect(tcpPort)]);
  const browsers = await Promise.all([connectWs(web.port), connectWs(web.port)]);
  for (const c of [...tcp, ...browsers]) t.teardown(() => c.destroy());
  for (const c of tcp) await c.expectLine(userLine(c.addr, c.addr, chat.texts.online));
  for (const b of browsers) t.is(await b.nextLine(), userLine(b.addr, b.addr, chat.texts.online));
  // Two never read: their transports will not close by themselves within the grace period.
  tcp[2].socket.pause();
  browsers[1].ws.pause();
  await waitFor('the resets counted', () => chat.resetBeforeAccept === 2);
  await chat.close(300);
  for (const addr of [...tcp, ...browsers].map((c) => c.addr)) {
    t.true(logs.includes(`disconnected ${addr} (server shutdown)`), `${addr}: ${JSON.stringify(logs)}`);
  }
  t.is(logs.filter((l) => l.startsWith('disconnected')).length, 5, 'each once');
  t.regex(logs[logs.length - 1], /^shutdown: 5 sessions ended \(\d closed in time\); 2 connections were reset before they were accepted$/);
});

test('a WebSocket client that pings and never reads the pongs is ended, and the log says it was a ping flood', async (t) => {
  const { chat, web, logs } = await start(t);
  const flooder = await connectWs(web.port);
  t.teardown(() => flooder.destroy());
  await flooder.nextLine();
  const addr = flooder.addr;
  flooder.ws.pause(); // reads nothing: the pongs pile up
  const payload = Buffer.alloc(125, 0x70);
  let pings = 0;
  while (chat.connections > 0 && pings < 100_000) {
    for (let i = 0; i < 500; i++) flooder.ws.ping(payload);
    pings += 500;
    await new Promise((resolve) => setImmediate(resolve));
  }
  await waitFor('its end logged', () => logs.some((l) => l.startsWith(`disconnected ${addr}`)));
  t.true(logs.includes(`error ${addr}: ping flood: pinging with over ${PING_FLOOD_BYTES} bytes unread`), JSON.stringify(logs));
  t.true(logs.includes(`disconnected ${addr} (transport error)`));
  t.log(`ended after ${pings} pings of 125 bytes`);
});

test('a WebSocket protocol error and a connection lost without a close frame are logged with their reasons', async (t) => {
  const { chat, web, logs } = await start(t);
  // A ping frame that claims 126 bytes: control frames carry at most 125 (RFC 6455, 5.5).
  const raw = net.connect({ port: web.port, host: '127.0.0.1' });
  raw.on('error', () => {});
  t.teardown(() => raw.destroy());
  let received = '';
  raw.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
  await new Promise<void>((resolve) => raw.once('connect', () => resolve()));
  const rawAddr = `${raw.localAddress}:${raw.localPort}`;
  raw.write(
    `GET /chat HTTP/1.1\r\nHost: 127.0.0.1:${web.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  await waitFor('the upgrade', () => received.startsWith('HTTP/1.1 101') && received.includes('is online'));
  raw.write(Buffer.from([0x89, 0x80 | 126, 0x00, 0x7e, 1, 2, 3, 4]));
  await waitFor('its end logged', () => logs.some((l) => l.startsWith(`disconnected ${rawAddr}`)));
  t.regex(logs.find((l) => l.startsWith(`error ${rawAddr}:`)) ?? '', /payload length/i);
  t.true(logs.includes(`disconnected ${rawAddr} (transport error)`));

  const gone = await connectWs(web.port);
  await gone.nextLine();
  const goneAddr = gone.addr;
  gone.destroy(); // no close frame: the TCP connection just ends
  await waitFor('its end logged', () => logs.some((l) => l.startsWith(`disconnected ${goneAddr}`)));
  t.true(logs.includes(`error ${goneAddr}: connection lost: closed without a close frame (1006)`), JSON.stringify(logs));
  t.true(logs.includes(`disconnected ${goneAddr} (transport error)`));

  // A normal close stays a normal leave.
  const polite = await connectWs(web.port);
  await polite.nextLine();
  const politeAddr = polite.addr;
  polite.ws.close(1000);
  await waitFor('its end logged', () => logs.some((l) => l.startsWith(`disconnected ${politeAddr}`)));
  t.true(logs.includes(`disconnected ${politeAddr}`));
  t.is(chat.connections, 0);
});

test('a WebSocket that pings and reads its pongs is answered and stays', async (t) => {
  const { chat, web } = await start(t);
  const client = await connectWs(web.port);
  t.teardown(() => client.destroy());
  await client.nextLine();
  let pongs = 0;
  client.ws.on('pong', () => pongs++);
  // Many at once (one packet), more than ws's own limit of 60 pongs not yet written.
  for (let i = 0; i < 300; i++) client.ws.ping(Buffer.from(String(i)));
  await waitFor('every pong', () => pongs === 300);
  t.is(chat.connections, 1);
  client.ws.close(1000);
  await waitFor('gone', () => chat.connections === 0);
});
