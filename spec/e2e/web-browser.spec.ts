/**
 * The web chat in a real browser (Debian's chromium, driven by playwright-core), together with
 * raw TCP clients on the same server. Screenshots go to screenshots/ (git-ignored).
 */
import anyTest, { ExecutionContext, TestFn } from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { TcpClient, connect } from '../helpers/tcp';
import { ChatServer, ServerOptions } from '../../lib/server';
import { openSqliteLog } from '../../lib/store/sqlite';
import { WebHandle, startWeb } from '../../lib/web';
import { CHROMIUM, launchChromium } from '../helpers/browser';

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

async function openPage(
  t: ExecutionContext<{ browser: Browser }>,
  port: number,
  viewport = { width: 1000, height: 640 },
  before?: (page: Page) => Promise<void>,
): Promise<Page> {
  const context: BrowserContext = await t.context.browser.newContext({ viewport });
  t.teardown(() => context.close());
  const page = await context.newPage();
  await before?.(page);
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
  return page.evaluate<string[]>(`[...document.querySelectorAll('#users .user')].map((el) => el.firstChild?.textContent ?? '')`);
}

/** The page's own name in the panel. (Scripts as strings: the specs compile without the DOM's types.) */
async function selfName(page: Page): Promise<string> {
  return page.evaluate<string>(`document.querySelector('#users .user.self')?.firstChild?.textContent ?? ''`);
}

interface Shown {
  /** The entry's classes: `entry say`, `entry event earlier`, `divider`... */
  readonly cls: string;
  readonly from: string;
  readonly text: string;
  /** The time element's dateTime (ISO), '' for a divider. */
  readonly time: string;
}

/** The conversation as the page shows it, top to bottom. (A script as a string: the specs compile without the DOM's types.) */
async function conversation(page: Page): Promise<Shown[]> {
  return page.evaluate<Shown[]>(`[...document.querySelectorAll('#log > li')].map((li) => ({
    cls: li.className,
    from: li.querySelector('.from')?.textContent ?? '',
    text: li.querySelector('.text')?.textContent ?? li.textContent,
    time: li.querySelector('time')?.dateTime ?? '',
  }))`);
}

/** Tells the page it is hidden (or visible again), as a background tab is: headless pages have no focus to lose. */
async function setHidden(page: Page, hidden: boolean): Promise<void> {
  await page.evaluate(
    `Object.defineProperty(document, 'hidden', { configurable: true, get: () => ${hidden} }); document.dispatchEvent(new Event('visibilitychange'))`,
  );
}

