/**
 * End to end, the cluster's log stream (issue 15): server processes (the CLI, `--redis`) on a
 * throwaway redis-server. One order for everyone on three nodes; lines said while Redis is
 * frozen (SIGSTOP) or dead (kill -9, restarted empty or from its append-only file) counted per
 * receiver and sender, lost / duplicated / reordered; a user who moves to another node and
 * catches up with `since|`; one node cut off from Redis through a proxy (refused, then silent)
 * for three node timeouts, its names and lines after the heal, and a clean SIGTERM.
 * Synchronises on lines received (polled with a deadline), never on a bare sleep; the waits
 * that remain are the outages' own durations.
 */
import test, { ExecutionContext } from 'ava';
import { ChildProcess, spawn } from 'node:child_process';
import * as path from 'node:path';
import { texts } from '../../lib/texts';
import { HAVE_REDIS, NO_REDIS, RedisServer, startRedis } from '../helpers/redis';
import { TcpClient, connect } from '../helpers/tcp';
import { CutProxy } from '../redis/proxy';
import { TranspiledCli, transpileCli } from '../redis/transpiled-cli';

// Serial: each test runs two or three server processes and paced senders.
const it = HAVE_REDIS ? test.serial : test.skip;
const title = (name: string) => (HAVE_REDIS ? name : `${name} [${NO_REDIS}]`);

const ROOT = path.resolve(__dirname, '../..');
const LISTENING = /rx-im-server listening on (\S+):(\d+) \(tcp\)/;
const t$ = texts.zh;

let cli: TranspiledCli | undefined;
test.before(() => {
  if (HAVE_REDIS) cli = transpileCli();
});
test.after.always(() => cli?.remove());

interface Node {
  readonly port: number;
  readonly child: ChildProcess;
  readonly stderr: string[];
  readonly exited: Promise<number | null>;
}

async function startNode(t: ExecutionContext, url: string, extra: readonly string[] = []): Promise<Node> {
  if (!cli) throw new Error('no transpiled CLI');
  const args = ['--port', '0', '--no-web', '--redis', url, '--node-timeout', '1', '--rate-limit', '0', '--idle-timeout', '600', ...extra];
  const child = spawn(process.execPath, [...cli.args, ...args], { cwd: ROOT, env: cli.env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => void child.kill('SIGKILL'));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stderr: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(...chunk.toString().split('\n').filter(Boolean)));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`no listening line within 30 s; stderr: ${stderr.join('\n')}`)), 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = LISTENING.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[2]));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`the server exited (${code}) before listening; stderr: ${stderr.join('\n')}`));
    });
  });
  return { port, child, stderr, exited };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `done()` holds; fails with `what()` after the deadline. */
async function until(done: () => boolean, timeoutMs: number, what: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what()}`);
    await sleep(20);
  }
}

/** A user: connected, tagged (cap|tags), its join seen. */
async function user(t: ExecutionContext, node: Node): Promise<TcpClient> {
  const client = await connect(node.port);
  t.teardown(() => client.destroy());
  await client.send('cap|tags');
  await until(
    () => client.received.some((l) => l.endsWith(`[${client.addr}]${client.addr}:${t$.online}`)),
    10_000,
    () => `${client.addr}'s join`,
  );
  return client;
}

/** `who`'s reply (the client's lines are read by `received`, not by its reader). */
async function who(client: TcpClient): Promise<string[]> {
  const from = client.received.length;
  await client.send('who');
  await client.send('to|who-end|.');
  const end = t$.noSuchUser('who-end');
  await until(
    () => client.received.slice(from).includes(end),
    5000,
    () => 'the who reply',
  );
  return client.received.slice(from).filter((l) => l.endsWith(`:${t$.listed}`));
}

/** Everyone has seen the last one's join: from then on, every line reaches them all. */
async function allJoined(users: readonly TcpClient[]): Promise<void> {
  const last = users[users.length - 1];
  const join = `[${last.addr}]${last.addr}:${t$.online}`;
  await until(
    () => users.every((u) => u.received.some((l) => l.endsWith(join))),
    10_000,
    () => 'the last join everywhere',
  );
}

const MSG = /^@id=([^;]+);time=(\S+) \[[^\]]*\][^\n]*:msg (\w+) (\d+)$/;

