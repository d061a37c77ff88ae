/**
 * The web chat over HTTPS and WSS in a real browser (Debian's chromium, driven by
 * playwright-core, launched as spec/e2e/web-browser.spec.ts launches it, plus
 * `--ignore-certificate-errors` for the certificate minted for the test), in one chat with a
 * line-protocol user over TLS. Skipped, saying so, where chromium is not installed.
 */
import anyTest, { ExecutionContext, TestFn } from 'ava';
import * as fs from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { ChatServer } from '../../lib/server';
import { TlsCertificate } from '../../lib/tcp/tls';
import { startWeb } from '../../lib/web';
import { certFiles } from '../helpers/certs';
import { connectTls } from '../tcp/connect-tls';
import { CHROMIUM, launchChromium } from '../helpers/browser';

const WAIT_MS = 5000;

const test = anyTest as TestFn<{ browser: Browser }>;

async function startChat(t: ExecutionContext) {
  const files = certFiles(t);
  const loaded = TlsCertificate.load(files.certFile, files.keyFile);
  if (!loaded.ok) throw new Error(loaded.error);
  const chat = new ChatServer({ host: '127.0.0.1', port: 0, lang: 'en', history: false });
  const { port: tlsPort } = await chat.listenTls({ certificate: loaded.value, port: 0 });
  const web = await startWeb(chat, { host: '127.0.0.1', port: 0, maxLineBytes: 4096, tls: loaded.value });
  t.teardown(async () => {
    await chat.close(200);
    await web.close();
  });
  return { tlsPort, webPort: web.port, files };
}

async function openPage(t: ExecutionContext<{ browser: Browser }>, url: string, sockets: string[]): Promise<Page> {
  const context = await t.context.browser.newContext({ viewport: { width: 1000, height: 640 } });
  t.teardown(() => context.close());
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  page.on('pageerror', (err) => t.fail(`page error: ${err.message}`));
  page.on('websocket', (ws) => sockets.push(ws.url()));
  await page.goto(url);
  await page.locator('#status[data-state="up"]').waitFor();
  return page;
}

if (!fs.existsSync(CHROMIUM)) {
  console.warn(
    `\n*** SKIPPED: the web chat's HTTPS/WSS browser test needs ${CHROMIUM}: install the Debian package \`chromium\` (apt-get install chromium) ***\n`,
  );
  test.skip('web chat over HTTPS/WSS in a browser: SKIPPED, needs the Debian package `chromium` (/usr/bin/chromium is absent)', () => {});
} else {
  test.before(async (t) => {
    // The certificate is minted for the test: no CA the browser knows vouches for it.
    t.context.browser = await launchChromium(['--ignore-certificate-errors']);
  });
  test.after.always(async (t) => {
    await t.context.browser?.close();
  });

  test.serial('the page over HTTPS chats over WSS with a line-protocol user over TLS', async (t) => {
    const { tlsPort, webPort, files } = await startChat(t);
    const sockets: string[] = [];
    const page = await openPage(t, `https://127.0.0.1:${webPort}/`, sockets);
    t.is(await page.evaluate('location.protocol'), 'https:');
    t.deepEqual(sockets, [`wss://127.0.0.1:${webPort}/chat`]);

    const secure = await connectTls(tlsPort, { ca: files.minted.cert });
    t.teardown(() => secure.destroy());
    await secure.expectLine(`[${secure.addr}]${secure.addr}:is online`);
    await page
      .locator('#log .entry', { hasText: `${secure.addr}` })
      .first()
      .waitFor();

    await page.fill('#text', 'hello from the browser');
    await page.press('#text', 'Enter');
    t.regex(await secure.nextLine(), /^\[127\.0\.0\.1:\d+\]127\.0\.0\.1:\d+:hello from the browser$/);
    await secure.send('hello from TLS');
    await page.locator('#log .entry', { hasText: 'hello from TLS' }).waitFor();
  });
}
