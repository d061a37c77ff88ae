/**
 * The web edge on real sockets: the page's files over HTTP, and WebSocket peers sharing one
 * chat (protocol, limits, idle kick, shutdown) with TCP clients.
 */
import test, { ExecutionContext } from 'ava';
import { connect } from '../helpers/tcp';
import { ChatServer, ServerOptions } from '../../lib/server';
import { WebHandle, maxPayload, sameOrigin, startWeb } from '../../lib/web';
import { connectWs } from './ws-client';

async function start(t: ExecutionContext, options: ServerOptions = {}): Promise<{ chat: ChatServer; tcpPort: number; web: WebHandle }> {
  const chat = new ChatServer({ port: 0, ...options });
  const { port: tcpPort } = await chat.listen();
  const web = await startWeb(chat, { host: '127.0.0.1', port: 0, maxLineBytes: options.maxLineBytes ?? 4096 });
  t.teardown(async () => {
    await chat.close(100);
    await web.close();
  });
  return { chat, tcpPort, web };
}

test('serves the page, its scripts and its config, with a strict content policy', async (t) => {
  const { web } = await start(t, { lang: 'en', maxLineBytes: 100 });
  const base = `http://127.0.0.1:${web.port}`;
  const page = await fetch(`${base}/`);
  t.is(page.status, 200);
  t.regex(page.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/);
  t.regex(page.headers.get('content-security-policy') ?? '', /script-src 'self'/);
  t.regex(await page.text(), /<script src="app.js" defer><\/script>/);
  for (const file of ['app.js', 'backoff.js', 'protocol.js', 'commands.js', 'style.css', 'favicon.svg']) {
    t.is((await fetch(`${base}/${file}`)).status, 200, file);
  }
  const config = (await (await fetch(`${base}/config.json`)).json()) as { lang: string; maxLineBytes: number; texts: Record<string, unknown> };
  t.is(config.lang, 'en');
  t.is(config.maxLineBytes, 100);
  t.deepEqual(config.texts.renamed, ['Your name is now:', '']);
  t.is(config.texts.lineTooLong, 'Message too long (at most 100 bytes), discarded');
});

test('nothing but the listed files: no path reaches the disk, only GET and HEAD', async (t) => {
  const { web } = await start(t);
  const base = `http://127.0.0.1:${web.port}`;
  for (const path of ['/package.json', '/../package.json', '/%2e%2e/package.json', '/web/app.js', '/lib/web/site.ts']) {
    t.is((await fetch(`${base}${path}`)).status, 404, path);
  }
  t.is((await fetch(`${base}/`, { method: 'POST', body: 'x' })).status, 405);
  const head = await fetch(`${base}/app.js`, { method: 'HEAD' });
  t.is(head.status, 200);
  t.is(await head.text(), '');
});

test('a WebSocket user and a TCP user chat, see each other in who, and message privately', async (t) => {
  const { tcpPort, web } = await start(t);
  const browser = await connectWs(web.port);
  t.teardown(() => browser.destroy());
  t.is(await browser.nextLine(), `[${browser.addr}]${browser.addr}:已上线`);
  const nc = await connect(tcpPort);
  t.teardown(() => nc.destroy());
  await nc.expectLine(`[${nc.addr}]${nc.addr}:已上线`);
  t.is(await browser.nextLine(), `[${nc.addr}]${nc.addr}:已上线`);

  browser.send('rename|小明');
  t.is(await browser.nextLine(), '您已更改用户名为:小明');
  t.deepEqual(await nc.who(), [`[${browser.addr}]小明:在线...`, `[${nc.addr}]${nc.addr}:在线...`]);

  browser.send('你好 🌏 <b>');
  const said = `[${browser.addr}]小明:你好 🌏 <b>`;
  t.is(await browser.nextLine(), said);
  await nc.expectLine(said);

  browser.send(`to|${nc.addr}|悄悄话`);
  await nc.expectLine('小明 : 悄悄话');
  await nc.send('to|小明|回复');
  t.is(await browser.nextLine(), `${nc.addr} : 回复`);
});

test('a frame with several lines is several lines; CRLF is one line end', async (t) => {
  const { web } = await start(t);
  const browser = await connectWs(web.port);
  t.teardown(() => browser.destroy());
  await browser.nextLine();
  browser.send('one\r\ntwo\n');
  t.deepEqual(await browser.sync(), [`[${browser.addr}]${browser.addr}:one`, `[${browser.addr}]${browser.addr}:two`]);
});

