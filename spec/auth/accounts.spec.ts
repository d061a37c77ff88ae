/**
 * The account stores (lib/auth/accounts.ts, sqlite-accounts.ts) against one contract, the
 * SQLite store in the log's own file and connection, and the `Auth` service over them: a store
 * never holds a password, and a failing store becomes "unavailable", never an exception.
 */
import test, { ExecutionContext } from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { firstValueFrom, lastValueFrom } from 'rxjs';
import { answerOf } from '../../lib/hub';
import { nameKey } from '../../lib/protocol';
import { AccountStore, MemoryAccounts, OfflineMessage } from '../../lib/auth/accounts';
import { Auth, UNAVAILABLE, isLoopback, passwordsAllowed } from '../../lib/auth/auth';
import { MemoryLimiter } from '../../lib/auth/limiter';
import { Passwords } from '../../lib/auth/passwords';
import { SqliteAccounts, openSqliteAccounts } from '../../lib/auth/sqlite-accounts';
import { LOG_FILE, openSqliteLog } from '../../lib/store/sqlite';
import { tempDataDir } from '../helpers/data-dir';

const CHEAP = { logN: 10, r: 8, p: 1 };

const stores: [string, (t: ExecutionContext) => AccountStore][] = [
  ['memory', () => new MemoryAccounts()],
  [
    'sqlite (the log connection)',
    (t) => {
      const log = openSqliteLog({ dir: tempDataDir(t), maxLines: 100 });
      t.teardown(() => log.close());
      return new SqliteAccounts(log.db);
    },
  ],
];

const msg = (n: number): OfflineMessage => ({ id: `${1000 + n}-0`, time: 1000 + n, from: 'bob', text: `m${n}` });

for (const [name, make] of stores) {
  test(`${name}: create once per key, find, change the hash`, async (t) => {
    const store = make(t);
    t.is(await answerOf(store.find('alice')), undefined);
    t.true(await answerOf(store.create({ key: 'alice', name: 'Alice', hash: 'h1' })));
    t.false(await answerOf(store.create({ key: 'alice', name: 'alice', hash: 'h2' })));
    t.deepEqual(await answerOf(store.find('alice')), { key: 'alice', name: 'Alice', hash: 'h1' });
    t.true(await answerOf(store.setHash('alice', 'h3')));
    t.false(await answerOf(store.setHash('nobody', 'h3')));
    t.is((await answerOf(store.find('alice')))?.hash, 'h3');
  });

  test(`${name}: offline messages are kept oldest first, at most max (oldest dropped), and taken once`, async (t) => {
    const store = make(t);
    for (let n = 1; n <= 7; n++) await answerOf(store.keep('alice', msg(n), 5));
    await answerOf(store.keep('carol', { time: 5, from: 'dave', text: 'no id' }, 5));
    t.deepEqual(await answerOf(store.take('alice')), [3, 4, 5, 6, 7].map(msg));
    t.deepEqual(await answerOf(store.take('alice')), []);
    t.deepEqual(await answerOf(store.take('carol')), [{ time: 5, from: 'dave', text: 'no id' }]);
  });
}

test('sqlite: accounts live in the log file, survive a reopen, and no password is ever in it', async (t) => {
  const dir = tempDataDir(t);
  const password = 'sekrit-Passw0rd';
  let log = openSqliteLog({ dir, maxLines: 100 });
  const auth = new Auth({ store: new SqliteAccounts(log.db), limiter: new MemoryLimiter(), passwords: new Passwords(CHEAP) });
  t.is(await lastValueFrom(auth.register('alice', password, '127.0.0.1:1')), 'ok');
  t.true(await answerOf(auth.keepOffline('alice', msg(1))));
  log.close();
  const bytes = fs.readFileSync(path.join(dir, LOG_FILE));
  t.false(bytes.includes(Buffer.from(password)));
  log = openSqliteLog({ dir, maxLines: 100 });
  t.teardown(() => log.close());
  const again = new Auth({ store: new SqliteAccounts(log.db), limiter: new MemoryLimiter(), passwords: new Passwords(CHEAP) });
  const result = await lastValueFrom(again.login('ALICE', password, '127.0.0.1', '127.0.0.1:2'));
  t.deepEqual(result, { ok: true, account: { key: nameKey('alice'), name: 'alice' } });
  t.deepEqual(await answerOf(again.takeOffline(nameKey('alice'))), [msg(1)]);
});

test('sqlite: without a log, the accounts open the same file on their own (and close it)', (t) => {
  const dir = tempDataDir(t);
  const store = openSqliteAccounts(dir);
  t.true(store.create({ key: 'bob', name: 'bob', hash: 'h' }));
  store.close();
  // The log opens the same file afterwards and the accounts are there.
  const log = openSqliteLog({ dir, maxLines: 10 });
  t.teardown(() => log.close());
  t.deepEqual(new SqliteAccounts(log.db).find('bob'), { key: 'bob', name: 'bob', hash: 'h' });
  t.throws(() => openSqliteAccounts(path.join(dir, LOG_FILE, 'x')), { message: /^cannot open the accounts in .*x/ });
});

