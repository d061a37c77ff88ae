/**
 * Accounts in Redis (lib/auth/redis-accounts.ts) with a real redis-server on loopback: the store
 * contract, the limiter's window, and two server nodes sharing them over real sockets (an
 * account registered on node 1 logs in on node 2; failures on both nodes count toward one
 * limit; a message kept on one node is delivered on the other). Each node has its own hub
 * here, so what is tested is the accounts' sharing alone. Skipped loudly without redis-server.
 */
import test, { ExecutionContext } from 'ava';
import { lastValueFrom } from 'rxjs';
import { RedisAccounts } from '../../lib/auth/redis-accounts';
import { answerOf } from '../../lib/hub';
import { Lang, texts } from '../../lib/texts';
import { HAVE_REDIS, NO_REDIS, RedisServer, startRedis } from '../helpers/redis';
import { startServer, userLine } from '../helpers/server';
import { TcpClient, connect } from '../helpers/tcp';

const it = HAVE_REDIS ? test : test.skip;
const title = (name: string) => (HAVE_REDIS ? name : `${name} [${NO_REDIS}]`);
const CHEAP = { logN: 10, r: 8, p: 1 };

async function redisFor(t: ExecutionContext): Promise<RedisServer> {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  return redis;
}

async function accountsOn(t: ExecutionContext, url: string, options: Partial<ConstructorParameters<typeof RedisAccounts>[0]> = {}): Promise<RedisAccounts> {
  const accounts = new RedisAccounts({ url, prefix: 'test', commandTimeoutMs: 500, ...options });
  await accounts.start();
  t.teardown(() => accounts.close());
  return accounts;
}

async function join(t: ExecutionContext, port: number, lang: Lang): Promise<TcpClient> {
  const c = await connect(port);
  t.teardown(() => c.destroy());
  await c.expectLine(userLine(c.addr, c.addr, texts[lang].online));
  return c;
}

async function ask(c: TcpClient, line: string): Promise<string> {
  await c.send(line);
  return c.nextLine();
}

it(title('store contract: create once, find, change the hash, keep at most max messages and take them once'), async (t) => {
  const redis = await redisFor(t);
  const store = await accountsOn(t, redis.url);
  t.is(await answerOf(store.find('alice')), undefined);
  t.true(await answerOf(store.create({ key: 'alice', name: 'Alice', hash: '$scrypt$x/y+z' })));
  t.false(await answerOf(store.create({ key: 'alice', name: 'alice', hash: 'other' })));
  t.deepEqual(await answerOf(store.find('alice')), { key: 'alice', name: 'Alice', hash: '$scrypt$x/y+z' });
  t.true(await answerOf(store.setHash('alice', 'h3')));
  t.false(await answerOf(store.setHash('nobody', 'h3')));
  t.is((await answerOf(store.find('alice')))?.hash, 'h3');
  for (let n = 1; n <= 7; n++) await answerOf(store.keep('alice', { id: `${n}-0`, time: n, from: 'bob', text: `m${n}` }, 5));
  await answerOf(store.keep('carol', { time: 9, from: 'dave', text: 'no id' }, 5));
  t.deepEqual(
    await answerOf(store.take('alice')),
    [3, 4, 5, 6, 7].map((n) => ({ id: `${n}-0`, time: n, from: 'bob', text: `m${n}` })),
  );
  t.deepEqual(await answerOf(store.take('alice')), []);
  t.deepEqual(await answerOf(store.take('carol')), [{ time: 9, from: 'dave', text: 'no id' }]);
});

it(title('limiter: 5 in the window, all keys or none, forgiven on success, free again once the window has passed'), async (t) => {
  const redis = await redisFor(t);
  let now = 1_000_000;
  const limiter = await accountsOn(t, redis.url, { now: () => now, limit: { max: 5, windowMs: 60_000 } });
  const attempt = (keys: string[]) => lastValueFrom(limiter.attempt(keys));
  for (let i = 0; i < 5; i++) {
    t.true((await attempt(['account:bob', `ip:${i}`])).ok);
    now += 1000;
  }
  const refused = await attempt(['account:bob', 'ip:9']);
  t.deepEqual(refused, { ok: false, retryAfterMs: 55_000 });
  // ip:9 was not charged for the refused attempt.
  for (let i = 0; i < 5; i++) t.true((await attempt([`account:x${i}`, 'ip:9'])).ok);
  t.false((await attempt(['account:y', 'ip:9'])).ok);
  // A success is forgiven.
  const ok = await attempt(['account:carol', 'ip:c']);
  if (!ok.ok) return t.fail();
  limiter.forgive(ok.attempt);
  for (let i = 0; i < 5; i++) t.true((await attempt(['account:carol', `ip:c${i}`])).ok);
  // The first bob attempt leaves the window at 1_060_000.
  now = 1_060_000;
  t.true((await attempt(['account:bob', 'ip:z'])).ok);
  t.false((await attempt(['account:bob', 'ip:z2'])).ok);
});