/** The test lines a client received, in order: sender, number, id, time. */
function said(client: TcpClient): { sender: string; n: number; id: string; time: string }[] {
  const out = [];
  for (const line of client.received) {
    const m = MSG.exec(line);
    if (m) out.push({ id: m[1], time: m[2], sender: m[3], n: Number(m[4]) });
  }
  return out;
}

interface Count {
  readonly lost: number;
  readonly duplicated: number;
  readonly reordered: number;
}

/** For one receiver and one sender that said 0..sent-1: how many lost, duplicated, out of order. */
function count(client: TcpClient, sender: string, sent: number): Count {
  const got = said(client)
    .filter((m) => m.sender === sender)
    .map((m) => m.n);
  const distinct = new Set(got);
  let reordered = 0;
  let highest = -1;
  for (const n of got) {
    if (n < highest) reordered++;
    highest = Math.max(highest, n);
  }
  let lost = 0;
  for (let n = 0; n < sent; n++) if (!distinct.has(n)) lost++;
  return { lost, duplicated: got.length - distinct.size, reordered };
}

/** Sends `msg NAME k` every `everyMs` until stopped; resolves with how many it sent. */
function pacedSender(client: TcpClient, name: string, everyMs: number): { stop(): Promise<number> } {
  let n = 0;
  let stopped = false;
  const done = (async () => {
    while (!stopped && n < 100_000) {
      await client.send(`msg ${name} ${n++}`);
      await sleep(everyMs);
    }
    return n;
  })();
  return {
    stop: () => {
      stopped = true;
      return done;
    },
  };
}

/** Every receiver has every sender's lines (or the deadline passes): then the counts. */
async function settle(receivers: readonly TcpClient[], sent: ReadonlyMap<string, number>, timeoutMs: number): Promise<Map<string, Count>> {
  const complete = () => receivers.every((r) => [...sent].every(([sender, n]) => count(r, sender, n).lost === 0));
  await until(complete, timeoutMs, () => 'every line everywhere').catch(() => undefined);
  const counts = new Map<string, Count>();
  for (const r of receivers) for (const [sender, n] of sent) counts.set(`${r.addr} <- ${sender}`, count(r, sender, n));
  return counts;
}

function report(t: ExecutionContext, what: string, counts: ReadonlyMap<string, Count>, sent: ReadonlyMap<string, number>): void {
  const total = { lost: 0, duplicated: 0, reordered: 0 };
  for (const c of counts.values()) {
    total.lost += c.lost;
    total.duplicated += c.duplicated;
    total.reordered += c.reordered;
  }
  t.log(
    `${what}: sent ${[...sent].map(([s, n]) => `${s}=${n}`).join(' ')}; over ${counts.size} receiver x sender pairs: lost ${total.lost}, duplicated ${total.duplicated}, reordered ${total.reordered}`,
  );
  for (const [pair, c] of counts) t.deepEqual(c, { lost: 0, duplicated: 0, reordered: 0 }, `${what}: ${pair}`);
}

it(title('three nodes, three senders each, 200 lines each: every user on every node gets all 1,800 in one identical order, same ids'), async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const nodes = await Promise.all([0, 1, 2].map(() => startNode(t, redis.url)));
  const users: TcpClient[] = [];
  for (const node of nodes) for (let i = 0; i < 3; i++) users.push(await user(t, node));
  await allJoined(users);
  const sent = new Map(users.map((_, i) => [`s${i}`, 200]));
  await Promise.all(users.map((u, i) => u.write(Array.from({ length: 200 }, (_, k) => `msg s${i} ${k}\n`).join(''))));
  const counts = await settle(users, sent, 30_000);
  report(t, '3 nodes x 3 senders x 200', counts, sent);
  const orders = users.map((u) => said(u).map((m) => `${m.id} ${m.sender} ${m.n}`));
  t.is(orders[0].length, 1800);
  for (let i = 1; i < orders.length; i++)
    t.deepEqual(orders[i], orders[0], `user ${i} (node ${Math.floor(i / 3)}) in the same order as user 0, with the same ids`);
  t.is(new Set(orders[0].map((line) => line.split(' ')[0])).size, 1800, 'ids unique');
});