/** A store whose every step throws, as a full disk or a lost Redis would. */
class BrokenStore implements AccountStore {
  find(): never {
    throw new Error('disk I/O error');
  }
  create(): never {
    throw new Error('disk I/O error');
  }
  setHash(): never {
    throw new Error('disk I/O error');
  }
  keep(): never {
    throw new Error('disk I/O error');
  }
  take(): never {
    throw new Error('disk I/O error');
  }
}

test('a failing store answers UNAVAILABLE (and logs it), never throws; it does not count as a failed login', async (t) => {
  const logs: string[] = [];
  const limiter = new MemoryLimiter({ max: 1 });
  const auth = new Auth({ store: new BrokenStore(), limiter, passwords: new Passwords(CHEAP), log: (_l, line) => logs.push(line) });
  t.is(await answerOf(auth.isRegistered('alice')), UNAVAILABLE);
  t.is(await lastValueFrom(auth.register('alice', 'password1', 'a')), UNAVAILABLE);
  t.deepEqual(await lastValueFrom(auth.login('alice', 'password1', '1.2.3.4', 'a')), { ok: false, why: UNAVAILABLE });
  t.deepEqual(await lastValueFrom(auth.login('alice', 'password1', '1.2.3.4', 'a')), { ok: false, why: UNAVAILABLE }, 'not limited: the first did not count');
  t.false(await answerOf(auth.keepOffline('alice', msg(1))));
  t.deepEqual(await answerOf(auth.takeOffline('alice')), []);
  t.true(logs.length >= 5 && logs.every((l) => l.startsWith('accounts: failed ') && l.includes('disk I/O error')), logs.join('\n'));
});

test('login: a wrong name and a wrong password are one answer; both count; the right one is forgiven', async (t) => {
  const limiter = new MemoryLimiter({ max: 3 });
  const auth = new Auth({ store: new MemoryAccounts(), limiter, passwords: new Passwords(CHEAP) });
  await firstValueFrom(auth.register('alice', 'password1', 'a'));
  const wrongPassword = await lastValueFrom(auth.login('alice', 'password2', '1.1.1.1', 'a'));
  const wrongName = await lastValueFrom(auth.login('alicia', 'password1', '1.1.1.1', 'a'));
  t.deepEqual(wrongPassword, { ok: false, why: 'wrong' });
  t.deepEqual(wrongName, wrongPassword);
  const right = await lastValueFrom(auth.login('alice', 'password1', '1.1.1.1', 'a'));
  t.true(right.ok);
  // Two failures from 1.1.1.1, the success forgiven: one more try, then the limit.
  t.deepEqual(await lastValueFrom(auth.login('bob', 'password1', '1.1.1.1', 'a')), { ok: false, why: 'wrong' });
  const limited = await lastValueFrom(auth.login('alice', 'password1', '1.1.1.1', 'a'));
  t.like(limited, { ok: false, why: 'limited' });
});

test('passwd: a wrong old password counts; the new one replaces the old', async (t) => {
  const auth = new Auth({ store: new MemoryAccounts(), limiter: new MemoryLimiter(), passwords: new Passwords(CHEAP) });
  await firstValueFrom(auth.register('alice', 'password1', 'a'));
  const me = { key: nameKey('alice'), name: 'alice' };
  t.is(await lastValueFrom(auth.passwd(me, 'password9', 'password2', '1.1.1.1', 'a')), 'wrong');
  t.is(await lastValueFrom(auth.passwd(me, 'password1', 'password2', '1.1.1.1', 'a')), 'ok');
  t.like(await lastValueFrom(auth.login('alice', 'password1', '1.1.1.1', 'a')), { ok: false, why: 'wrong' });
  t.like(await lastValueFrom(auth.login('alice', 'password2', '1.1.1.1', 'a')), { ok: true });
});

test('a hash of older parameters is replaced by one of the current ones at login', async (t) => {
  const store = new MemoryAccounts();
  const key = nameKey('alice');
  store.create({ key, name: 'alice', hash: await new Passwords({ logN: 9, r: 8, p: 1 }).hash('password1') });
  const auth = new Auth({ store, limiter: new MemoryLimiter(), passwords: new Passwords(CHEAP) });
  t.like(await lastValueFrom(auth.login('alice', 'password1', '1.1.1.1', 'a')), { ok: true });
  // The new hash is stored in the background: wait for that state (bounded), not for a duration.
  for (let i = 0; i < 200 && store.find(key)?.hash.startsWith('$scrypt$ln=9,'); i++) await new Promise((r) => setTimeout(r, 10));
  t.regex(store.find(key)?.hash ?? '', /^\$scrypt\$ln=10,r=8,p=1\$/);
});

test('which connections may carry passwords: TLS, loopback, or the operator says so', (t) => {
  for (const ip of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) t.true(isLoopback(ip), ip);
  for (const ip of ['10.0.0.1', '203.0.113.5', '::ffff:10.0.0.1', '2001:db8::1', '128.0.0.1', '1270.0.0.1']) t.false(isLoopback(ip), ip);
  t.false(passwordsAllowed({ ip: '203.0.113.5' }, false));
  t.true(passwordsAllowed({ ip: '203.0.113.5', secure: true }, false));
  t.true(passwordsAllowed({ ip: '203.0.113.5' }, true));
  t.true(passwordsAllowed({ ip: '127.0.0.1' }, false));
});
