/**
 * RedisHub when Redis goes away: each node keeps serving its own users (degraded, with a
 * notice), and when Redis is back presence is re-synchronised: joins and leaves made during
 * the outage are announced to the other nodes, names are claimed again, a name taken on two
 * nodes during the outage stays with one of them. Each test has its own redis-server, which
 * it stops and restarts.
 */
import test, { ExecutionContext } from 'ava';
import { Redis } from 'ioredis';
import { answerOf } from '../../lib/hub';
import { Event } from '../../lib/protocol';
import { RedisHub } from '../../lib/redis/hub';
import { REAP } from '../../lib/redis/scripts';
import { HAVE_REDIS, NO_REDIS, RedisServer, startRedis } from '../helpers/redis';
import { Recorder, recordEvents } from './recorder';

const it = HAVE_REDIS ? test : test.skip;
const title = (name: string) => (HAVE_REDIS ? name : `${name} [${NO_REDIS}]`);

async function setup(t: ExecutionContext, n: number, nodeTimeoutMs = 3000): Promise<{ redis: RedisServer; hubs: RedisHub[]; logs: string[] }> {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const logs: string[] = [];
  const hubs: RedisHub[] = [];
  for (let i = 0; i < n; i++) {
    const hub = new RedisHub({ url: redis.url, nodeId: `n${i}`, reconnectMs: 50, nodeTimeoutMs, log: (line) => logs.push(`n${i}: ${line}`) });
    t.teardown(() => hub.close());
    await hub.start();
    hubs.push(hub);
  }
  return { redis, hubs, logs };
}

const has = (state: 'degraded' | 'restored') => (v: readonly Event[]) => v.some((e) => e.kind === 'cluster' && e.state === state);
const of = (kind: Event['kind']) => (v: readonly Event[]) => v.filter((e) => e.kind === kind);
const names = async (hub: RedisHub) => (await answerOf(hub.list())).map((p) => p.name).sort();

