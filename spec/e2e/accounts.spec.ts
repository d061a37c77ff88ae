/**
 * Accounts on the wire (issue 14), end to end over real TCP sockets on 127.0.0.1, in zh and
 * en: register, login, a registered name refused to others, passwd, logout, offline messages,
 * the brute-force limit, and no password over a plain connection from another machine (the
 * client's address comes from a PROXY header, as behind a load balancer). The scrypt cost is
 * made cheap here (logN 10); spec/auth/passwords.spec.ts checks the real one.
 */
import test, { ExecutionContext } from 'ava';
import { MemoryAccounts } from '../../lib/auth/accounts';
import { answerOf } from '../../lib/hub';
import { nameKey } from '../../lib/protocol';
import { ChatServer, ServerOptions } from '../../lib/server';
import { TlsCertificate } from '../../lib/tcp/tls';
import { Lang, texts } from '../../lib/texts';
import { TrustedProxies } from '../../lib/trust';
import { certFiles } from '../helpers/certs';
import { startServer, userLine } from '../helpers/server';
import { TcpClient, connect } from '../helpers/tcp';
import { connectTls } from '../tcp/connect-tls';

const CHEAP = { logN: 10, r: 8, p: 1 };

async function accountsServer(t: ExecutionContext, lang: Lang, options: ServerOptions = {}) {
  return startServer(t, { lang, rateLimit: 0, accounts: { kdf: CHEAP }, ...options });
}

/** A connected client whose own join line has been read. */
async function join(t: ExecutionContext, port: number, lang: Lang): Promise<TcpClient> {
  const c = await connect(port);
  t.teardown(() => c.destroy());
  await c.expectLine(userLine(c.addr, c.addr, texts[lang].online));
  return c;
}

/** Sends a line and returns the next line. */
async function ask(c: TcpClient, line: string): Promise<string> {
  await c.send(line);
  return c.nextLine();
}

/** Names itself and registers that name. */
async function registered(c: TcpClient, lang: Lang, name: string, password: string): Promise<void> {
  const t$ = texts[lang];
  await c.send(`rename|${name}`);
  await c.expectLine(t$.renamed(name));
  await c.send(`register|${password}`);
  await c.expectLine(t$.registered(name));
}

