/**
 * End to end: two or three server processes (the CLI, `--redis`) on one throwaway
 * redis-server behave as one chat: cross-node broadcast in per-sender order, `who`, a rename
 * race across nodes, private messages both ways, `kill -9` of a node, Redis restarted
 * mid-chat (what was said during the outage reaches the other node after it). Tests
 * synchronise on lines received, never on sleeps.
 */
import test, { ExecutionContext } from 'ava';
import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { HAVE_REDIS, NO_REDIS, RedisServer, startRedis } from '../helpers/redis';
import { TcpClient, connect } from '../helpers/tcp';
import { TranspiledCli, transpileCli } from '../redis/transpiled-cli';

// Serial: each test starts two or three server processes; together they would crowd the CPU.
const it = HAVE_REDIS ? test.serial : test.skip;

// The CLI, transpiled once for the file: a dozen server processes under ts-node would spend
// most of the file's time compiling the same sources.
let cli: TranspiledCli | undefined;
test.before(() => {
  if (HAVE_REDIS) cli = transpileCli();
});
test.after.always(() => cli?.remove());
function serverProcess(args: readonly string[]): ChildProcess {
  if (!cli) throw new Error('no transpiled CLI');
  return spawn(process.execPath, [...cli.args, ...args], { cwd: ROOT, env: cli.env, stdio: ['ignore', 'pipe', 'pipe'] });
}
const title = (name: string) => (HAVE_REDIS ? name : `${name} [${NO_REDIS}]`);

const ROOT = path.resolve(__dirname, '../..');
const LISTENING = /rx-im-server listening on (\S+):(\d+) \(tcp\)/;
/** The node timeout of the kill -9 test: a killed node is announced within about 4/3 of it. */
const NODE_TIMEOUT_S = 1;
/** The others': long enough that a node stalled by a busy machine is not declared dead. */
const CALM_TIMEOUT_S = 6;

interface Node {
  readonly port: number;
  readonly child: ChildProcess;
  readonly stderr: string[];
}