it(title('Redis restarted mid-chat: local chat goes on, then presence is re-synchronised'), async (t) => {
  const {
    redis,
    hubs: [a, b],
    logs,
  } = await setup(t, 2);
  await answerOf(a.join({ id: 'x', addr: '10.0.0.1:1' }));
  await answerOf(b.join({ id: 'y', addr: '10.0.0.2:2' }));
  await answerOf(b.join({ id: 'z', addr: '10.0.0.2:3' }));
  t.is(await answerOf(b.rename('y', 'bob')), 'ok');
  const onA = recordEvents(a);
  const onB = recordEvents(b);

  await redis.stop();
  await onA.until(has('degraded'), 3000, 'the degraded notice on a');
  await onB.until(has('degraded'), 3000, 'the degraded notice on b');
  t.false(a.clustered);
  t.true(
    logs.some((l) => l.startsWith('n0: redis: link lost')),
    logs.join('\n'),
  );

  // Degraded: each node serves its own users.
  a.say('x', 'still here');
  await onA.until((v) => of('say')(v).length === 1);
  await answerOf(a.join({ id: 'w', addr: '10.0.0.1:4' })); // joins during the outage
  b.leave('z'); // leaves during the outage
  t.deepEqual(await names(a), ['10.0.0.1:1', '10.0.0.1:4'], 'who lists local users only');
  t.false(await answerOf(a.whisper('x', 'bob', 'hi')), 'no route to another node');
  t.is(await answerOf(a.rename('x', 'ann')), 'ok', 'a rename is decided locally');

  await redis.restart();
  await onA.until(has('restored'), 5000, 'the restored notice on a');
  await onB.until(has('restored'), 5000, 'the restored notice on b');
  t.true(a.clustered && b.clustered);
  // What happened during the outage reached the other node, once.
  await onA.until((v) => of('offline')(v).length >= 1);
  await onB.until((v) => of('online')(v).length >= 1);
  t.deepEqual(of('offline')(onA.values), [{ kind: 'offline', addr: '10.0.0.2:3', name: '10.0.0.2:3' }]);
  t.deepEqual(of('online')(onB.values), [{ kind: 'online', addr: '10.0.0.1:4', name: '10.0.0.1:4' }]);
  // What was said during the outage reaches the other node after it, once, with its time.
  await onB.until((v) => of('say')(v).length === 1, 3000, 'the line said during the outage');
  t.deepEqual(of('say')(onB.values), [{ kind: 'say', addr: '10.0.0.1:1', name: '10.0.0.1:1', text: 'still here' }]);
  // Presence and names are whole again.
  t.deepEqual(await names(a), ['10.0.0.1:4', 'ann', 'bob']);
  t.deepEqual(await names(b), await names(a));
  t.is(await answerOf(a.rename('w', 'BOB')), 'taken');
  t.true(await answerOf(a.whisper('x', 'bob', 'hi again')));
  a.say('x', 'after');
  await onB.until((v) => of('say')(v).length === 2);
  t.deepEqual(of('say')(onB.values), [
    { kind: 'say', addr: '10.0.0.1:1', name: '10.0.0.1:1', text: 'still here' },
    { kind: 'say', addr: '10.0.0.1:1', name: 'ann', text: 'after' },
  ]);
  await onA.until((v) => of('say')(v).length >= 2, 3000, "a's own line from the stream");
  t.deepEqual(
    of('say')(onA.values).map((e) => (e.kind === 'say' ? e.text : '')),
    ['still here', 'after'],
    'a saw its own outage line once, when it was said (not again from the stream), and the next from the stream',
  );
  // a saw w's join locally (during the outage) and nobody from b joined: no other join line.
  t.deepEqual(
    of('online')(onA.values),
    [{ kind: 'online', addr: '10.0.0.1:4', name: '10.0.0.1:4' }],
    `no one is announced twice: ${JSON.stringify(onA.values)}`,
  );
});

it(title('a name taken on two nodes during an outage stays with one; the other is told and gets its address back'), async (t) => {
  const {
    redis,
    hubs: [a, b],
  } = await setup(t, 2);
  const inboxX = new Recorder(a.inbox('x'));
  const inboxY = new Recorder(b.inbox('y'));
  await answerOf(a.join({ id: 'x', addr: '10.0.0.1:1' }));
  await answerOf(b.join({ id: 'y', addr: '10.0.0.2:2' }));
  const onA = recordEvents(a);
  const onB = recordEvents(b);
  await redis.stop();
  await onA.until(has('degraded'));
  await onB.until(has('degraded'));
  t.is(await answerOf(a.rename('x', 'zed')), 'ok');
  t.is(await answerOf(b.rename('y', 'Zed')), 'ok');
  await redis.restart();
  await onA.until(has('restored'), 5000);
  await onB.until(has('restored'), 5000);
  const lost = [...inboxX.values, ...inboxY.values].filter((e) => e.kind === 'nameLost');
  t.is(lost.length, 1, JSON.stringify(lost));
  const listed = await names(a);
  t.is(listed.filter((n) => n.toLowerCase() === 'zed').length, 1, listed.join(','));
  t.true(listed.includes('10.0.0.1:1') || listed.includes('10.0.0.2:2'), listed.join(','));
  t.deepEqual(await names(b), listed);
});

it(title('a dropped connection with Redis intact: re-linked without announcing anyone twice'), async (t) => {
  const {
    redis,
    hubs: [a, b],
  } = await setup(t, 2);
  const onB = recordEvents(b);
  await answerOf(a.join({ id: 'x', addr: '10.0.0.1:1' }));
  await onB.until((v) => of('online')(v).length === 1);
  const admin = new Redis(redis.url);
  t.teardown(() => admin.disconnect());
  await admin.client('KILL', 'TYPE', 'pubsub');
  const onA = recordEvents(a);
  await onA.until(has('restored'), 5000, 'a re-link on a');
  await onB.until(has('restored'), 5000, 'a re-link on b');
  a.say('x', 'hello');
  await onB.until((v) => of('say')(v).length === 1);
  t.is(of('online')(onB.values).length, 1);
  t.deepEqual(await names(b), ['10.0.0.1:1']);
});