/** Two nodes, a sender and a listener on each; an outage in the middle of the talk. */
async function outageRun(t: ExecutionContext, redis: RedisServer, what: string, outage: () => Promise<void>): Promise<{ sinceFirst: () => Promise<string[]> }> {
  const [a, b] = [await startNode(t, redis.url), await startNode(t, redis.url)];
  const [sa, la, sb, lb] = [await user(t, a), await user(t, a), await user(t, b), await user(t, b)];
  const everyone = [sa, la, sb, lb];
  await allJoined(everyone);
  const senders = [pacedSender(sa, 'a', 40), pacedSender(sb, 'b', 40)];
  await sleep(1500);
  await outage();
  await sleep(1500);
  const [na, nb] = await Promise.all(senders.map((s) => s.stop()));
  const sent = new Map([
    ['a', na],
    ['b', nb],
  ]);
  const counts = await settle(everyone, sent, 30_000);
  report(t, what, counts, sent);
  // Both nodes said what happened, and nothing crashed.
  for (const node of [a, b])
    t.true(
      node.stderr.some((l) => l.includes('cluster degraded')),
      node.stderr.join('\n'),
    );
  t.false(
    [...a.stderr, ...b.stderr].some((l) => /unhandled|TypeError/i.test(l)),
    [...a.stderr, ...b.stderr].join('\n'),
  );
  // A line said during the outage on the other node came late, with the time it was said.
  const late = said(la).find((m) => m.sender === 'b' && Number(m.id.split('-')[0]) > Date.parse(m.time) + 1000);
  t.truthy(late, 'a line of b said during the outage reached a later than it was said, tagged with its original time');
  // `since|` the first line's id, on a fresh connection: what the stream still holds.
  const first = said(la)[0].id;
  return {
    sinceFirst: async () => {
      const probe = await connect(a.port);
      t.teardown(() => probe.destroy());
      await probe.send('cap|tags');
      await probe.send(`since|${first}`);
      await until(
        () => probe.received.includes('history|end'),
        10_000,
        () => 'the since| reply',
      );
      return probe.received;
    },
  };
}

it(title('Redis frozen (SIGSTOP) 10 s while users on both nodes talk: after SIGCONT, nothing lost, duplicated or reordered'), async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  t.teardown(() => redis.resume());
  await outageRun(t, redis, 'SIGSTOP 10 s', async () => {
    redis.pause();
    await sleep(10_000);
    redis.resume();
  });
});

it(title('Redis killed (kill -9) and restarted empty while users talk: nothing lost, duplicated or reordered'), async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const run = await outageRun(t, redis, 'kill -9, restarted empty', async () => {
    await redis.stop();
    await sleep(3000);
    await redis.restart();
  });
  t.true((await run.sinceFirst()).includes('history|unknown'), 'the stream before the restart is gone: since| an id from then says so');
});

it(title('Redis killed (kill -9) and restarted from its append-only file while users talk: nothing lost, duplicated or reordered'), async (t) => {
  const redis = await startRedis({ aof: 'always' });
  t.teardown(() => redis.dispose());
  const run = await outageRun(t, redis, 'kill -9, restarted from AOF', async () => {
    await redis.stop();
    await sleep(3000);
    await redis.restart();
  });
  const replay = await run.sinceFirst();
  t.false(replay.includes('history|unknown'), 'the stream survived in the AOF: since| an id from before the kill works');
  // More than a page followed: the newest page, said to be truncated (not unknown).
  t.true(replay.includes('history|truncated') && replay.filter((l) => MSG.test(l)).length > 0, replay.slice(0, 3).join('\n'));
});

it(title('a user moves node (leaves node 1, joins node 2, since|LAST) while another chats: no gap, no duplicate'), async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const [a, b] = [await startNode(t, redis.url), await startNode(t, redis.url)];
  const chatter = await user(t, a);
  const mover = await user(t, a);
  const sender = pacedSender(chatter, 'c', 15);
  await until(
    () => said(mover).length >= 40,
    10_000,
    () => 'the first lines on node 1',
  );
  mover.destroy();
  const before = said(mover);
  const last = before[before.length - 1].id;
  await sleep(300); // the chat goes on without it
  const moved = await connect(b.port);
  t.teardown(() => moved.destroy());
  await moved.send('cap|tags');
  await moved.send(`since|${last}`);
  await until(
    () => moved.received.includes('history|end'),
    10_000,
    () => 'the since| reply',
  );
  await sleep(500);
  const total = await sender.stop();
  await until(
    () => said(moved).some((m) => m.n === total - 1),
    10_000,
    () => 'the last line on node 2',
  );
  const seen = [...before, ...said(moved)].map((m) => m.n);
  t.deepEqual(
    seen,
    Array.from({ length: total }, (_, n) => n),
    'every line once, in order, across the move',
  );
  const end = moved.received.indexOf('history|end');
  t.false(moved.received.slice(0, end).includes('history|unknown'), moved.received.slice(0, end).join('\n'));
  t.true(said({ received: moved.received.slice(0, end) } as TcpClient).length > 0, 'some of the lines came from the replay');
});