async function startNode(t: ExecutionContext, redis: RedisServer, nodeTimeoutS: number, extra: readonly string[] = []): Promise<Node> {
  const child = serverProcess(['--port', '0', '--no-web', '--redis', redis.url, '--node-timeout', String(nodeTimeoutS), '--rate-limit', '0', ...extra]);
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  const stderr: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(...chunk.toString().split('\n').filter(Boolean)));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    // Generous: a busy CI machine can take seconds to start a Node process.
    const timer = setTimeout(() => reject(new Error(`no listening line within 30 s; stderr: ${stderr.join('\n')}`)), 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = LISTENING.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[2]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code}) before listening; stderr: ${stderr.join('\n')}`));
    });
  });
  return { port, child, stderr };
}

async function startCluster(t: ExecutionContext, n: number, nodeTimeoutS = CALM_TIMEOUT_S): Promise<{ redis: RedisServer; nodes: Node[] }> {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const nodes = await Promise.all(Array.from({ length: n }, () => startNode(t, redis, nodeTimeoutS)));
  return { redis, nodes };
}

/**
 * Connects a client to a node and reads up to its own join line (a join on another node,
 * still in flight, may arrive first).
 */
async function join(t: ExecutionContext, node: Node): Promise<TcpClient> {
  const client = await connect(node.port);
  t.teardown(() => client.destroy());
  await until(client, `[${client.addr}]${client.addr}:已上线`);
  return client;
}

/** Reads lines until one matches; returns the lines before it. */
async function until(client: TcpClient, expected: string, timeoutMs = 3000): Promise<string[]> {
  const before: string[] = [];
  for (;;) {
    const line = await client.nextLine(timeoutMs);
    if (line === expected) return before;
    before.push(line);
  }
}

it(title('two nodes: cross-node broadcast in per-sender order, who, private messages both ways'), async (t) => {
  const {
    nodes: [a, b],
  } = await startCluster(t, 2);
  const alice = await join(t, a);
  const bob = await join(t, b);
  await until(alice, `[${bob.addr}]${bob.addr}:已上线`);
  await alice.send('rename|alice');
  await alice.expectLine('您已更改用户名为:alice');
  await bob.send('rename|bob');
  await bob.expectLine('您已更改用户名为:bob');

  const sent = Array.from({ length: 100 }, (_, i) => `line ${i}`);
  for (const text of sent) void bob.send(text);
  const onA = await until(alice, `[${bob.addr}]bob:line 99`);
  t.deepEqual(
    onA,
    sent.slice(0, 99).map((text) => `[${bob.addr}]bob:${text}`),
    'once each, in order, on the other node',
  );
  const onB = await until(bob, `[${bob.addr}]bob:line 99`);
  t.is(onB.length, 99, "and once each on the sender's own node");

  for (const client of [alice, bob]) {
    t.deepEqual(await client.who(), [`[${alice.addr}]alice:在线...`, `[${bob.addr}]bob:在线...`]);
  }
  await alice.send('to|BOB|hi|bob');
  await bob.expectLine('alice : hi|bob');
  await bob.send('to|alice|hi alice');
  await alice.expectLine('bob : hi alice');
  await alice.send('to|carol|hi');
  await alice.expectLine('carol用户不存在');

  await bob.end();
  await alice.expectLine(`[${bob.addr}]bob:已下线`);
  t.deepEqual(await alice.who(), [`[${alice.addr}]alice:在线...`]);
});

it(title("a login on one node replaces the same account's login on another: logged out there, its address back as its name"), async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  // Passwords over plain TCP, on loopback, for the test.
  const [a, b] = await Promise.all([0, 1].map(() => startNode(t, redis, CALM_TIMEOUT_S, ['--allow-plaintext-auth'])));
  const first = await join(t, a);
  await first.send('rename|alice');
  await first.expectLine('您已更改用户名为:alice');
  await first.send('register|alice-pass-1');
  await first.expectLine('用户名alice注册成功,您已登录');
  const second = await join(t, b);
  await until(first, `[${second.addr}]${second.addr}:已上线`);
  await second.send('login|alice|alice-pass-1');
  await second.expectLine('登录成功,您的用户名为:alice');
  await until(first, `您的账号已在别处登录,此连接已退出登录,名字恢复为${first.addr}`);
  for (const client of [first, second]) t.deepEqual(await client.who(), [`[${first.addr}]${first.addr}:在线...`, `[${second.addr}]alice:在线...`]);
  await first.send('to|alice|are you me?');
  await second.expectLine(`${first.addr} : are you me?`);
  await first.send('rename|alice');
  await first.expectLine('用户名alice已被注册,请使用"login|alice|密码"登录');
});

it(title('a rename race across nodes: exactly one wins'), async (t) => {
  const {
    nodes: [a, b, c],
  } = await startCluster(t, 3);
  const clients = [await join(t, a), await join(t, b), await join(t, c)];
  for (let round = 0; round < 5; round++) {
    const name = `racer${round}`;
    await Promise.all(clients.map((client, i) => client.send(`rename|${i === 1 ? name.toUpperCase() : name}`)));
    const replies = await Promise.all(
      clients.map((client) =>
        client.nextLine().then(async (line) => {
          // Join lines of the others may come first.
          while (line.endsWith(':已上线')) line = await client.nextLine();
          return line;
        }),
      ),
    );
    const won = replies.filter((line) => line.startsWith('您已更改用户名为:'));
    t.is(won.length, 1, `round ${round}: ${replies.join(' | ')}`);
    t.is(replies.filter((line) => line === '当前用户名已经被使用!').length, 2, `round ${round}`);
  }
  const listed = await clients[0].who();
  t.is(listed.length, 3);
});

it(title('kill -9 of a node: its users are announced offline once on the other nodes, within the bound, and their names freed'), async (t) => {
  const {
    nodes: [a, b, c],
  } = await startCluster(t, 3, NODE_TIMEOUT_S);
  const alice = await join(t, a);
  const bob = await join(t, b);
  const carol = await join(t, c);
  await carol.send('rename|carol');
  await carol.expectLine('您已更改用户名为:carol');
  await until(alice, `[${carol.addr}]${carol.addr}:已上线`);
  await until(bob, `[${carol.addr}]${carol.addr}:已上线`);

  const killed = Date.now();
  c.child.kill('SIGKILL');
  const gone = `[${carol.addr}]carol:已下线`;
  await until(alice, gone, NODE_TIMEOUT_S * 1000 * 3);
  await until(bob, gone, NODE_TIMEOUT_S * 1000 * 3);
  const elapsed = Date.now() - killed;
  t.true(elapsed < NODE_TIMEOUT_S * 1000 * 2 + 500, `announced after ${elapsed} ms`);
  // Once: the `who` round trip (after a further node timeout) shows no second announcement.
  await new Promise((resolve) => setTimeout(resolve, NODE_TIMEOUT_S * 1000)); // only a wait can show that nothing more comes
  t.deepEqual(await alice.who(), [`[${alice.addr}]${alice.addr}:在线...`, `[${bob.addr}]${bob.addr}:在线...`]);
  t.deepEqual(await bob.who(), [`[${alice.addr}]${alice.addr}:在线...`, `[${bob.addr}]${bob.addr}:在线...`]);
  await bob.send('rename|carol');
  await bob.expectLine('您已更改用户名为:carol');
});

it(title('Redis restarted mid-chat: each node keeps chatting locally, then the cluster is whole again'), async (t) => {
  const {
    redis,
    nodes: [a, b],
  } = await startCluster(t, 2);
  const alice = await join(t, a);
  const bob = await join(t, b);
  await until(alice, `[${bob.addr}]${bob.addr}:已上线`);

  await redis.stop();
  const degraded = '集群连接中断:暂时只能与本节点的用户聊天';
  await until(alice, degraded);
  await until(bob, degraded);
  const ann = await join(t, a); // joins during the outage: seen on her node only, for now
  await until(alice, `[${ann.addr}]${ann.addr}:已上线`);
  await ann.send('local only');
  await until(alice, `[${ann.addr}]${ann.addr}:local only`);
  // Not alice.who(): its round-trip marker (`to|` a name nobody has) needs the accounts, which
  // answer "unavailable" while Redis is away. The reply to `who` is its two lines.
  await alice.send('who');
  t.deepEqual(await alice.nextLines(2), [`[${alice.addr}]${alice.addr}:在线...`, `[${ann.addr}]${ann.addr}:在线...`]);
  t.true(
    a.stderr.some((line) => line.includes('cluster degraded')),
    a.stderr.join('\n'),
  );

  await redis.restart();
  await until(alice, '集群连接已恢复', 5000);
  const beforeRestored = await until(bob, '集群连接已恢复', 5000);
  // bob learns of ann, once, either just before or just after the notice.
  const annOnline = `[${ann.addr}]${ann.addr}:已上线`;
  if (!beforeRestored.includes(annOnline)) await until(bob, annOnline);
  // And then what ann said during the outage, late (the log stream), once.
  await until(bob, `[${ann.addr}]${ann.addr}:local only`);
  await bob.send('hello again');
  await until(ann, `[${bob.addr}]${bob.addr}:hello again`);
  await until(bob, `[${bob.addr}]${bob.addr}:hello again`);
  await until(alice, `[${bob.addr}]${bob.addr}:hello again`);
  const everyone = [alice, bob, ann].map((c) => `[${c.addr}]${c.addr}:在线...`).sort();
  t.deepEqual((await bob.who()).sort(), everyone);
  t.deepEqual((await alice.who()).sort(), everyone);
  t.false(
    [...a.stderr, ...b.stderr].some((line) => /unhandled|TypeError/i.test(line)),
    [...a.stderr, ...b.stderr].join('\n'),
  );
});

it(title('a node shut down with SIGTERM: its users are announced offline on the others at once, and it exits 0'), async (t) => {
  const {
    nodes: [a, b],
  } = await startCluster(t, 2);
  const alice = await join(t, a);
  const bob = await join(t, b);
  await until(alice, `[${bob.addr}]${bob.addr}:已上线`);
  const exited = new Promise<number | null>((resolve) => b.child.once('exit', resolve));
  const stopped = Date.now();
  b.child.kill('SIGTERM');
  await until(bob, '服务器正在关闭');
  // Well before the node timeout would have made a survivor do it.
  await until(alice, `[${bob.addr}]${bob.addr}:已下线`, 3000);
  t.true(Date.now() - stopped < CALM_TIMEOUT_S * 1000, `${Date.now() - stopped} ms`);
  t.is(await exited, 0);
  t.deepEqual(await alice.who(), [`[${alice.addr}]${alice.addr}:在线...`]);
});

it(title('a Redis URL that cannot be used at start: one line on stderr, exit 1'), async (t) => {
  const redis = await startRedis();
  await redis.stop();
  const child = serverProcess(['--port', '0', '--no-web', '--redis', redis.url]);
  t.teardown(() => child.kill('SIGKILL'));
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  t.is(code, 1);
  const lines = stderr.split('\n').filter((line) => line.startsWith('rx-im-server:'));
  t.deepEqual(lines, [`rx-im-server: cannot use Redis at ${redis.url}: connect ECONNREFUSED 127.0.0.1:${redis.port}`]);
});