/** A TCP user that has read its own join line. */
async function tcpUser(t: ExecutionContext, port: number): Promise<TcpClient> {
  const user = await connect(port);
  t.teardown(() => user.destroy());
  await user.expectLine(/已上线$|is online$/);
  return user;
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
    t.context.browser = await launchChromium();
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
    t.is(await selfName(page), 'carol');
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
    t.deepEqual(
      (await nc.who()).map((l) => l.replace(/^\[[^\]]*\]/, '')),
      ['carol2:online...', 'dave:online...'],
    );
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
    await nc.send('to|' + (await selfName(page)) + '|' + xss);
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

  test.serial('the idle kick frees a background tab, which stays out until someone asks to come back', async (t) => {
    const { chat, web } = await startChat(t, { idleTimeoutMs: 1000 });
    const page = await openPage(t, web.port);
    await setHidden(page, true); // a background tab: nobody reading, no keep-alive
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
    // A new server with a new (memory) log does not know the last line the page saw.
    await entry(page, 'The gap could not be filled', '.alert').waitFor();
    await page.locator('#status[data-state="up"]').waitFor();
    await entry(page, 'Your name is now:gina').last().waitFor();
    const nc = await connect(second.tcpPort);
    t.teardown(() => nc.destroy());
    await nc.expectLine(/is online$/);
    t.deepEqual(
      (await nc.who()).map((l) => l.replace(/^\[[^\]]*\]/, '')),
      ['gina:online...', `${nc.addr}:online...`],
    );
    t.is(await selfName(page), 'gina');
    await shot(page, 'web-chat-reconnected.png');
  });

  test.serial('unread messages are counted in the tab title while the page is in the background', async (t) => {
    const { web, tcpPort } = await startChat(t);
    const page = await openPage(t, web.port);
    const nc = await connect(tcpPort);
    t.teardown(() => nc.destroy());
    await nc.expectLine(/已上线$/);
    await setHidden(page, true);
    await nc.send('one');
    await nc.send('two');
    await entry(page, 'two').waitFor();
    t.is(await page.title(), '(2) rx-im');
    await setHidden(page, false);
    await page.waitForFunction(`document.title === 'rx-im'`);
    t.pass();
  });

  /**
   * Page anna and TCP user bob chat; the server stops and comes back on the same ports with the
   * same SQLite log, TCP first: bob says five lines while the page cannot reach it yet; then
   * the web. Resolves once the page says it is back.
   */
  async function cutOff(t: ExecutionContext<{ browser: Browser }>, options: ServerOptions = {}) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rx-im-web-history-'));
    t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
    const firstLog = openSqliteLog({ dir, maxLines: 1000 });
    t.teardown(() => firstLog.close());
    const first = await startChat(t, { ...options, history: firstLog });
    const anna = await openPage(t, first.web.port);
    await rename(anna, 'anna');
    await entry(anna, '您已更改用户名为:anna').waitFor();
    const bob = await tcpUser(t, first.tcpPort);
    await bob.send('before the cut');
    await entry(anna, 'before the cut', '.say').waitFor();

    const ports = { tcp: first.tcpPort, http: first.web.port };
    await first.stop();
    firstLog.close();
    await anna.locator('#status[data-state="retrying"]').waitFor();
    const log = openSqliteLog({ dir, maxLines: 1000 });
    t.teardown(() => log.close());
    const chat = new ChatServer({ ...options, history: log, host: '127.0.0.1', port: ports.tcp });
    await chat.listen();
    t.teardown(() => chat.close(200));
    const bob2 = await tcpUser(t, ports.tcp);
    const saidFrom = Date.now();
    for (let i = 1; i <= 5; i++) {
      await bob2.send(`missed ${i}`);
      await bob2.expectLine(new RegExp(`:missed ${i}$`));
    }
    const saidUntil = Date.now();
    // A clock tick between the last line said and the page's earliest chance to get it, so a
    // time stamped on arrival could not pass for the line's own (a few ms at most).
    for (let i = 0; i < 100 && Date.now() <= saidUntil; i++) await new Promise((resolve) => setTimeout(resolve, 1));
    const web = await startWeb(chat, { host: '127.0.0.1', port: ports.http, maxLineBytes: 4096 });
    t.teardown(() => web.close());
    // The page cannot have got anything before now: a time stamped on arrival would be later.
    t.true(Date.now() > saidUntil);
    await entry(anna, '已重新连接').waitFor();
    await entry(anna, '您已更改用户名为:anna').last().waitFor();
    return { anna, bob2, saidFrom, saidUntil };
  }

  test.serial('history: a page cut off while five lines are said shows all five once, in order, with their real times', async (t) => {
    const { anna, bob2, saidFrom, saidUntil } = await cutOff(t);
    const shown = await conversation(anna);
    const missed = shown.filter((e) => /^missed \d$/.test(e.text));
    t.deepEqual(
      missed.map((e) => e.text),
      ['missed 1', 'missed 2', 'missed 3', 'missed 4', 'missed 5'],
    );
    for (const e of missed) {
      t.is(e.cls, 'entry say');
      const time = Date.parse(e.time);
      t.true(
        time >= saidFrom - 1 && time <= saidUntil,
        `${e.text} at ${e.time}, said between ${new Date(saidFrom).toISOString()} and ${new Date(saidUntil).toISOString()}`,
      );
    }
    // In place: after the shutdown notice, before the page says it is back.
    const at = (text: string) => shown.findIndex((e) => e.text === text);
    t.true(at('服务器正在关闭') < at('missed 1'));
    t.true(at('missed 5') < at('已重新连接'));
    t.is(shown.filter((e) => e.text === 'before the cut').length, 1);
    t.false(
      shown.some((e) => e.text.startsWith('断线期间') || e.text.startsWith('无法补全')),
      'no gap notice',
    );
    // Live again: the next line comes once, after the rest.
    await bob2.send('after the gap');
    await entry(anna, 'after the gap', '.say').waitFor();
    const after = await conversation(anna);
    t.is(after.filter((e) => /^missed \d$/.test(e.text)).length, 5);
    t.is(after[after.length - 1].text, 'after the gap');
    await shot(anna, 'web-chat-caught-up.png');
  });

  test.serial('history: more was said than one reply holds: the page says some were skipped, then shows the latest', async (t) => {
    // One reply holds 3 events: bob's join, five lines and the page's own join followed the last line it saw.
    const { anna } = await cutOff(t, { historyPage: 3 });
    const shown = await conversation(anna);
    const skipped = shown.findIndex((e) => e.text.startsWith('断线期间的消息太多'));
    t.true(skipped > 0);
    t.true(shown[skipped].cls.includes('alert'));
    t.deepEqual(
      shown.slice(skipped + 1, skipped + 3).map((e) => e.text),
      ['missed 4', 'missed 5'],
    );
    t.false(shown.some((e) => /^missed [123]$/.test(e.text)));
  });

  test.serial('history: a page opened late shows what was said before, marked as earlier, with its times', async (t) => {
    const { web, tcpPort } = await startChat(t, { lang: 'en' });
    const nc = await tcpUser(t, tcpPort);
    for (const text of ['early one', 'early two', 'early three']) {
      await nc.send(text);
      await nc.expectLine(new RegExp(`:${text}$`));
    }
    const said = Date.now();
    const page = await openPage(t, web.port);
    await nc.send('live one');
    await entry(page, 'live one', '.say').waitFor();
    const shown = await conversation(page);
    t.deepEqual(shown[0], { cls: 'divider', from: '', text: 'Earlier messages', time: '' });
    const earlier = shown.filter((e) => e.cls.split(' ').includes('earlier'));
    t.deepEqual(
      earlier.map((e) => [e.from, e.text]),
      [
        [nc.addr, 'is online'],
        [nc.addr, 'early one'],
        [nc.addr, 'early two'],
        [nc.addr, 'early three'],
      ],
    );
    t.deepEqual(shown.slice(1, 5), earlier, 'the earlier lines come first, together, under the divider');
    for (const e of earlier) t.true(Date.parse(e.time) <= said, `${e.text} at ${e.time}`);
    // The page's own join, and what followed, were said while it was there: not earlier.
    t.deepEqual(
      shown.slice(5).map((e) => [e.cls, e.text]),
      [
        ['divider', ''],
        ['entry event', 'is online'],
        ['entry say', 'live one'],
      ],
    );
    await shot(page, 'web-chat-earlier.png');
  });

  test.serial(
    'idle: a visible page someone is at stays past the timeout; an abandoned or background one is freed, and comes back with its person',
    async (t) => {
      const IDLE_MS = 2000;
      const { chat, web } = await startChat(t, { idleTimeoutMs: IDLE_MS });
      const config = (await (await fetch(`http://127.0.0.1:${web.port}/config.json`)).json()) as { idleTimeoutMs?: number };
      t.is(config.idleTimeoutMs, IDLE_MS, 'the page learns the timeout from /config.json (lib/web/index.ts passes it to pageConfig)');
      // Two pages on a clock the test can move: both left untouched for eleven minutes, then
      // someone moves the reader's mouse now and then; nobody touches the other. A third is a
      // background tab.
      const onClock = (page: Page) => page.clock.install();
      const reader = await openPage(t, web.port, undefined, onClock);
      const abandoned = await openPage(t, web.port, undefined, onClock);
      const background = await openPage(t, web.port);
      await setHidden(background, true);
      await reader.clock.fastForward('11:00');
      await abandoned.clock.fastForward('11:00');
      const until = Date.now() + 2 * IDLE_MS;
      for (let x = 10; Date.now() < until && x < 1000; x += 10) {
        await reader.mouse.move(x, 200);
        await reader.waitForTimeout(250);
      }
      await entry(abandoned, '你被踢了', '.alert').waitFor();
      await entry(background, '你被踢了', '.alert').waitFor();
      t.is(await entry(reader, '你被踢了').count(), 0);
      t.is(await reader.locator('#status').getAttribute('data-state'), 'up');
      t.is(chat.connections, 1);
      // The person comes back to the abandoned page: it reconnects by itself.
      await abandoned.mouse.move(50, 50);
      await abandoned.mouse.move(60, 60);
      await entry(abandoned, '已重新连接').waitFor();
      await abandoned.locator('#status[data-state="up"]').waitFor();
      t.is(chat.connections, 2);
    },
  );
}
