/**
 * The web chat in a real browser (Debian's chromium, driven by playwright-core), together with
 * raw TCP clients on the same server. Screenshots go to screenshots/ (git-ignored).
 */
import anyTest, { ExecutionContext, TestFn } from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { connect } from '../helpers/tcp';
import { ChatServer, ServerOptions } from '../../lib/server';
import { WebHandle, startWeb } from '../../lib/web';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = path.resolve(__dirname, '../../screenshots');
const WAIT_MS = 5000;

const test = anyTest as TestFn<{ browser: Browser }>;

interface Chat {
  chat: ChatServer;
  web: WebHandle;
  tcpPort: number;
  stop(): Promise<void>;
}

async function startChat(t: ExecutionContext, options: ServerOptions = {}, ports = { tcp: 0, http: 0 }): Promise<Chat> {
  const chat = new ChatServer({ ...options, host: '127.0.0.1', port: ports.tcp });
  const { port: tcpPort } = await chat.listen();
  const web = await startWeb(chat, { host: '127.0.0.1', port: ports.http, maxLineBytes: options.maxLineBytes ?? 4096 });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await chat.close(200);
    await web.close();
  };
  t.teardown(stop);
  return { chat, web, tcpPort, stop };
}

async function openPage(t: ExecutionContext<{ browser: Browser }>, port: number, viewport = { width: 1000, height: 640 }): Promise<Page> {
  const context: BrowserContext = await t.context.browser.newContext({ viewport });
  t.teardown(() => context.close());
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  // Any dialog (alert) would mean text ran as code.
  page.on('dialog', (dialog) => {
    t.fail(`a dialog opened: ${dialog.message()}`);
    void dialog.dismiss();
  });
  page.on('pageerror', (err) => t.fail(`page error: ${err.message}`));
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.locator('#status[data-state="up"]').waitFor();
  await page.locator('#users .user.self').waitFor();
  return page;
}

async function say(page: Page, text: string): Promise<void> {
  await page.fill('#text', text);
  await page.press('#text', 'Enter');
}

async function rename(page: Page, name: string): Promise<void> {
  await page.fill('#new-name', name);
  await page.click('#rename-button');
}

/** The entry of the log that contains `text` (waits for it). */
function entry(page: Page, text: string, kind = '') {
  return page.locator(`#log .entry${kind}`, { hasText: text }).last();
}

async function users(page: Page): Promise<string[]> {
  return page.locator('#users .user').evaluateAll((els) => els.map((el) => el.firstChild?.textContent ?? ''));
}

async function shot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, name) });
}