for (const lang of ['zh', 'en'] as Lang[]) {
  const t$ = texts[lang];

  test(`${lang}: register| takes the current name, not an address; bad passwords and a second registration are refused`, async (t) => {
    const { port } = await accountsServer(t, lang);
    const a = await join(t, port, lang);
    t.is(await ask(a, 'register|longenough'), t$.registerNeedsName);
    await a.send('rename|alice');
    await a.expectLine(t$.renamed('alice'));
    t.is(await ask(a, 'register|'), t$.accountUsage('register'));
    t.is(await ask(a, 'register|1234567'), t$.passwordInvalid(8, 128));
    t.is(await ask(a, `register|${'x'.repeat(129)}`), t$.passwordInvalid(8, 128));
    t.is(await ask(a, 'register|has|a-bar-in-it'), t$.passwordInvalid(8, 128));
    // 8 bytes in 3 characters is enough: the limit counts UTF-8 bytes.
    t.is(await ask(a, 'register|密码x2'), t$.registered('alice'));
    t.is(await ask(a, 'register|another-one'), t$.alreadyRegistered('alice'));
    t.deepEqual(await a.who(), [userLine(a.addr, 'alice', t$.listed)]);
  });

  test(`${lang}: rename| to a registered name (any spelling of it) is refused with its own notice; a free name still works`, async (t) => {
    const { port } = await accountsServer(t, lang);
    const a = await join(t, port, lang);
    await registered(a, lang, 'alice', 'alice-pass-1');
    await a.send('logout');
    await a.expectLine(t$.loggedOut(a.addr));
    const b = await join(t, port, lang);
    await a.expectLine(userLine(b.addr, b.addr, t$.online));
    for (const name of ['alice', 'ALICE', 'a1ice']) {
      const reply = await ask(b, `rename|${name}`);
      t.is(reply, t$.nameRegistered(name));
      t.not(reply, t$.nameTaken);
    }
    t.is(await ask(b, 'rename|bob'), t$.renamed('bob'));
    // A name held (not registered) is still "taken", as before.
    t.is(await ask(a, 'rename|bob'), t$.nameTaken);
  });

  test(`${lang}: login| takes the name; wrong name and wrong password get the same reply; rename while logged in is refused`, async (t) => {
    const { port } = await accountsServer(t, lang);
    const a = await join(t, port, lang);
    await registered(a, lang, 'alice', 'alice-pass-1');
    await a.send('logout');
    await a.expectLine(t$.loggedOut(a.addr));
    const b = await join(t, port, lang);
    await a.expectLine(userLine(b.addr, b.addr, t$.online));
    const wrongPassword = await ask(b, 'login|alice|alice-pass-2');
    const wrongName = await ask(b, 'login|alicia|alice-pass-1');
    t.is(wrongPassword, t$.loginFailed);
    t.is(wrongName, wrongPassword);
    t.is(await ask(b, 'login|alice'), t$.accountUsage('login'));
    t.is(await ask(b, 'login||alice-pass-1'), t$.accountUsage('login'));
    t.is(await ask(b, 'login|Alice|alice-pass-1'), t$.loggedIn('alice'));
    t.deepEqual((await b.who()).sort(), [userLine(a.addr, a.addr, t$.listed), userLine(b.addr, 'alice', t$.listed)].sort());
    t.is(await ask(b, 'rename|bob'), t$.renameWhileLoggedIn('alice'));
    // Messages go out under the account's name.
    await b.send('hi all');
    t.is(await a.nextLine(), userLine(b.addr, 'alice', 'hi all'));
  });

  test(`${lang}: a login takes its name from a connection that holds it without being logged in, which gets its address back`, async (t) => {
    const { server, port } = await accountsServer(t, lang);
    const holder = await join(t, port, lang);
    await holder.send('rename|dave');
    await holder.expectLine(t$.renamed('dave'));
    // The account is made elsewhere meanwhile (another node, an operator's tool): the store says so.
    const auth = server.auth;
    if (!auth) return t.fail('accounts are on by default');
    t.true(await answerOf(auth.store.create({ key: nameKey('dave'), name: 'dave', hash: await auth.passwords.hash('dave-pass-1') })));
    const owner = await join(t, port, lang);
    await holder.expectLine(userLine(owner.addr, owner.addr, t$.online));
    t.is(await ask(owner, 'login|dave|dave-pass-1'), t$.loggedIn('dave'));
    t.is(await holder.nextLine(), t$.nameReclaimed('dave', holder.addr));
    t.deepEqual((await holder.who()).sort(), [userLine(holder.addr, holder.addr, t$.listed), userLine(owner.addr, 'dave', t$.listed)].sort());
  });

  test(`${lang}: a second login for the same account replaces the first, which is logged out and gets its address back`, async (t) => {
    const { port } = await accountsServer(t, lang);
    const first = await join(t, port, lang);
    await registered(first, lang, 'alice', 'alice-pass-1');
    const second = await join(t, port, lang);
    await first.expectLine(userLine(second.addr, second.addr, t$.online));
    t.is(await ask(second, 'login|alice|alice-pass-1'), t$.loggedIn('alice'));
    t.is(await first.nextLine(), t$.loggedInElsewhere(first.addr));
    t.is(await ask(first, 'passwd|alice-pass-1|alice-pass-2'), t$.notLoggedIn);
    t.is(await ask(first, 'rename|alice'), t$.nameRegistered('alice'));
    t.deepEqual((await first.who()).sort(), [userLine(first.addr, first.addr, t$.listed), userLine(second.addr, 'alice', t$.listed)].sort());
  });

  test(`${lang}: passwd|OLD|NEW changes the password of the account logged in; a wrong OLD or a bad NEW is refused`, async (t) => {
    const { port } = await accountsServer(t, lang);
    const a = await join(t, port, lang);
    t.is(await ask(a, 'passwd|whatever1|whatever2'), t$.notLoggedIn);
    await registered(a, lang, 'alice', 'alice-pass-1');
    t.is(await ask(a, 'passwd|alice-pass-1'), t$.accountUsage('passwd'));
    t.is(await ask(a, 'passwd|wrong-pass-1|alice-pass-2'), t$.wrongPassword);
    t.is(await ask(a, 'passwd|alice-pass-1|short'), t$.passwordInvalid(8, 128));
    t.is(await ask(a, 'passwd|alice-pass-1|new|with-bar'), t$.passwordInvalid(8, 128));
    t.is(await ask(a, 'passwd|alice-pass-1|alice-pass-2'), t$.passwordChanged);
    const b = await join(t, port, lang);
    await a.expectLine(userLine(b.addr, b.addr, t$.online));
    t.is(await ask(b, 'login|alice|alice-pass-1'), t$.loginFailed);
    t.is(await ask(b, 'login|alice|alice-pass-2'), t$.loggedIn('alice'));
  });

  test(`${lang}: logout gives the address back and keeps the name reserved; logout when not logged in says so`, async (t) => {
    const { port } = await accountsServer(t, lang);
    const a = await join(t, port, lang);
    t.is(await ask(a, 'logout'), t$.notLoggedIn);
    await registered(a, lang, 'alice', 'alice-pass-1');
    t.is(await ask(a, 'logout'), t$.loggedOut(a.addr));
    t.deepEqual(await a.who(), [userLine(a.addr, a.addr, t$.listed)]);
    t.is(await ask(a, 'rename|alice'), t$.nameRegistered('alice'));
    t.is(await ask(a, 'login|alice|alice-pass-1'), t$.loggedIn('alice'));
  });

  test(`${lang}: to| a registered name offline is kept (the sender is told) and delivered oldest first after the next login`, async (t) => {
    const { port } = await accountsServer(t, lang);
    const a = await join(t, port, lang);
    await registered(a, lang, 'alice', 'alice-pass-1');
    await a.send('logout');
    await a.expectLine(t$.loggedOut(a.addr));
    const b = await join(t, port, lang);
    await a.expectLine(userLine(b.addr, b.addr, t$.online));
    t.is(await ask(b, 'to|alice|first'), t$.offlineKept('alice'));
    t.is(await ask(b, 'to|ALICE|second | with a bar'), t$.offlineKept('ALICE'));
    t.is(await ask(b, 'to|nobody|x'), t$.noSuchUser('nobody'));
    t.is(await ask(a, 'login|alice|alice-pass-1'), t$.loggedIn('alice'));
    t.deepEqual(await a.nextLines(2), [`${b.addr} : first`, `${b.addr} : second | with a bar`]);
    // Delivered once: online now, the next one arrives at once.
    await b.send('to|alice|live');
    t.is(await a.nextLine(), `${b.addr} : live`);
    await a.send('logout');
    await a.expectLine(t$.loggedOut(a.addr));
    t.is(await ask(a, 'login|alice|alice-pass-1'), t$.loggedIn('alice'));
    t.deepEqual(await a.sync(), []);
  });

  test(`${lang}: at most 100 messages are kept per account, the oldest dropped`, async (t) => {
    const { port } = await accountsServer(t, lang);
    const a = await join(t, port, lang);
    await registered(a, lang, 'alice', 'alice-pass-1');
    await a.send('logout');
    await a.expectLine(t$.loggedOut(a.addr));
    const b = await join(t, port, lang);
    await a.expectLine(userLine(b.addr, b.addr, t$.online));
    await b.write(Array.from({ length: 102 }, (_, i) => `to|alice|m${i + 1}\n`).join(''));
    for (let i = 0; i < 102; i++) await b.expectLine(t$.offlineKept('alice'));
    t.is(await ask(a, 'login|alice|alice-pass-1'), t$.loggedIn('alice'));
    t.deepEqual(
      await a.nextLines(100),
      Array.from({ length: 100 }, (_, i) => `${b.addr} : m${i + 3}`),
    );
    t.deepEqual(await a.sync(), []);
  });

  test(`${lang}: a cap|tags client gets its kept messages tagged with their original id and time`, async (t) => {
    const { port } = await accountsServer(t, lang);
    const a = await join(t, port, lang);
    await registered(a, lang, 'alice', 'alice-pass-1');
    await a.send('logout');
    await a.expectLine(t$.loggedOut(a.addr));
    const b = await join(t, port, lang);
    await a.expectLine(userLine(b.addr, b.addr, t$.online));
    await b.send('cap|tags');
    await b.expectLine('cap|ack|tags');
    await b.send('before');
    const before = /^@id=(\d+-\d+);time=(\S+) /.exec(await b.nextLine());
    await a.nextLine();
    const sentAt = Date.now();
    t.is(await ask(b, 'to|alice|kept for later'), t$.offlineKept('alice'));
    await b.send('after');
    const after = /^@id=(\d+-\d+);time=(\S+) /.exec(await b.nextLine());
    await a.nextLine();
    await a.send('cap|tags');
    await a.expectLine('cap|ack|tags');
    t.is(await ask(a, 'login|alice|alice-pass-1'), t$.loggedIn('alice'));
    const kept = /^@id=(\d+)-(\d+);time=(\S+) (.*)$/.exec(await a.nextLine());
    if (!kept || !before || !after) return t.fail('expected tagged lines');
    t.is(kept[4], `${b.addr} : kept for later`);
    // Its id lies between the lines said just before and just after it: the time it was sent.
    const id = `${kept[1]}-${kept[2]}`;
    const order = (x: string) => x.split('-').map(Number);
    const [ms, seq] = order(id);
    const [bms, bseq] = order(before[1]);
    const [ams, aseq] = order(after[1]);
    t.true(ms > bms || (ms === bms && seq > bseq), `${id} after ${before[1]}`);
    t.true(ms < ams || (ms === ams && seq < aseq), `${id} before ${after[1]}`);
    t.true(Math.abs(Date.parse(kept[3]) - sentAt) < 5000);
  });

  test(`${lang}: after 5 failed logins for an account, or from an address, the next attempts are refused (logged without the password)`, async (t) => {
    const { port, logs } = await accountsServer(t, lang);
    const a = await join(t, port, lang);
    await registered(a, lang, 'alice', 'alice-pass-1');
    await a.send('logout');
    await a.expectLine(t$.loggedOut(a.addr));
    const guesses = ['guess-one-1', 'guess-two-2', 'guess-three', 'guess-four4', 'guess-five5'];
    for (const guess of guesses) t.is(await ask(a, `login|alice|${guess}`), t$.loginFailed);
    // Even the right password: the account is locked for the window (15 minutes from the first).
    t.is(await ask(a, 'login|alice|alice-pass-1'), t$.tooManyAttempts(15));
    // Another address can still try other accounts but not this one; this address nothing.
    const b = await join(t, port, lang);
    await a.expectLine(userLine(b.addr, b.addr, t$.online));
    t.is(await ask(b, 'login|alice|alice-pass-1'), t$.tooManyAttempts(15));
    t.is(await ask(b, 'login|carol|carol-pass-1'), t$.tooManyAttempts(15), 'both connections are 127.0.0.1: the address is over its limit too');
    const failed = logs.filter((l) => l.startsWith('login failed: alice from '));
    t.is(failed.length, 5, logs.join('\n'));
    t.true(logs.some((l) => l.startsWith('login refused (too many attempts): alice from ')));
    for (const secret of [...guesses, 'alice-pass-1'])
      t.false(
        logs.some((l) => l.includes(secret)),
        secret,
      );
  });

  test(`${lang}: passwords are refused over a plain connection from another machine, with the TLS port named; logout is not`, async (t) => {
    const files = certFiles(t);
    const loaded = TlsCertificate.load(files.certFile, files.keyFile);
    if (!loaded.ok) return t.fail(loaded.error);
    const { server, port } = await accountsServer(t, lang, { proxyProtocol: true, trustProxy: new TrustedProxies(['127.0.0.1/32']) });
    const { port: tlsPort } = await server.listenTls({ certificate: loaded.value, port: 0 });
    const far = await connect(port);
    t.teardown(() => far.destroy());
    await far.write('PROXY TCP4 203.0.113.9 192.0.2.1 40000 8888\r\n');
    await far.expectLine(userLine('203.0.113.9:40000', '203.0.113.9:40000', t$.online));
    await far.send('rename|erin');
    await far.expectLine(t$.renamed('erin'));
    for (const line of ['register|erin-pass-1', 'login|erin|erin-pass-1', 'passwd|erin-pass-1|erin-pass-2'])
      t.is(await ask(far, line), t$.authNeedsTls(tlsPort), line);
    t.true(t$.authNeedsTls(tlsPort).includes(String(tlsPort)));
    t.is(await ask(far, 'logout'), t$.notLoggedIn);
    // Over TLS the same commands go through.
    const secure = await connectTls(tlsPort, { ca: files.minted.cert });
    t.teardown(() => secure.destroy());
    await secure.nextLine();
    await secure.send('rename|frank');
    await secure.expectLine(t$.renamed('frank'));
    t.is(await ask(secure, 'register|frank-pass-1'), t$.registered('frank'));
  });

  test(`${lang}: without TLS the refusal says there is none; --allow-plaintext-auth lifts the rule`, async (t) => {
    const trustProxy = new TrustedProxies(['127.0.0.1/32']);
    const strict = await accountsServer(t, lang, { proxyProtocol: true, trustProxy });
    const lax = await accountsServer(t, lang, { proxyProtocol: true, trustProxy, accounts: { kdf: CHEAP, allowPlaintext: true } });
    for (const [{ port }, expected] of [
      [strict, t$.authNeedsTls(undefined)],
      [lax, t$.registered('grace')],
    ] as const) {
      const far = await connect(port);
      t.teardown(() => far.destroy());
      await far.write('PROXY TCP4 198.51.100.4 192.0.2.1 40001 8888\r\n');
      await far.nextLine();
      await far.send('rename|grace');
      await far.expectLine(t$.renamed('grace'));
      t.is(await ask(far, 'register|grace-pass-1'), expected);
    }
  });

  test(`${lang}: no password and no hash ever appears in a log line or in a line sent to anyone`, async (t) => {
    const store = new MemoryAccounts();
    const { port, logs } = await accountsServer(t, lang, { accounts: { kdf: CHEAP, store } });
    const a = await join(t, port, lang);
    const b = await join(t, port, lang);
    await a.expectLine(userLine(b.addr, b.addr, t$.online));
    const secrets = ['Pa55word-One', 'Pa55word-Two', 'Wrong-Guess-9', 'Sh0rt!'];
    await registered(a, lang, 'alice', secrets[0]);
    await a.send(`login|alice|${secrets[2]}`);
    await a.send(`passwd|${secrets[2]}|${secrets[1]}`);
    await a.send(`passwd|${secrets[0]}|${secrets[3]}`);
    await a.send(`passwd|${secrets[0]}|${secrets[1]}`);
    await a.send('logout');
    await b.send(`login|alice|${secrets[0]}`);
    await b.send(`login|alice|${secrets[1]}`);
    await b.send(`register|${secrets[3]}`);
    await a.sync();
    await b.sync();
    const account = store.find(nameKey('alice'));
    if (!account) return t.fail('alice is registered');
    const [, , , salt, key] = account.hash.split('$');
    const seen = [...logs, ...a.received, ...b.received];
    t.true(seen.length > 10);
    for (const secret of [...secrets, account.hash, salt, key]) {
      t.deepEqual(
        seen.filter((line) => line.includes(secret)),
        [],
        secret,
      );
    }
    // And the account works with the new password: the flow above really ran.
    t.true(b.received.includes(t$.loggedIn('alice')));
  });

  test(`${lang}: a server without accounts says so, and rename| and to| are as before`, async (t) => {
    const { port } = await accountsServer(t, lang, { accounts: false });
    const a = await join(t, port, lang);
    for (const line of ['register|whatever1', 'login|a|whatever1', 'passwd|whatever1|whatever2', 'logout']) t.is(await ask(a, line), t$.accountsOff, line);
    t.is(await ask(a, 'rename|alice'), t$.renamed('alice'));
    t.is(await ask(a, 'to|nobody|x'), t$.noSuchUser('nobody'));
  });
}