for (const lang of ['zh', 'en'] as Lang[]) {
  const t$ = texts[lang];

  it(
    title(`${lang}: two nodes share the accounts: register on one, refused rename and login on the other, a message kept on one delivered on the other`),
    async (t) => {
      const redis = await redisFor(t);
      const node = async () => {
        const shared = await accountsOn(t, redis.url);
        return startServer(t, { lang, accounts: { kdf: CHEAP, store: shared, limiter: shared } });
      };
      const one = await node();
      const two = await node();
      const a = await join(t, one.port, lang);
      await a.send('rename|alice');
      await a.expectLine(t$.renamed('alice'));
      t.is(await ask(a, 'register|alice-pass-1'), t$.registered('alice'));
      t.is(await ask(a, 'logout'), t$.loggedOut(a.addr));
      const b = await join(t, two.port, lang);
      t.is(await ask(b, 'rename|Alice'), t$.nameRegistered('Alice'));
      const c = await join(t, one.port, lang);
      await a.expectLine(userLine(c.addr, c.addr, t$.online));
      t.is(await ask(c, 'to|alice|kept on node one'), t$.offlineKept('alice'));
      t.is(await ask(b, 'login|alice|alice-pass-1'), t$.loggedIn('alice'));
      t.is(await b.nextLine(), `${c.addr} : kept on node one`);
      t.is(await ask(b, 'passwd|alice-pass-1|alice-pass-2'), t$.passwordChanged);
      t.is(await ask(a, 'login|alice|alice-pass-1'), t$.loginFailed);
    },
  );

  it(title(`${lang}: failed logins on both nodes count toward one limit`), async (t) => {
    const redis = await redisFor(t);
    const node = async () => {
      const shared = await accountsOn(t, redis.url);
      return startServer(t, { lang, accounts: { kdf: CHEAP, store: shared, limiter: shared } });
    };
    const one = await node();
    const two = await node();
    const a = await join(t, one.port, lang);
    const b = await join(t, two.port, lang);
    for (let i = 0; i < 3; i++) t.is(await ask(a, `login|bob|guess-${i}-xyz`), t$.loginFailed);
    for (let i = 3; i < 5; i++) t.is(await ask(b, `login|bob|guess-${i}-xyz`), t$.loginFailed);
    t.is(await ask(a, 'login|bob|guess-5-xyz'), t$.tooManyAttempts(15));
    t.is(await ask(b, 'login|bob|guess-6-xyz'), t$.tooManyAttempts(15));
  });
}

it(title('Redis away: account commands are answered "unavailable" at once, and the chat goes on'), async (t) => {
  const redis = await redisFor(t);
  const shared = await accountsOn(t, redis.url);
  const { port, logs } = await startServer(t, { lang: 'en', accounts: { kdf: CHEAP, store: shared, limiter: shared } });
  const a = await join(t, port, 'en');
  await redis.stop();
  t.is(await ask(a, 'login|alice|alice-pass-1'), texts.en.accountsUnavailable);
  t.is(await ask(a, 'rename|carol'), texts.en.accountsUnavailable);
  await a.send('still here');
  t.is(await a.nextLine(), userLine(a.addr, a.addr, 'still here'));
  t.true(logs.some((l) => l.startsWith('accounts: failed ')));
});

it(title('with the Redis hub: a login takes its name from a holder on the same node, and the other node sees the new holder'), async (t) => {
  const redis = await redisFor(t);
  const { RedisHub } = await import('../../lib/redis/hub');
  const node = async (nodeId: string) => {
    const hub = new RedisHub({ url: redis.url, prefix: 'test', nodeId });
    await hub.start();
    const shared = await accountsOn(t, redis.url);
    return startServer(t, { lang: 'en', hub, history: false, accounts: { kdf: CHEAP, store: shared, limiter: shared } });
  };
  const one = await node('one');
  const two = await node('two');
  const a = await join(t, one.port, 'en');
  await a.send('rename|alice');
  await a.expectLine(texts.en.renamed('alice'));
  t.is(await ask(a, 'register|alice-pass-1'), texts.en.registered('alice'));
  // Another connection on the same node logs in: the first is replaced and gets its address back.
  const b = await join(t, one.port, 'en');
  t.is(await ask(b, 'login|alice|alice-pass-1'), texts.en.loggedIn('alice'));
  await waitFor(() => a.received.includes(texts.en.loggedInElsewhere(a.addr)), a.received);
  // Node two's users find alice under b's address; a private message from there reaches b.
  const c = await join(t, two.port, 'en');
  await waitFor(async () => (await c.who()).includes(userLine(b.addr, 'alice', texts.en.listed)), c.received);
  await c.send('to|alice|across nodes');
  await waitFor(() => b.received.includes(`${c.addr} : across nodes`), b.received);
  t.false(a.received.includes(`${c.addr} : across nodes`));
});

/** Polls a condition over a few seconds (another node answers through Redis: there is no one event to await). */
async function waitFor(condition: () => boolean | Promise<boolean>, seen: readonly string[]): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`condition not met; seen: ${JSON.stringify(seen)}`);
}