it(title('a node that died while Redis was down: after Redis returns, its users are announced gone, once, a lease later'), async (t) => {
  const nodeTimeoutMs = 600;
  const {
    redis,
    hubs: [a, b, c],
  } = await setup(t, 3, nodeTimeoutMs);
  // Recording before the join: its line may reach a and b before c has the script's answer.
  const onA = recordEvents(a);
  const onB = recordEvents(b);
  await answerOf(c.join({ id: 'v', addr: '10.0.0.3:1' }));
  await onA.until((v) => of('online')(v).length === 1);
  await onB.until((v) => of('online')(v).length === 1);
  await redis.stop();
  await onA.until(has('degraded'));
  await c.close(); // dies while nobody can hear it
  await redis.restart();
  await onA.until(has('restored'), 5000);
  await onB.until(has('restored'), 5000);
  const gone = { kind: 'offline', addr: '10.0.0.3:1', name: '10.0.0.3:1' };
  await onA.until((v) => of('offline')(v).length === 1, 3000, 'v announced gone on a');
  await onB.until((v) => of('offline')(v).length === 1, 3000, 'v announced gone on b');
  await new Promise((resolve) => setTimeout(resolve, nodeTimeoutMs)); // only a wait can show that nothing more comes
  t.deepEqual(of('offline')(onA.values), [gone]);
  t.deepEqual(of('offline')(onB.values), [gone]);
  t.deepEqual(await names(a), []);
});

it(title('a node the others declared dead while it was alive (paused) re-registers and announces its users again'), async (t) => {
  const {
    redis,
    hubs: [a, b],
  } = await setup(t, 2);
  await answerOf(a.join({ id: 'x', addr: '10.0.0.1:1' }));
  t.is(await answerOf(a.rename('x', 'xena')), 'ok');
  const onB = recordEvents(b);
  // What a survivor does when a's lease runs out, done now by hand.
  const admin = new Redis(redis.url);
  t.teardown(() => admin.disconnect());
  await admin.del('rx-im:alive:n0');
  await REAP.run(admin, ['rx-im', 1000]);
  await onB.until((v) => of('offline')(v).length === 1);
  // a's next heartbeat finds itself forgotten and re-synchronises.
  await onB.until((v) => of('online')(v).length === 1, 3000, 'x announced again');
  t.deepEqual(onB.values, [
    { kind: 'offline', addr: '10.0.0.1:1', name: 'xena' },
    { kind: 'online', addr: '10.0.0.1:1', name: 'xena' },
  ]);
  t.deepEqual(await names(b), ['xena']);
  t.true(a.clustered);
});

it(title('a login elsewhere while a node was declared dead keeps the name when that node comes back; its member there is told it lost it'), async (t) => {
  const {
    redis,
    hubs: [a, b],
  } = await setup(t, 2, 9000);
  const inboxX = new Recorder(a.inbox('x'));
  const inboxY = new Recorder(b.inbox('y'));
  t.teardown(() => (inboxX.stop(), inboxY.stop()));
  await answerOf(a.join({ id: 'x', addr: '10.0.0.1:1' }));
  t.is(await answerOf(a.rename('x', 'xena')), 'ok');
  await answerOf(b.join({ id: 'y', addr: '10.0.0.2:2' }));
  // What a survivor does when a's lease runs out, done now by hand; a finds out at its next
  // heartbeat (3 s here), and the login on b comes before that.
  const admin = new Redis(redis.url);
  t.teardown(() => admin.disconnect());
  await admin.del('rx-im:alive:n0');
  await REAP.run(admin, ['rx-im', 1000]);
  t.is(await answerOf(b.claim('y', 'Xena')), 'ok');
  await inboxX.until((v) => v.length >= 1, 10_000, 'x told at the re-sync');
  t.deepEqual(inboxX.values, [{ kind: 'nameLost', name: 'xena', addr: '10.0.0.1:1' }]);
  t.deepEqual(await names(b), ['10.0.0.1:1', 'Xena']);
  t.deepEqual(await names(a), ['10.0.0.1:1', 'Xena']);
  t.deepEqual(inboxY.values, [], 'the login is not told anything');
});