test('the accounts survive a restart in the SQLite file, and the offline messages with them', async (t) => {
  const { openSqliteLog } = await import('../../lib/store/sqlite');
  const { SqliteAccounts } = await import('../../lib/auth/sqlite-accounts');
  const { tempDataDir } = await import('../helpers/data-dir');
  const dir = tempDataDir(t);
  const start = async () => {
    const log = openSqliteLog({ dir, maxLines: 1000 });
    const server = new ChatServer({ host: '127.0.0.1', port: 0, lang: 'en', history: log, accounts: { kdf: CHEAP, store: new SqliteAccounts(log.db) } });
    const { port } = await server.listen();
    return { port, stop: async () => (await server.close(100), log.close()) };
  };
  const first = await start();
  const a = await join(t, first.port, 'en');
  await registered(a, 'en', 'alice', 'alice-pass-1');
  const b = await join(t, first.port, 'en');
  await a.expectLine(userLine(b.addr, b.addr, texts.en.online));
  await a.send('logout');
  await a.expectLine(texts.en.loggedOut(a.addr));
  t.is(await ask(b, 'to|alice|across the restart'), texts.en.offlineKept('alice'));
  await first.stop();
  const second = await start();
  t.teardown(second.stop);
  const c = await join(t, second.port, 'en');
  t.is(await ask(c, 'rename|alice'), texts.en.nameRegistered('alice'));
  t.is(await ask(c, 'login|alice|alice-pass-1'), texts.en.loggedIn('alice'));
  t.is(await c.nextLine(), `${b.addr} : across the restart`);
});
