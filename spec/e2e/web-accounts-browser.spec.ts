/**
 * Accounts on the web page in a real browser (Debian's chromium, driven by playwright-core),
 * with raw TCP clients on the same server, accounts in the log's SQLite file: register, log
 * out, log in, a wrong password, too many attempts, change the password; "remember me on this
 * tab" across a server restart and a reload (and not without it); a failed automatic login
 * forgets; an offline message shown after the login with its original time; the plaintext
 * refusal naming the TLS port. Passwords never show in the DOM, localStorage or the console.
 * Screenshots go to screenshots/ (git-ignored).
 */
import anyTest, { ExecutionContext, TestFn } from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { SqliteAccounts } from '../../lib/auth/sqlite-accounts';
import { ChatServer, ServerOptions } from '../../lib/server';
import { openSqliteLog } from '../../lib/store/sqlite';
import { TlsCertificate } from '../../lib/tcp/tls';
import { Lang, texts } from '../../lib/texts';
import { TrustedProxies } from '../../lib/trust';
import { WebHandle, startWeb } from '../../lib/web';
import { certFiles } from '../helpers/certs';
import { TcpClient, connect } from '../helpers/tcp';
import { CHROMIUM, launchChromium } from '../helpers/browser';

const SHOTS = path.resolve(__dirname, '../../screenshots');
const WAIT_MS = 5000;
// scrypt made cheap for the tests (spec/auth/passwords.spec.ts checks the real cost).
const CHEAP = { logN: 10, r: 8, p: 1 };
const REMEMBER_KEY = 'rx-im-login';

const test = anyTest as TestFn<{ browser: Browser }>;

interface Chat {
  chat: ChatServer;
  tcpPort: number;
  /** The web chat, once started (startChat starts it unless told not to). */
  web(): Promise<WebHandle>;
  stop(): Promise<void>;
}

function dataDir(t: ExecutionContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rx-im-web-accounts-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A server whose log and accounts are in `dir`'s SQLite file; the web chat starts with it
 * unless `startWebNow` is false (then `web()` starts it: TCP users can act first).
 */
async function startChat(t: ExecutionContext, dir: string, options: ServerOptions = {}, ports = { tcp: 0, http: 0 }, startWebNow = true): Promise<Chat> {
  const log = openSqliteLog({ dir, maxLines: 1000 });
  const chat = new ChatServer({
    lang: 'en',
    rateLimit: 0,
    ...options,
    history: log,
    accounts: { store: new SqliteAccounts(log.db), kdf: CHEAP },
    host: '127.0.0.1',
    port: ports.tcp,
  });
  const { port: tcpPort } = await chat.listen();
  let web: Promise<WebHandle> | undefined;
  const startWebOnce = () => (web ??= startWeb(chat, { host: '127.0.0.1', port: ports.http, maxLineBytes: 4096 }));
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await chat.close(200);
    if (web) await (await web).close();
    log.close();
  };
  t.teardown(stop);
  if (startWebNow) await startWebOnce();
  return { chat, tcpPort, web: startWebOnce, stop };
}

interface Opened {
  page: Page;
  /** Every console message the page printed, as text. */
  consoleLines: string[];
  /** Every frame the page sent, on every socket, in order (empty keep-alive frames left out). */
  sent: string[][];
}

async function openPage(t: ExecutionContext<{ browser: Browser }>, port: number, headers?: Record<string, string>): Promise<Opened> {
  const context = await t.context.browser.newContext({ viewport: { width: 1000, height: 760 }, extraHTTPHeaders: headers });
  t.teardown(() => context.close());
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT_MS);
  const consoleLines: string[] = [];
  const sent: string[][] = [];
  page.on('console', (message) => consoleLines.push(message.text()));
  page.on('pageerror', (err) => t.fail(`page error: ${err.message}`));
  page.on('dialog', (dialog) => {
    t.fail(`a dialog opened: ${dialog.message()}`);
    void dialog.dismiss();
  });
  page.on('websocket', (ws) => {
    const frames: string[] = [];
    sent.push(frames);
    ws.on('framesent', (frame) => {
      if (frame.payload !== '') frames.push(String(frame.payload));
    });
  });
  await page.goto(`http://127.0.0.1:${port}/`);
  await up(page);
  return { page, consoleLines, sent };
}