if (!fs.existsSync(CHROMIUM)) {
  console.warn(`\n*** SKIPPED: the web chat's browser tests need ${CHROMIUM}: install the Debian package \`chromium\` (apt-get install chromium) ***\n`);
  test.skip('web chat in a browser: SKIPPED, needs the Debian package `chromium` (/usr/bin/chromium is absent)', () => {});
} else {
  test.before(async (t) => {
    const { chromium } = await import('playwright-core');
    t.context.browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-quic', '--disable-sync'],
    });
  });
  test.after.always(async (t) => {
    await t.context.browser?.close();
  });

  test.serial('two browser pages and a TCP client chat together and see each other in who', async (t) => {
    const { web, tcpPort } = await startChat(t);
    const alice = await openPage(t, web.port);
    await rename(alice, 'alice');
    await entry(alice, '您已更改用户名为:alice').waitFor();
    const bob = await openPage(t, web.port);
    await rename(bob, 'bob');
    await entry(bob, '您已更改用户名为:bob').waitFor();
    const nc = await connect(tcpPort);
    t.teardown(() => nc.destroy());
    await nc.expectLine(`[${nc.addr}]${nc.addr}:已上线`);

    const listed = await nc.who();
    t.deepEqual(
      listed.map((line) => line.replace(/^\[[^\]]*\]/, '')),
      ['alice:在线...', 'bob:在线...', `${nc.addr}:在线...`],
    );
    // The pages learn the TCP user from its join line; alice learnt bob's name from `who`
    // at its connect or from his words; make him speak to be sure.
    await entry(alice, `${nc.addr}`, '.event').waitFor();
    await say(bob, 'hi all');
    await entry(alice, 'hi all', '.say').waitFor();
    await nc.expectLine(/\]bob:hi all$/);
    t.deepEqual(await users(alice), ['alice', 'bob', nc.addr]);
    t.deepEqual(await users(bob), ['alice', 'bob', nc.addr]);

    await say(alice, '你好 🌏 from alice');
    await nc.expectLine(new RegExp(`^\\[127\\.0\\.0\\.1:\\d+\\]alice:你好 🌏 from alice$`));
    const seen = entry(bob, '你好 🌏 from alice', '.say');
    t.is(await seen.locator('.from').textContent(), 'alice');
    t.is(await seen.locator('.text').textContent(), '你好 🌏 from alice');
    t.regex((await seen.locator('time').textContent()) ?? '', /^\d\d:\d\d$/);

    await nc.send('hello from nc');
    for (const page of [alice, bob]) {
      const line = entry(page, 'hello from nc', '.say');
      t.is(await line.locator('.from').textContent(), nc.addr);
    }
    // The user's own messages are styled apart.
    t.is(await entry(alice, '你好 🌏 from alice', '.mine').count(), 1);
    await nc.send('to|bob|psst 👋 只给你看');
    await entry(bob, 'psst 👋 只给你看', '.private').waitFor();
    await shot(bob, 'web-chat.png');
    await bob.setViewportSize({ width: 375, height: 700 });
    await bob.locator('#people:not([open])').waitFor(); // folded at phone width
    await shot(bob, 'web-chat-phone.png');
    // At phone width nothing overflows sideways.
    t.true(await bob.evaluate('document.documentElement.scrollWidth <= window.innerWidth'));
  });

  test.serial('rename: the form, /nick, a taken name, and the others see the new name', async (t) => {
    const { web, tcpPort } = await startChat(t, { lang: 'en' });
    const page = await openPage(t, web.port);
    const nc = await connect(tcpPort);
    t.teardown(() => nc.destroy());
    await nc.expectLine(/is online$/);
    await rename(page, 'carol');
    await entry(page, 'Your name is now:carol').waitFor();
    t.is(await page.locator('#users .user.self').evaluate((el) => el.firstChild?.textContent), 'carol');
    await nc.send('rename|dave');
    await nc.expectLine('Your name is now:dave');
    await say(page, '/nick dave');
    await entry(page, 'That name is already in use!', '.notice').waitFor();
    // The terminal client's reading of commands (web/commands.js): two words are a usage
    // notice, not a rename; `/name` is `/nick`; leading blanks are ignored.
    await say(page, '/nick carol two');
    await entry(page, 'Usage: /nick NAME', '.notice').waitFor();
    await say(page, '  /name carol2');
    await entry(page, 'Your name is now:carol2').waitFor();
    t.deepEqual((await nc.who()).map((l) => l.replace(/^\[[^\]]*\]/, '')), ['carol2:online...', 'dave:online...']);
    // dave's new name reaches the page's panel when he speaks (the protocol announces no renames).
    await nc.send('I am dave now');
    await entry(page, 'I am dave now', '.say').waitFor();
    t.deepEqual(await users(page), ['carol2', 'dave']);
  });

  test.serial('a private message each way between the browser and TCP', async (t) => {
    const { web, tcpPort } = await startChat(t);
    const page = await openPage(t, web.port);
    await rename(page, 'erin');
    await entry(page, '您已更改用户名为:erin').waitFor();
    const nc = await connect(tcpPort);
    t.teardown(() => nc.destroy());
    await nc.expectLine(/已上线$/);
    await nc.send('rename|frank');
    await nc.expectLine('您已更改用户名为:frank');
    await nc.send('frank here');
    await nc.expectLine(/frank:frank here$/);
    await entry(page, 'frank here').waitFor();

    // Browser -> TCP: click frank in the panel, type.
    await page.locator('#users .user', { hasText: 'frank' }).click();
    t.is(await page.locator('#target-label').textContent(), '私聊 frank');
    await say(page, '只给你 | 看');
    await nc.expectLine('erin : 只给你 | 看');
    t.is(await entry(page, '只给你 | 看', '.private.mine').locator('.from').textContent(), '→ frank');
    await page.click('#target-clear');
    t.true(await page.locator('#target').isHidden());

    // TCP -> browser.
    await nc.send('to|erin|got it : thanks');
    const got = entry(page, 'got it : thanks', '.private');
    t.is(await got.locator('.from').textContent(), 'frank');
    t.is(await got.locator('.badge').textContent(), '私聊');

    // The chat-mode command works too, and an unknown name gets the server's notice.
    await say(page, '/msg nobody hi');
    await entry(page, 'nobody用户不存在', '.notice').waitFor();
  });

  test.serial('the XSS string is shown literally, in messages, names and private messages', async (t) => {
    const { web, tcpPort } = await startChat(t);
    const page = await openPage(t, web.port);
    const nc = await connect(tcpPort);
    t.teardown(() => nc.destroy());
    await nc.expectLine(/已上线$/);
    const xss = '<img src=x onerror=alert(1)>';
    await nc.send(xss);
    await nc.expectLine(new RegExp(`:${xss.replace(/[()]/g, '\\$&')}$`));
    await nc.send('rename|<b>x</b><script>');
    await nc.expectLine(/您已更改用户名为/);
    await nc.send('to|' + (await page.locator('#users .user.self').evaluate((el) => el.firstChild?.textContent)) + '|' + xss);
    await nc.send('after');
    await nc.expectLine(/:after$/);
    await entry(page, 'after').waitFor();
    t.is(await entry(page, xss, '.say').locator('.text').textContent(), xss);
    t.is(await entry(page, xss, '.private').locator('.text').textContent(), xss);
    t.is(await entry(page, 'after').locator('.from').textContent(), '<b>x</b><script>');
    t.true((await users(page)).includes('<b>x</b><script>'));
    t.is(await page.locator('#log img, #log b, #log script, #users b').count(), 0);
    await say(page, xss);
    await nc.expectLine(new RegExp(`:${xss.replace(/[()]/g, '\\$&')}$`));
  });

  test.serial('the idle kick is shown to the browser user, who stays out until asking to come back', async (t) => {
    const { chat, web } = await startChat(t, { idleTimeoutMs: 1000 });
    const page = await openPage(t, web.port);
    const kicked = entry(page, '你被踢了', '.alert');
    await kicked.waitFor();
    await page.locator('#status[data-state="ended"]').waitFor();
    t.true(await page.locator('#reconnect').isVisible());
    t.is(await page.locator('#users .user').count(), 0);
    t.is(chat.connections, 0);
    await shot(page, 'web-chat-kicked.png');
    await page.click('#reconnect');
    await page.locator('#status[data-state="up"]').waitFor();
    await page.locator('#users .user.self').waitFor();
    t.is(chat.connections, 1);
  });

  test.serial('the server restarted: the page reconnects, says so, and takes its name back', async (t) => {
    const first = await startChat(t, { lang: 'en' });
    const page = await openPage(t, first.web.port);
    await rename(page, 'gina');
    await entry(page, 'Your name is now:gina').waitFor();
    const ports = { tcp: first.tcpPort, http: first.web.port };
    await first.stop();
    await entry(page, 'The server is shutting down', '.alert').waitFor();
    await page.locator('#status[data-state="retrying"]').waitFor();
    t.regex((await page.locator('#status').textContent()) ?? '', /retrying in \d+ s \(attempt \d+\)/);

    const second = await startChat(t, { lang: 'en' }, ports);
    await entry(page, 'Reconnected').waitFor();
    await page.locator('#status[data-state="up"]').waitFor();
    await entry(page, 'Your name is now:gina').last().waitFor();
    const nc = await connect(second.tcpPort);
    t.teardown(() => nc.destroy());
    await nc.expectLine(/is online$/);
    t.deepEqual((await nc.who()).map((l) => l.replace(/^\[[^\]]*\]/, '')), ['gina:online...', `${nc.addr}:online...`]);
    t.is(await page.locator('#users .user.self').evaluate((el) => el.firstChild?.textContent), 'gina');
    await shot(page, 'web-chat-reconnected.png');
  });

  test.serial('unread messages are counted in the tab title while the page is in the background', async (t) => {
    const { web, tcpPort } = await startChat(t);
    const page = await openPage(t, web.port);
    const nc = await connect(tcpPort);
    t.teardown(() => nc.destroy());
    await nc.expectLine(/已上线$/);
    // Headless pages have no focus to lose: tell the page it is hidden, as a background tab is.
    // (Scripts as strings: the specs compile without the DOM's types.)
    const setHidden = (hidden: boolean) =>
      page.evaluate(`Object.defineProperty(document, 'hidden', { configurable: true, get: () => ${hidden} }); document.dispatchEvent(new Event('visibilitychange'))`);
    await setHidden(true);
    await nc.send('one');
    await nc.send('two');
    await entry(page, 'two').waitFor();
    t.is(await page.title(), '(2) rx-im');
    await setHidden(false);
    await page.waitForFunction(`document.title === 'rx-im'`);
    t.pass();
  });
}
