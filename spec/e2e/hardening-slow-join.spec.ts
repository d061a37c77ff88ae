/**
 * End to end, real sockets (issue 13, item 6): a line a client sends while the hub is still
 * taking its join (a shared hub answers a round trip later) is kept and answered, on every
 * transport. The page sends `who` as soon as its socket opens: with Redis, 2-3 pages in 20 got
 * no reply, since the WebSocket's frames were only listened to once the join was done.
 * spec/session.spec.ts has the same rule in virtual time; here the hub answers 300 ms late.
 */
import test, { ExecutionContext } from 'ava';
import * as net from 'node:net';
import { map, timer } from 'rxjs';
import WebSocket from 'ws';
import { Hub, MemoryHub } from '../../lib/hub';
import { ChatServer } from '../../lib/server';
import { startWeb } from '../../lib/web';
import { TcpClient } from '../helpers/tcp';
import { userLine } from '../helpers/server';
import { WsClient } from '../web/ws-client';

const JOIN_DELAY_MS = 300;

/** A server whose hub answers every join `JOIN_DELAY_MS` late (MemoryHub otherwise). */
async function slowJoinServer(t: ExecutionContext): Promise<{ chat: ChatServer; tcpPort: number; webPort: number; joins: () => number }> {
  const memory = new MemoryHub();
  const slow = Object.create(memory) as Hub;
  let joins = 0;
  slow.join = (member) =>
    timer(JOIN_DELAY_MS).pipe(
      map(() => {
        joins++;
        return memory.join(member);
      }),
    );
  const chat = new ChatServer({ host: '127.0.0.1', port: 0, lang: 'en', hub: slow });
  const { port: tcpPort } = await chat.listen();
  const web = await startWeb(chat, { host: '127.0.0.1', port: 0, maxLineBytes: 4096 });
  t.teardown(async () => {
    await chat.close(100);
    await web.close();
  });
  return { chat, tcpPort, webPort: web.port, joins: () => joins };
}

test('WebSocket: `who` sent in the same tick as the socket opens, during a slow join, is answered after the join', async (t) => {
  const { chat, webPort, joins } = await slowJoinServer(t);
  const ws = new WebSocket(`ws://127.0.0.1:${webPort}/chat`, { origin: `http://127.0.0.1:${webPort}` });
  const browser = new WsClient(ws);
  t.teardown(() => browser.destroy());
  let sentBeforeJoin = false;
  ws.once('open', () => {
    ws.send('who');
    ws.send('hello before the join');
    sentBeforeJoin = joins() === 0;
  });
  const joined = userLine('ADDR', 'ADDR', chat.texts.online);
  const first = await browser.nextLine(JOIN_DELAY_MS + 3000);
  t.true(sentBeforeJoin, 'the lines left before the hub answered the join');
  t.is(first, joined.replaceAll('ADDR', browser.addr));
  t.is(await browser.nextLine(), userLine(browser.addr, browser.addr, chat.texts.listed));
  t.is(await browser.nextLine(), userLine(browser.addr, browser.addr, 'hello before the join'));
});

test('TCP: `who` sent in the same tick as the connection opens, during a slow join, is answered after the join', async (t) => {
  const { chat, tcpPort, joins } = await slowJoinServer(t);
  let sentBeforeJoin = false;
  const socket = await new Promise<net.Socket>((resolve, reject) => {
    const s = net.connect({ port: tcpPort, host: '127.0.0.1' }, () => {
      s.write('who\nhello before the join\n');
      sentBeforeJoin = joins() === 0;
      resolve(s);
    });
    s.once('error', reject);
  });
  const nc = new TcpClient(socket);
  t.teardown(() => nc.destroy());
  t.is(await nc.nextLine(JOIN_DELAY_MS + 3000), userLine(nc.addr, nc.addr, chat.texts.online));
  t.true(sentBeforeJoin, 'the lines left before the hub answered the join');
  t.is(await nc.nextLine(), userLine(nc.addr, nc.addr, chat.texts.listed));
  t.is(await nc.nextLine(), userLine(nc.addr, nc.addr, 'hello before the join'));
});

test('many WebSockets opened at once, each sending `who` on open: every one is answered', async (t) => {
  const { chat, webPort } = await slowJoinServer(t);
  const pages = Array.from({ length: 40 }, () => {
    const ws = new WebSocket(`ws://127.0.0.1:${webPort}/chat`, { origin: `http://127.0.0.1:${webPort}` });
    const client = new WsClient(ws);
    ws.once('open', () => ws.send('who'));
    return client;
  });
  for (const p of pages) t.teardown(() => p.destroy());
  // Each page's own `who` reply lists at least itself; read until it shows up among the joins.
  const answered = await Promise.all(
    pages.map(async (p) => {
      for (let i = 0; i < 200; i++) {
        const line = await p.nextLine(JOIN_DELAY_MS + 5000);
        if (line === userLine(p.addr, p.addr, chat.texts.listed)) return true;
      }
      return false;
    }),
  );
  t.is(answered.filter(Boolean).length, 40);
});