it(title('a Redis that hangs (SIGSTOP): the node degrades instead of leaving commands waiting, and recovers on SIGCONT'), async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const nodeTimeoutMs = 1500;
  const hubs = [0, 1].map((i) => new RedisHub({ url: redis.url, nodeId: `n${i}`, reconnectMs: 50, nodeTimeoutMs, commandTimeoutMs: 300 }));
  for (const hub of hubs) {
    t.teardown(() => hub.close());
    await hub.start();
  }
  const [a, b] = hubs;
  await answerOf(a.join({ id: 'x', addr: '10.0.0.1:1' }));
  await answerOf(b.join({ id: 'y', addr: '10.0.0.2:2' }));
  const onA = recordEvents(a);
  const onB = recordEvents(b);
  redis.pause();
  t.teardown(() => redis.resume());
  const paused = Date.now();
  // A command now gets an answer within the command timeout, from local state.
  t.deepEqual(
    (await answerOf(a.list())).map((p) => p.name),
    ['10.0.0.1:1'],
  );
  t.true(Date.now() - paused < 2000, `${Date.now() - paused} ms`);
  await onA.until(has('degraded'), 3000);
  await onB.until(has('degraded'), 3000, 'b degraded by its heartbeat');
  // Paused longer than the node timeout: every lease has expired when Redis resumes, and the
  // node back first must not declare the other dead while it re-registers.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, 1800 - (Date.now() - paused))));
  redis.resume();
  await onA.until(has('restored'), 5000);
  await onB.until(has('restored'), 5000);
  t.deepEqual(await names(a), ['10.0.0.1:1', '10.0.0.2:2']);
  a.say('x', 'back');
  await onB.until((v) => of('say')(v).length === 1);
  await new Promise((resolve) => setTimeout(resolve, nodeTimeoutMs / 2)); // a's next heartbeats: nothing reaped
  t.deepEqual(of('offline')(onA.values), [], 'nobody was declared dead');
});

it(title('a re-sync that fails while both connections stay up is tried again (Redis refusing scripts for a while)'), async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const logs: string[] = [];
  const a = new RedisHub({ url: redis.url, nodeId: 'n0', reconnectMs: 50, commandTimeoutMs: 300, log: (line) => logs.push(line) });
  t.teardown(() => a.close());
  await a.start();
  await answerOf(a.join({ id: 'x', addr: '10.0.0.1:1' }));
  const onA = recordEvents(a);
  const admin = new Redis(redis.url);
  t.teardown(() => admin.disconnect());
  // The pub/sub connection drops and comes straight back, but for 1.5 s Redis holds every
  // write (scripts included): the re-sync times out with both connections up.
  await admin.client('KILL', 'TYPE', 'pubsub');
  const paused = Date.now();
  await admin.call('CLIENT', 'PAUSE', '1500', 'WRITE');
  await onA.until(has('degraded'), 3000);
  await onA.until(has('restored'), 6000, 'the link back once Redis takes writes again');
  t.true(Date.now() - paused >= 1400, `restored ${Date.now() - paused} ms after the pause began`);
  t.true(logs.includes('redis: Command timed out'), logs.join('\n'));
  t.is(a.linkState, 'linked');
  t.deepEqual(await names(a), ['10.0.0.1:1']);
});
