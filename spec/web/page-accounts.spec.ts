/**
 * The page's reading of the accounts' replies (web/accounts.js) against lines rendered by the
 * server's own texts, in zh and en: every reply is read with its code and the names, addresses
 * and numbers in it; no other server line is taken for one; the raw commands it routes are
 * the ones lib/protocol.ts reads as account commands.
 */
import test from 'ava';
import fc from 'fast-check';
import { PASSWORD_MAX_BYTES, PASSWORD_MIN_BYTES } from '../../lib/auth/passwords';
import { parseCommand, renderEvent } from '../../lib/protocol';
import { Texts, en, zh } from '../../lib/texts';
import { pageConfig } from '../../lib/web/site';

interface Reading {
  code: string;
  name?: string;
  addr?: string;
  minutes?: number;
  port?: number;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the page's plain script (UMD, no types), loaded as node loads it
const page = require('../../web/accounts.js') as {
  read(line: string, texts: unknown): Reading | null;
  answers(kind: string, code: string): boolean;
  failed(code: string): boolean;
  rawKind(line: string): string | null;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports -- the page's plain script, as above
const protocol = require('../../web/protocol.js') as {
  readLine(line: string, texts: unknown, names: Map<string, string> | undefined, awaitingWho: boolean): { kind: string; code?: string };
};

// Names as users pick them: colons, CJK, digits, look-alikes of the texts' own words.
const NAMES = ['alice', 'a:b', '张三', 'x1', '用户名', 'is', 'Logged', '已被注册', 'login'];
const ADDRS = ['127.0.0.1:5000', '[::1]:6000', '203.0.113.9:65535'];

for (const t of [zh, en] as Texts[]) {
  const config = pageConfig(t, 4096) as { texts: { accounts: unknown } };
  const texts = config.texts.accounts;
  const read = (line: string) => page.read(line, texts);

  test(`${t.lang}: every reply that names someone is read with the name or address in it`, (t2) => {
    for (const name of NAMES) {
      t2.deepEqual(read(t.registered(name)), { code: 'registered', name });
      t2.deepEqual(read(t.loggedIn(name)), { code: 'loggedIn', name });
      t2.deepEqual(read(t.alreadyRegistered(name)), { code: 'alreadyRegistered', name });
      t2.deepEqual(read(t.nameRegistered(name)), { code: 'nameRegistered', name });
      t2.deepEqual(read(t.renameWhileLoggedIn(name)), { code: 'renameWhileLoggedIn', name });
      t2.deepEqual(read(t.offlineKept(name)), { code: 'offlineKept', name });
      for (const addr of ADDRS) t2.deepEqual(read(t.nameReclaimed(name, addr)), { code: 'nameReclaimed', name, addr });
    }
    for (const addr of ADDRS) {
      t2.deepEqual(read(t.loggedOut(addr)), { code: 'loggedOut', addr });
      t2.deepEqual(read(t.loggedInElsewhere(addr)), { code: 'loggedInElsewhere', addr });
    }
  });

  test(`${t.lang}: too many attempts (any minutes) and the plaintext refusal (any TLS port, or none)`, (t2) => {
    for (const minutes of [1, 2, 9, 15, 60]) t2.deepEqual(read(t.tooManyAttempts(minutes)), { code: 'tooManyAttempts', minutes });
    for (const port of [1, 443, 8889, 65535]) t2.deepEqual(read(t.authNeedsTls(port)), { code: 'authNeedsTls', port });
    t2.deepEqual(read(t.authNeedsTls(undefined)), { code: 'authNeedsTls' });
  });

  test(`${t.lang}: the fixed replies`, (t2) => {
    const fixed: [string, string][] = [
      [t.registerNeedsName, 'registerNeedsName'],
      [t.passwordInvalid(PASSWORD_MIN_BYTES, PASSWORD_MAX_BYTES), 'passwordInvalid'],
      [t.loginFailed, 'loginFailed'],
      [t.notLoggedIn, 'notLoggedIn'],
      [t.passwordChanged, 'passwordChanged'],
      [t.wrongPassword, 'wrongPassword'],
      [t.accountsUnavailable, 'accountsUnavailable'],
      [t.accountsOff, 'accountsOff'],
      [t.accountUsage('register'), 'usageRegister'],
      [t.accountUsage('login'), 'usageLogin'],
      [t.accountUsage('passwd'), 'usagePasswd'],
    ];
    for (const [line, code] of fixed) t2.deepEqual(read(line), { code }, line);
  });

  test(`${t.lang}: the page reaches the accounts' reading: protocol.js reads every reply as a notice it does not know`, (t2) => {
    const replies = [
      ...NAMES.flatMap((n) => [t.registered(n), t.loggedIn(n), t.alreadyRegistered(n), t.nameRegistered(n), t.offlineKept(n)]),
      t.loggedOut(ADDRS[0]),
      t.loggedInElsewhere(ADDRS[1]),
      t.nameReclaimed('bob', ADDRS[2]),
      t.tooManyAttempts(15),
      t.authNeedsTls(8889),
      t.loginFailed,
      t.wrongPassword,
    ];
    for (const line of replies)
      t2.deepEqual(protocol.readLine(line, pageConfig(t, 4096).texts, new Map(), false), { kind: 'notice', code: 'other', text: line }, line);
  });

  test(`${t.lang}: no other line of the server is taken for an account reply`, (t2) => {
    const others = [
      t.renamed('alice'),
      t.nameTaken,
      t.noSuchUser('alice'),
      t.privateFormat,
      t.kicked,
      t.shutdown,
      t.lineTooLong(4096),
      t.rateLimited(20),
      t.floodKick,
      t.serverFull,
      t.tooManyFromAddress,
      t.clusterDegraded,
      t.clusterRestored,
      t.nameLost('alice', ADDRS[0]),
      t.historyUsage(500),
      t.historyLost,
      t.nameInvalid('bar', 32),
      renderEvent({ kind: 'private', from: 'alice', text: t.loginFailed }, t),
      renderEvent({ kind: 'say', addr: ADDRS[0], name: 'alice', text: t.loggedIn('alice') }, t),
      `${t.loggedIn('alice')} and more`,
      `> ${t.passwordChanged}`,
      t.loggedIn(''),
      t.tooManyAttempts(15).replace('15', 'x'),
    ];
    for (const line of others) t2.is(read(line), null, line);
  });
}

test('which request each reply answers, and which replies are refusals', (t) => {
  t.true(page.answers('login', 'loggedIn'));
  t.true(page.answers('login', 'loginFailed'));
  t.true(page.answers('login', 'tooManyAttempts'));
  t.true(page.answers('login', 'nameTaken'));
  t.true(page.answers('register', 'registered'));
  t.true(page.answers('register', 'authNeedsTls'));
  t.true(page.answers('passwd', 'wrongPassword'));
  t.true(page.answers('passwd', 'notLoggedIn'));
  t.true(page.answers('logout', 'loggedOut'));
  // Replies to something else never settle a request: a login waits past them.
  t.false(page.answers('login', 'offlineKept'));
  t.false(page.answers('login', 'loggedInElsewhere'));
  t.false(page.answers('register', 'nameTaken'));
  t.false(page.answers('logout', 'loginFailed'));
  t.false(page.answers('rename', 'nameRegistered'));
  for (const code of ['registered', 'loggedIn', 'loggedOut', 'passwordChanged', 'offlineKept']) t.false(page.failed(code), code);
  for (const code of ['loginFailed', 'tooManyAttempts', 'authNeedsTls', 'wrongPassword', 'nameTaken', 'loggedInElsewhere']) t.true(page.failed(code), code);
});

test('a raw line typed in the message box is routed as an account command exactly when the server reads it as one', (t) => {
  const piece = fc.constantFrom('register', 'login', 'passwd', 'logout', 'LOGIN', '|', '||', ' ', 'alice', 'pw-12345', 'to|bob|', 'rename|');
  const line = fc.oneof(
    fc.array(piece, { maxLength: 5 }).map((parts) => parts.join('')),
    fc.string(),
  );
  fc.assert(
    fc.property(line, (l) => {
      const command = parseCommand(l);
      const server =
        command.kind === 'invalid' && command.reason === 'accountFormat'
          ? command.command
          : ['register', 'login', 'passwd', 'logout'].includes(command.kind)
            ? command.kind
            : null;
      t.is(page.rawKind(l), server, l);
    }),
    { numRuns: 3000 },
  );
});