/** The page is connected and knows who it is. */
async function up(page: Page): Promise<void> {
  await page.locator('#status[data-state="up"]').waitFor();
  await page.locator('#users .user.self').waitFor();
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

async function count(page: Page, text: string): Promise<number> {
  return page.locator('#log .entry', { hasText: text }).count();
}

/** The page's own name in the panel. (Scripts as strings: the specs compile without the DOM's types.) */
async function selfName(page: Page): Promise<string> {
  return page.evaluate<string>(`document.querySelector('#users .user.self')?.firstChild?.textContent ?? ''`);
}

async function sessionValue(page: Page, key: string): Promise<string | null> {
  return page.evaluate<string | null>(`sessionStorage.getItem(${JSON.stringify(key)})`);
}

async function register(page: Page, password: string, remember = false): Promise<void> {
  await say(page, '/register');
  await page.locator('#register-form').waitFor();
  await page.setChecked('#remember', remember);
  await page.fill('#register-password', password);
  await page.fill('#register-again', password);
  await page.click('#register-button');
}

async function login(page: Page, name: string, password: string, remember = false): Promise<void> {
  await page.locator('#login-form').waitFor();
  await page.setChecked('#remember', remember);
  await page.fill('#login-name', name);
  await page.fill('#login-password', password);
  await page.click('#login-button');
}

/** A TCP user that has read its own join line. */
async function tcpUser(t: ExecutionContext, port: number): Promise<TcpClient> {
  const user = await connect(port);
  t.teardown(() => user.destroy());
  await user.expectLine(/已上线$|is online$/);
  return user;
}

/** Who is online, as `name:listed` (other lines that come meanwhile, joins, are left out). */
async function online(user: TcpClient, lang: Lang): Promise<string[]> {
  const suffix = `:${texts[lang].listed}`;
  return (await user.who())
    .filter((l) => l.endsWith(suffix))
    .map((l) => l.replace(/^\[[^\]]*\]/, ''))
    .sort();
}

/** Reads lines until `expected` comes (the pages' joins and leaves may come first). */
async function awaitLine(user: TcpClient, expected: string): Promise<void> {
  const seen: string[] = [];
  for (let i = 0; i < 20; i++) {
    const line = await user.nextLine();
    if (line === expected) return;
    seen.push(line);
  }
  throw new Error(`${expected} did not come; got ${JSON.stringify(seen)}`);
}

/**
 * No secret anywhere the page keeps or shows text: the DOM (markup, rendered text, every input's
 * value), localStorage, the console; nor in sessionStorage unless `remembered` says it may be.
 */
async function noTrace(t: ExecutionContext, opened: Opened, secrets: readonly string[], remembered: readonly string[] = []): Promise<void> {
  const { page, consoleLines } = opened;
  const dom = await page.evaluate<string>(
    `[document.documentElement.outerHTML, document.body.innerText, ...[...document.querySelectorAll('input')].map((i) => i.value)].join('\\n')`,
  );
  const local = await page.evaluate<string>(`JSON.stringify(Object.entries(localStorage))`);
  const session = await page.evaluate<string>(`JSON.stringify(Object.entries(sessionStorage))`);
  t.true(dom.length > 1000, 'the DOM was read');
  for (const secret of secrets) {
    t.false(dom.includes(secret), `${secret} in the DOM`);
    t.false(local.includes(secret), `${secret} in localStorage`);
    t.false(
      consoleLines.some((l) => l.includes(secret)),
      `${secret} on the console`,
    );
    if (!remembered.includes(secret)) t.false(session.includes(secret), `${secret} in sessionStorage`);
  }
}

async function shot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, name) });
}

/** Until the clock has moved past `ms`: a time stamped later cannot pass for one stamped before. */
async function tick(ms: number): Promise<void> {
  for (let i = 0; i < 100 && Date.now() <= ms; i++) await new Promise((resolve) => setTimeout(resolve, 1));
}