test('a frame over the line limit gets the usual notice and the user stays; far over it closes with 1009', async (t) => {
  const { web } = await start(t, { maxLineBytes: 64 });
  const browser = await connectWs(web.port);
  t.teardown(() => browser.destroy());
  await browser.nextLine();
  browser.send('x'.repeat(65));
  t.is(await browser.nextLine(), '消息过长(最多64字节),已丢弃');
  browser.send('x'.repeat(64));
  t.is(await browser.nextLine(), `[${browser.addr}]${browser.addr}:${'x'.repeat(64)}`);
  browser.send('y'.repeat(maxPayload(64) + 1));
  t.is(await browser.closed, 1009);
});

test('the idle kick reaches a WebSocket user: notice, then a normal close', async (t) => {
  const { web } = await start(t, { idleTimeoutMs: 300 });
  const browser = await connectWs(web.port);
  t.teardown(() => browser.destroy());
  await browser.nextLine();
  t.is(await browser.nextLine(), '你被踢了');
  t.is(await browser.closed, 1000);
});

test('shutdown: WebSocket users get the notice and are closed', async (t) => {
  const chat = new ChatServer({ port: 0, lang: 'en' });
  const web = await startWeb(chat, { host: '127.0.0.1', port: 0, maxLineBytes: 4096 });
  t.teardown(() => web.close());
  const browser = await connectWs(web.port);
  t.teardown(() => browser.destroy());
  await browser.nextLine();
  await chat.close(1000);
  t.is(await browser.nextLine(), 'The server is shutting down');
  t.is(await browser.closed, 1000);
});

test('a page from another site cannot open a chat connection; non-browser clients can', async (t) => {
  const { web } = await start(t);
  await t.throwsAsync(connectWs(web.port, 'http://evil.example'), { message: 'HTTP 403' });
  const tool = await connectWs(web.port, null);
  t.teardown(() => tool.destroy());
  t.regex(await tool.nextLine(), /已上线$/);
  const arrival = { host: '127.0.0.1:8080', localAddress: '127.0.0.1', localPort: 8080 };
  t.is(sameOrigin({ ...arrival, origin: 'http://127.0.0.1:8080' }), 'ok');
  t.is(sameOrigin({ ...arrival, origin: 'http://127.0.0.1:9999' }), 'origin');
  t.is(sameOrigin({ ...arrival, origin: 'null' }), 'origin');
  // spec/web/origin.spec.ts: Host (DNS rebinding), schemes, --web-origin.
});

test('startWeb fails cleanly when the port is taken', async (t) => {
  const { chat, web } = await start(t);
  await t.throwsAsync(startWeb(chat, { host: '127.0.0.1', port: web.port, maxLineBytes: 4096 }), { code: 'EADDRINUSE' });
});

test('a browser that stops reading is cut off at its send-queue bound; the others go on', async (t) => {
  const log: string[] = [];
  // 1 MiB: the TCP user, who reads, stays well under it even on a loaded machine.
  const { chat, tcpPort, web } = await start(t, { maxQueueBytes: 1024 * 1024, rateLimit: 0, log: (line) => log.push(line) });
  const slow = await connectWs(web.port);
  t.teardown(() => slow.destroy());
  await slow.nextLine();
  slow.ws.pause(); // stops reading its socket: the server's frames pile up
  const nc = await connect(tcpPort);
  t.teardown(() => nc.destroy());
  await nc.expectLine(/已上线$/);
  const line = 'x'.repeat(4000);
  let sent = 0;
  // (A paused client cannot see its own close: the server's log and count tell.)
  while (chat.connections > 1 && sent < 10_000) {
    await nc.send(line);
    sent++;
  }
  t.is(chat.connections, 1, `still connected after ${sent} lines of 4000 bytes`);
  t.log(`cut off after ${sent} lines of 4000 bytes`);
  t.true(
    log.some((l) => l.startsWith(`disconnected ${slow.addr} (cut off: send queue`)),
    log.join('\n'),
  );
  // The TCP user is unaffected: `who` answers, and lists only itself.
  const listed = await nc.who(10_000);
  t.deepEqual(
    listed.filter((l) => l.endsWith(':在线...')),
    [`[${nc.addr}]${nc.addr}:在线...`],
  );
});