async function partition(t: ExecutionContext, how: 'refused' | 'silent'): Promise<void> {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const proxy = await CutProxy.start(redis.port);
  t.teardown(() => proxy.close());
  const cut = await startNode(t, proxy.url); // node A, through the proxy
  const other = await startNode(t, redis.url); // node B, direct
  const [x, z, y, w] = [await user(t, cut), await user(t, cut), await user(t, other), await user(t, other)];
  const everyone = [x, z, y, w];
  await allJoined(everyone);
  await x.send('rename|zed');
  await until(
    () => x.received.includes(t$.renamed('zed')),
    5000,
    () => 'x named zed',
  );
  const senders = [pacedSender(x, 'x', 40), pacedSender(y, 'y', 40)];
  await sleep(500);
  const cutAt = Date.now();
  if (how === 'refused') await proxy.refuse();
  else proxy.silence();
  // A silent cut is noticed within the command timeout (half the node timeout: 500 ms) and a beat.
  await until(
    () => z.received.includes(t$.clusterDegraded),
    3000,
    () => `the degraded notice on the cut node (${how})`,
  );
  const noticed = Date.now() - cutAt;
  t.log(`${how}: the cut node noticed after ${noticed} ms`);
  // Command timeout 500 ms, heartbeat every 333 ms: at most ~0.9 s, with room for a busy machine.
  t.true(noticed < 2500, `noticed after ${noticed} ms`);
  // The others declare the cut node dead after the node timeout: its name is free there.
  await until(
    () => w.received.some((l) => l.endsWith(` [${x.addr}]zed:${t$.offline}`)),
    5000,
    () => `the netsplit on the other side: ${w.received.slice(-6).join(' | ')}; ${[...cut.stderr, ...other.stderr].join('\n')}`,
  );
  await y.send('rename|zed');
  await until(
    () => y.received.includes(t$.renamed('zed')),
    5000,
    () => 'y takes zed during the cut',
  );
  await sleep(Math.max(0, 3000 - (Date.now() - cutAt)));
  await proxy.heal();
  await until(
    () => z.received.includes(t$.clusterRestored),
    10_000,
    () => 'the restored notice on the cut node',
  );
  // The continuous holder keeps its name; the newcomer is told and is its address again.
  await until(
    () => y.received.includes(t$.nameLost('zed', y.addr)),
    5000,
    () => `the name-lost notice for y: ${y.received.slice(-5).join(' | ')}`,
  );
  await sleep(1000);
  const [nx, ny] = await Promise.all(senders.map((s) => s.stop()));
  const sent = new Map([
    ['x', nx],
    ['y', ny],
  ]);
  const counts = await settle(everyone, sent, 20_000);
  report(t, `one node cut (${how}) for 3 node timeouts`, counts, sent);
  const listed = (await who(w)).sort();
  t.deepEqual(
    listed,
    [`[${x.addr}]zed:${t$.listed}`, `[${z.addr}]${z.addr}:${t$.listed}`, `[${y.addr}]${y.addr}:${t$.listed}`, `[${w.addr}]${w.addr}:${t$.listed}`].sort(),
  );
  t.deepEqual((await who(z)).sort(), listed);
  // The netsplit is seen on the other side: the cut node's users left, and came back.
  const left = w.received.findIndex((l) => l.endsWith(` [${z.addr}]${z.addr}:${t$.offline}`));
  const back = w.received.findIndex((l) => l.endsWith(` [${z.addr}]${z.addr}:${t$.online}`));
  t.true(left >= 0 && back > left, w.received.filter((l) => l.includes(`[${z.addr}]`) && !MSG.test(l)).join('\n'));
  for (const node of [cut, other]) node.child.kill('SIGTERM');
  t.deepEqual(await Promise.all([cut.exited, other.exited]), [0, 0]);
}

it(
  title('one node cut off from Redis (connections refused) for three node timeouts, then healed: nothing lost or duplicated, names resolved, SIGTERM exits 0'),
  (t) => partition(t, 'refused'),
);

it(
  title('one node cut off from Redis silently (a black hole) for three node timeouts, then healed: noticed, nothing lost or duplicated, names resolved'),
  (t) => partition(t, 'silent'),
);