if (!fs.existsSync(CHROMIUM)) {
  console.warn(`\n*** SKIPPED: the web accounts' browser tests need ${CHROMIUM}: install the Debian package \`chromium\` (apt-get install chromium) ***\n`);
  test.skip('web accounts in a browser: SKIPPED, needs the Debian package `chromium` (/usr/bin/chromium is absent)', () => {});
} else {
  test.before(async (t) => {
    t.context.browser = await launchChromium();
  });
  test.after.always(async (t) => {
    await t.context.browser?.close();
  });

  test.serial('register, log out, a wrong password, log in, change the password: the replies show, the passwords do not', async (t) => {
    const en = texts.en;
    const chat = await startChat(t, dataDir(t));
    const opened = await openPage(t, (await chat.web()).port);
    const { page } = opened;
    const addr = await selfName(page);
    const first = 'anna-pass-1';
    const second = 'anna-pass-2 新';
    const wrong = 'not-annas-pass';

    // Not before a name is picked: the form says so and cannot be sent.
    await say(page, '/register');
    await page.locator('#register-hint').waitFor();
    t.true(await page.locator('#register-button').isDisabled());
    await entry(page, 'Pick a name first', '.notice').waitFor();
    await rename(page, 'anna');
    await entry(page, en.renamed('anna')).waitFor();
    t.true(await page.locator('#register-hint').isHidden());

    // A password typed on the command line is not sent: the usage says where it goes, the box is emptied.
    await say(page, `/register ${first}`);
    await entry(page, 'Usage: /register', '.notice').waitFor();
    t.is(await page.inputValue('#text'), '');

    // The two new passwords must agree before anything is sent.
    await say(page, '/register');
    await page.fill('#register-password', first);
    await page.fill('#register-again', `${first}x`);
    await page.click('#register-button');
    t.is(await page.locator('#account-reply').textContent(), 'The two new passwords differ: nothing was sent');
    t.is(await page.inputValue('#register-password'), '');

    await register(page, first);
    await entry(page, en.registered('anna'), '.notice').waitFor();
    t.is(await page.locator('#account-state').textContent(), 'Logged in as anna');
    t.is(await page.locator('#account-reply').getAttribute('data-state'), 'ok');
    t.is(await page.inputValue('#register-password'), '');
    t.is(await page.inputValue('#register-again'), '');
    await shot(page, 'web-accounts-logged-in.png');

    // The name is the account's now: a TCP user is told to log in for it.
    const nc = await tcpUser(t, chat.tcpPort);
    await nc.send('rename|anna');
    await nc.expectLine(en.nameRegistered('anna'));

    await page.click('#logout-button');
    await entry(page, en.loggedOut(addr), '.notice').waitFor();
    t.is(await selfName(page), addr);
    t.is(await page.locator('#account-state').textContent(), 'Not logged in');

    await login(page, 'anna', wrong);
    await entry(page, en.loginFailed, '.alert').waitFor();
    t.is(await page.locator('#account-reply').textContent(), en.loginFailed);
    t.is(await page.locator('#account-reply').getAttribute('data-state'), 'error');
    t.is(await page.inputValue('#login-password'), '');
    t.is(await selfName(page), addr);

    // /login NAME fills the name in and waits for the password in the form.
    await say(page, '/login anna');
    t.is(await page.inputValue('#login-name'), 'anna');
    t.is(await page.evaluate<string>(`document.activeElement?.id ?? ''`), 'login-password');
    await page.fill('#login-password', first);
    await page.click('#login-button');
    await entry(page, en.loggedIn('anna'), '.notice').waitFor();
    t.is(await selfName(page), 'anna');
    t.deepEqual(await online(nc, 'en'), [`${nc.addr}:${en.listed}`, `anna:${en.listed}`].sort());

    // Change the password: the old one, the new one twice.
    await say(page, '/passwd');
    await page.locator('#passwd-form').waitFor();
    await page.fill('#passwd-old', first);
    await page.fill('#passwd-new', second);
    await page.fill('#passwd-again', second);
    await page.click('#passwd-button');
    await entry(page, en.passwordChanged, '.notice').waitFor();
    for (const field of ['#passwd-old', '#passwd-new', '#passwd-again']) t.is(await page.inputValue(field), '', field);
    // The new one works, the old one no longer does.
    const other = await tcpUser(t, chat.tcpPort);
    await other.send(`login|anna|${first}`);
    await other.expectLine(en.loginFailed);
    await other.send(`login|anna|${second}`);
    await other.expectLine(en.loggedIn('anna'));
    // That login replaced the page's: it is told, and has its address back.
    await entry(page, en.loggedInElsewhere(addr), '.alert').waitFor();
    t.is(await selfName(page), addr);
    t.is(await page.locator('#account-state').textContent(), 'Not logged in');

    // The raw protocol typed in the message box is an account command too, never a message.
    await page.click('#users .user:not(.self) >> nth=0'); // private mode: still not sent as a message
    await say(page, `login|anna|${wrong}`);
    // The second failure's entry (the first one, above, would match at once).
    await page.locator('#log .entry.alert', { hasText: en.loginFailed }).nth(1).waitFor();
    t.is(await count(page, en.loginFailed), 2);
    t.is(await page.inputValue('#text'), '');

    t.is(await sessionValue(page, REMEMBER_KEY), null, 'nothing remembered when not asked');
    await noTrace(t, opened, [first, second, wrong]);
  });

  test.serial('too many attempts: the sixth login within the window gets the reply that says so', async (t) => {
    const en = texts.en;
    const chat = await startChat(t, dataDir(t));
    const nc = await tcpUser(t, chat.tcpPort);
    await nc.send('rename|bert');
    await nc.expectLine(en.renamed('bert'));
    await nc.send('register|bert-pass-1');
    await nc.expectLine(en.registered('bert'));
    const opened = await openPage(t, (await chat.web()).port);
    const { page } = opened;
    const guesses = Array.from({ length: 6 }, (_, i) => `guess-number-${i}`);
    for (const [i, guess] of guesses.entries()) {
      await say(page, '/login bert');
      await page.fill('#login-password', guess);
      await page.click('#login-button');
      const expected = i < 5 ? en.loginFailed : en.tooManyAttempts(15);
      await page.locator('#account-reply[data-state="error"]', { hasText: expected }).waitFor();
      t.is(await count(page, expected), i < 5 ? i + 1 : 1);
    }
    t.is(await entry(page, en.tooManyAttempts(15)).getAttribute('class'), 'entry notice alert');
    await shot(page, 'web-accounts-too-many.png');
    await noTrace(t, opened, guesses);
  });

  test.serial(
    'remember me: after a server restart (same data) and after a reload the page logs in by itself, login first; kept messages show; logout forgets',
    async (t) => {
      const en = texts.en;
      const dir = dataDir(t);
      const first = await startChat(t, dir);
      const opened = await openPage(t, (await first.web()).port);
      const { page, sent } = opened;
      const password = 'remy-pass-1';
      await rename(page, 'remy');
      await entry(page, en.renamed('remy')).waitFor();
      await register(page, password, true);
      await entry(page, en.registered('remy')).waitFor();
      t.is(await page.locator('#account-state').textContent(), 'Logged in as remy (remembered on this tab)');
      t.deepEqual(JSON.parse((await sessionValue(page, REMEMBER_KEY)) ?? 'null'), { name: 'remy', password });
      await noTrace(t, opened, [password], [password]);

      // The server goes; it comes back on the same ports with the same file, TCP first: a
      // message for remy is kept while the page cannot reach the server yet.
      const ports = { tcp: first.tcpPort, http: (await first.web()).port };
      await first.stop();
      await page.locator('#status[data-state="retrying"]').waitFor();
      const second = await startChat(t, dir, {}, ports, false);
      const tess = await tcpUser(t, ports.tcp);
      await tess.send('rename|tess');
      await tess.expectLine(en.renamed('tess'));
      const keptFrom = Date.now();
      await tess.send('to|remy|kept for you');
      await tess.expectLine(en.offlineKept('remy'));
      const keptUntil = Date.now();
      await tick(keptUntil);
      await second.web();
      await entry(page, en.loggedIn('remy'), '.notice').waitFor();
      await entry(page, 'Reconnected').waitFor();
      t.is(await selfName(page), 'remy');
      // On the new socket: tags, then the login, before anything else of the page's.
      const frames = sent[sent.length - 1];
      t.is(frames[0], 'cap|tags');
      t.is(frames[1], `login|remy|${password}`);
      t.regex(frames[2], /^since\|/);
      // The kept message: a private message from tess, with the time it was sent.
      const kept = entry(page, 'kept for you', '.private');
      t.is(await kept.locator('.from').textContent(), 'tess');
      t.is(await kept.locator('.badge').textContent(), 'private');
      const time = Date.parse((await kept.locator('time').getAttribute('datetime')) ?? '');
      t.true(
        time >= keptFrom - 1 && time <= keptUntil,
        `kept at ${new Date(time).toISOString()}, sent between ${new Date(keptFrom).toISOString()} and ${new Date(keptUntil).toISOString()}`,
      );
      t.deepEqual(await online(tess, 'en'), [`remy:${en.listed}`, `tess:${en.listed}`]);

      // A reload in the same tab: logged in again by itself.
      await page.reload();
      await up(page);
      await entry(page, en.loggedIn('remy'), '.notice').waitFor();
      t.is(await selfName(page), 'remy');
      t.is(sent[sent.length - 1][1], `login|remy|${password}`);

      // Log out: forgotten.
      await page.click('#logout-button');
      await page.locator('#account-state', { hasText: 'Not logged in' }).waitFor();
      t.is(await sessionValue(page, REMEMBER_KEY), null);
      await noTrace(t, opened, [password]);
    },
  );

  test.serial('remember me: a failed automatic login forgets the password and asks for it; "forget" forgets too', async (t) => {
    const en = texts.en;
    const dir = dataDir(t);
    const first = await startChat(t, dir);
    const opened = await openPage(t, (await first.web()).port);
    const { page } = opened;
    await rename(page, 'rita');
    await entry(page, en.renamed('rita')).waitFor();
    await register(page, 'rita-pass-1', true);
    await entry(page, en.registered('rita')).waitFor();
    t.not(await sessionValue(page, REMEMBER_KEY), null);

    // While the page is away, the password changes (from a TCP client).
    const ports = { tcp: first.tcpPort, http: (await first.web()).port };
    await first.stop();
    await page.locator('#status[data-state="retrying"]').waitFor();
    const second = await startChat(t, dir, {}, ports, false);
    const nc = await tcpUser(t, ports.tcp);
    await nc.send('login|rita|rita-pass-1');
    await nc.expectLine(en.loggedIn('rita'));
    await nc.send('passwd|rita-pass-1|rita-pass-2');
    await nc.expectLine(en.passwordChanged);
    await nc.send('logout');
    await nc.expectLine(en.loggedOut(nc.addr));
    await second.web();
    await entry(page, en.loginFailed, '.alert').waitFor();
    await entry(page, 'Logging in again by itself failed', '.alert').waitFor();
    t.is(await sessionValue(page, REMEMBER_KEY), null);
    t.is(await page.inputValue('#login-name'), 'rita');
    t.not(await selfName(page), 'rita');

    // "Forget me on this tab" while logged in: no automatic login at the next reconnect.
    await login(page, 'rita', 'rita-pass-2', true);
    await entry(page, en.loggedIn('rita')).waitFor();
    t.not(await sessionValue(page, REMEMBER_KEY), null);
    await page.click('#forget-button');
    t.is(await sessionValue(page, REMEMBER_KEY), null);
    t.is(await page.locator('#account-state').textContent(), 'Logged in as rita');
    await page.reload();
    await up(page);
    await entry(page, 'You were logged in as rita on this tab', '.alert').waitFor();
    t.not(await selfName(page), 'rita');
    await noTrace(t, opened, ['rita-pass-1', 'rita-pass-2']);
  });

  test.serial('without remember me, the page does not log in by itself after a restart: it says so and fills the name in', async (t) => {
    const en = texts.en;
    const dir = dataDir(t);
    const first = await startChat(t, dir);
    const opened = await openPage(t, (await first.web()).port);
    const { page, sent } = opened;
    await rename(page, 'nora');
    await entry(page, en.renamed('nora')).waitFor();
    await register(page, 'nora-pass-1');
    await entry(page, en.registered('nora')).waitFor();
    const ports = { tcp: first.tcpPort, http: (await first.web()).port };
    await first.stop();
    await page.locator('#status[data-state="retrying"]').waitFor();
    const second = await startChat(t, dir, {}, ports);
    await entry(page, 'Reconnected').waitFor();
    await entry(page, 'You were logged in as nora on this tab', '.alert').waitFor();
    await up(page);
    const addr = await selfName(page);
    t.regex(addr, /^127\.0\.0\.1:\d+$/);
    t.not(addr, 'nora');
    t.is(await page.inputValue('#login-name'), 'nora');
    t.is(await count(page, en.loggedIn('nora')), 0);
    // Nothing of the account was sent: no login, and no rename to a name that needs one.
    t.false(sent[sent.length - 1].some((f) => f.startsWith('login|') || f.startsWith('rename|')));
    const nc = await tcpUser(t, second.tcpPort);
    t.deepEqual(await online(nc, 'en'), [`${addr}:${en.listed}`, `${nc.addr}:${en.listed}`].sort());
    await noTrace(t, opened, ['nora-pass-1']);
  });

  test.serial('zh: a message sent to the registered name while its owner is away shows after the login, as a private message with its time', async (t) => {
    const zh = texts.zh;
    const lang: Lang = 'zh';
    const chat = await startChat(t, dataDir(t), { lang });
    const port = (await chat.web()).port;
    const a = await openPage(t, port);
    await rename(a.page, 'olga');
    await entry(a.page, zh.renamed('olga')).waitFor();
    await register(a.page, 'olga-pass-1');
    await entry(a.page, zh.registered('olga')).waitFor();
    t.is(await a.page.locator('#account-state').textContent(), '已登录为 olga');
    await a.page.close(); // A is away

    const tess = await tcpUser(t, chat.tcpPort);
    // Wait for A's leave: until then olga is online and the message would go straight to her
    // (and her leave line could come between tess's command and its answer).
    for (let i = 0; i < 50; i++) {
      if (!(await online(tess, lang)).includes(`olga:${zh.listed}`)) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await tess.send('rename|tess');
    await awaitLine(tess, zh.renamed('tess'));
    const sentFrom = Date.now();
    await tess.send('to|olga|你不在时说的话 : 1');
    await tess.expectLine(zh.offlineKept('olga'));
    const sentUntil = Date.now();
    await tick(sentUntil);

    const b = await openPage(t, port);
    await say(b.page, '/login olga');
    await b.page.fill('#login-password', 'olga-pass-1');
    await b.page.click('#login-button');
    await entry(b.page, zh.loggedIn('olga'), '.notice').waitFor();
    const kept = entry(b.page, '你不在时说的话 : 1', '.private');
    t.is(await kept.locator('.from').textContent(), 'tess');
    t.is(await kept.locator('.badge').textContent(), '私聊');
    const time = Date.parse((await kept.locator('time').getAttribute('datetime')) ?? '');
    t.true(time >= sentFrom - 1 && time <= sentUntil, `kept at ${new Date(time).toISOString()}`);
    // Shown once, after the login's reply.
    const shown = await b.page.evaluate<string[]>(`[...document.querySelectorAll('#log .entry .text')].map((el) => el.textContent)`);
    t.is(shown.filter((s) => s === '你不在时说的话 : 1').length, 1);
    t.true(shown.indexOf(zh.loggedIn('olga')) < shown.indexOf('你不在时说的话 : 1'));
    // A reply from olga reaches tess as a private message.
    await kept.locator('.from').click();
    await say(b.page, '收到');
    await awaitLine(tess, 'olga : 收到');
    await shot(b.page, 'web-accounts-offline.png');
    await noTrace(t, b, ['olga-pass-1']);
  });

  test.serial('from another machine over plain HTTP, the page shows the refusal that names the TLS port', async (t) => {
    const en = texts.en;
    const files = certFiles(t);
    const loaded = TlsCertificate.load(files.certFile, files.keyFile);
    if (!loaded.ok) return t.fail(loaded.error);
    // The browser is "elsewhere": a trusted proxy (loopback) says the client is 203.0.113.9.
    const chat = await startChat(t, dataDir(t), { trustProxy: new TrustedProxies(['127.0.0.1/32']) });
    const { port: tlsPort } = await chat.chat.listenTls({ certificate: loaded.value, port: 0 });
    const opened = await openPage(t, (await chat.web()).port, { 'X-Forwarded-For': '203.0.113.9' });
    const { page } = opened;
    t.regex(await selfName(page), /^203\.0\.113\.9:\d+$/);
    await rename(page, 'far');
    await entry(page, en.renamed('far')).waitFor();
    await register(page, 'far-pass-1');
    const refusal = entry(page, en.authNeedsTls(tlsPort), '.alert');
    await refusal.waitFor();
    t.true(((await refusal.textContent()) ?? '').includes(String(tlsPort)));
    t.is(await page.locator('#account-reply').textContent(), en.authNeedsTls(tlsPort));
    t.is(await page.locator('#account-state').textContent(), 'Not logged in');
    await say(page, '/login far');
    await page.fill('#login-password', 'far-pass-1');
    await page.click('#login-button');
    await page.locator('#account-reply[data-state="error"]').waitFor();
    t.is(await count(page, en.authNeedsTls(tlsPort)), 2);
    await shot(page, 'web-accounts-plaintext.png');
    await noTrace(t, opened, ['far-pass-1']);
  });
}
