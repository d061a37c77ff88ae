/**
 * RedisHub against a real redis-server: several hubs on one Redis (same prefix) behave as one
 * chat. Broadcast once per node in per-sender order, `who` across nodes, atomic rename across
 * nodes, private messages routed between nodes, dead nodes reaped exactly once.
 */
import anyTest, { ExecutionContext, TestFn } from 'ava';
import { Redis } from 'ioredis';
import { isObservable } from 'rxjs';
import { answerOf } from '../../lib/hub';
import { Event } from '../../lib/protocol';
import { RedisHub, RedisHubOptions } from '../../lib/redis/hub';
import { JOIN } from '../../lib/redis/scripts';
import { HAVE_REDIS, NO_REDIS, RedisServer, startRedis } from '../helpers/redis';
import { Recorder, recordEvents } from './recorder';

const test = anyTest as TestFn<{ redis: RedisServer }>;
const it = HAVE_REDIS ? test : test.skip;
const title = (name: string) => (HAVE_REDIS ? name : `${name} [${NO_REDIS}]`);

test.before(async (t) => {
  if (HAVE_REDIS) t.context.redis = await startRedis();
});
test.after.always(async (t) => {
  await t.context.redis?.stop();
});

let prefixes = 0;

/** `n` started hubs sharing one prefix (one chat), closed at teardown. */
async function cluster(t: ExecutionContext<{ redis: RedisServer }>, n: number, options: Partial<RedisHubOptions> = {}): Promise<RedisHub[]> {
  const prefix = `t${++prefixes}-${process.pid}`;
  const hubs: RedisHub[] = [];
  for (let i = 0; i < n; i++) {
    const hub = new RedisHub({
      url: t.context.redis.url,
      prefix,
      nodeId: `n${i}`,
      reconnectMs: 50,
      log: process.env.DEBUG_REDIS ? (l) => console.log(`n${i}: ${l}`) : undefined,
      ...options,
    });
    t.teardown(() => hub.close());
    await hub.start();
    hubs.push(hub);
  }
  return hubs;
}

const says = (events: readonly Event[], name?: string) =>
  events.filter((e): e is Extract<Event, { kind: 'say' }> => e.kind === 'say' && (name === undefined || e.name === name)).map((e) => e.text);

it(title('a broadcast reaches every node exactly once, in the order its sender sent it'), async (t) => {
  const [a, b, c] = await cluster(t, 3);
  const onA = recordEvents(a);
  const onB = recordEvents(b);
  const onC = recordEvents(c);
  await answerOf(a.join({ id: 'x', addr: '10.0.0.1:1' }));
  await answerOf(b.join({ id: 'y', addr: '10.0.0.2:2' }));
  const sent = Array.from({ length: 200 }, (_, i) => `m${i}`);
  for (const text of sent) {
    a.say('x', `${text}`);
    b.say('y', `${text}`);
  }
  for (const [node, recorder] of [
    ['a', onA],
    ['b', onB],
    ['c', onC],
  ] as const) {
    await recorder.until((v) => says(v, '10.0.0.1:1').length >= 200 && says(v, '10.0.0.2:2').length >= 200, 5000, `all messages on ${node}`);
    t.deepEqual(says(recorder.values, '10.0.0.1:1'), sent, `${node}: x's messages once each, in order`);
    t.deepEqual(says(recorder.values, '10.0.0.2:2'), sent, `${node}: y's messages once each, in order`);
  }
  // Joins too, once each everywhere; c saw y's join after x's, as they happened.
  await onC.until((v) => v.filter((e) => e.kind === 'online').length >= 2);
  t.deepEqual(
    onC.values.filter((e) => e.kind === 'online').map((e) => (e as { name: string }).name),
    ['10.0.0.1:1', '10.0.0.2:2'],
  );
});

it(title("a member's join, lines, rename and leave reach another node in the order they happened"), async (t) => {
  const [a, b] = await cluster(t, 2);
  const onB = recordEvents(b);
  const addr = '10.0.0.1:1';
  // Nothing awaited between the steps but what a session awaits (join, rename): lines are fire-and-forget.
  await answerOf(a.join({ id: 'x', addr }));
  for (let i = 0; i < 50; i++) a.say('x', `before ${i}`);
  t.is(await answerOf(a.rename('x', 'xavier')), 'ok');
  for (let i = 0; i < 50; i++) a.say('x', `after ${i}`);
  a.leave('x');
  await onB.until((v) => v.some((e) => e.kind === 'offline'));
  t.deepEqual(onB.values, [
    { kind: 'online', addr, name: addr },
    ...Array.from({ length: 50 }, (_, i) => ({ kind: 'say', addr, name: addr, text: `before ${i}` })),
    ...Array.from({ length: 50 }, (_, i) => ({ kind: 'say', addr, name: 'xavier', text: `after ${i}` })),
    { kind: 'offline', addr, name: 'xavier' },
  ]);
});

it(title('who lists the members of every node, in join order; a leave is announced on the other nodes once'), async (t) => {
  const [a, b] = await cluster(t, 2);
  const onB = recordEvents(b);
  await answerOf(a.join({ id: 'x', addr: '10.0.0.1:1' }));
  await answerOf(b.join({ id: 'y', addr: '10.0.0.2:2' }));
  await answerOf(a.join({ id: 'z', addr: '10.0.0.1:3' }));
  t.is(await answerOf(a.rename('z', 'zoe')), 'ok');
  const fromA = (await answerOf(a.list())).map((p) => p.name);
  const fromB = (await answerOf(b.list())).map((p) => p.name);
  t.deepEqual(fromA, ['10.0.0.1:1', '10.0.0.2:2', 'zoe']);
  t.deepEqual(fromB, fromA);
  t.is(a.size, 2);
  t.is(b.size, 1);

  a.leave('z');
  a.leave('z'); // twice: a no-op
  await onB.until((v) => v.some((e) => e.kind === 'offline'));
  t.deepEqual(
    (await answerOf(b.list())).map((p) => p.name),
    ['10.0.0.1:1', '10.0.0.2:2'],
  );
  // The name is free again, across nodes.
  t.is(await answerOf(b.rename('y', 'ZOE')), 'ok');
  t.deepEqual(
    onB.values.filter((e) => e.kind === 'offline'),
    [{ kind: 'offline', addr: '10.0.0.1:3', name: 'zoe' }],
  );
});

it(title('two nodes racing for one name: exactly one wins, every time'), async (t) => {
  const [a, b] = await cluster(t, 2);
  await answerOf(a.join({ id: 'x', addr: '10.0.0.1:1' }));
  await answerOf(b.join({ id: 'y', addr: '10.0.0.2:2' }));
  for (let round = 0; round < 30; round++) {
    const [ra, rb] = await Promise.all([answerOf(a.rename('x', `Name${round}`)), answerOf(b.rename('y', `name${round}`))]);
    t.deepEqual([ra, rb].sort(), ['ok', 'taken'], `round ${round}`);
    const names = (await answerOf(a.list())).map((p) => p.name);
    t.is(names.filter((n) => n.toLowerCase() === `name${round}`).length, 1, `round ${round}: ${names.join(',')}`);
  }
  const xName = (await answerOf(b.list())).find((p) => p.addr === '10.0.0.1:1')?.name ?? '';
  t.is(await answerOf(b.rename('y', xName.toUpperCase())), 'taken', `${xName}, held on another node, in another case`);
});

it(title('private messages are routed to the node holding the name, both ways; unknown names are refused'), async (t) => {
  const [a, b] = await cluster(t, 2);
  const inboxX = new Recorder(a.inbox('x'));
  const inboxY = new Recorder(b.inbox('y'));
  t.teardown(() => (inboxX.stop(), inboxY.stop()));
  await answerOf(a.join({ id: 'x', addr: '10.0.0.1:1' }));
  await answerOf(b.join({ id: 'y', addr: '10.0.0.2:2' }));
  t.is(await answerOf(a.rename('x', 'alice')), 'ok');
  t.is(await answerOf(b.rename('y', 'bob')), 'ok');
  t.true(await answerOf(a.whisper('x', 'BOB', 'hi|bob')));
  t.true(await answerOf(b.whisper('y', 'alice', 'hi alice')));
  await inboxY.until((v) => v.length >= 1);
  await inboxX.until((v) => v.length >= 1);
  t.deepEqual(inboxY.values, [{ kind: 'private', from: 'alice', text: 'hi|bob' }]);
  t.deepEqual(inboxX.values, [{ kind: 'private', from: 'bob', text: 'hi alice' }]);
  t.false(await answerOf(a.whisper('x', 'nobody', 'hi')));
  t.false(await answerOf(a.whisper('x', 'bobby', 'hi')));
});

it(title('claim (a login) takes a name from its holder on any node: the holder gets its address back and is told, everyone sees both names'), async (t) => {
  const [a, b, c] = await cluster(t, 3);
  const inboxX = new Recorder(a.inbox('x'));
  const inboxW = new Recorder(a.inbox('w'));
  const inboxY = new Recorder(b.inbox('y'));
  t.teardown(() => (inboxX.stop(), inboxW.stop(), inboxY.stop()));
  await answerOf(a.join({ id: 'x', addr: '10.0.0.1:1' }));
  await answerOf(a.join({ id: 'w', addr: '10.0.0.1:2' }));
  await answerOf(b.join({ id: 'y', addr: '10.0.0.2:2' }));
  t.is(await answerOf(a.rename('x', 'alice')), 'ok');

  // Held on another node: taken in one step.
  t.is(await answerOf(b.claim('y', 'Alice')), 'ok');
  await inboxX.until((v) => v.length >= 1, 5000, 'x told on its own node');
  t.deepEqual(inboxX.values, [{ kind: 'reclaimed', name: 'alice', addr: '10.0.0.1:1' }]);
  const names = async (hub: RedisHub) => Object.fromEntries((await answerOf(hub.list())).map((p) => [p.addr, p.name]));
  const expected = { '10.0.0.1:1': '10.0.0.1:1', '10.0.0.1:2': '10.0.0.1:2', '10.0.0.2:2': 'Alice' };
  for (const hub of [a, b, c]) t.deepEqual(await names(hub), expected);
  await answerOf(c.join({ id: 'z', addr: '10.0.0.3:3' }));
  t.true(await answerOf(c.whisper('z', 'ALICE', 'to the new holder')));
  await inboxY.until((v) => v.length >= 1, 5000, 'the private line reaches the new holder');
  t.deepEqual(inboxY.values, [{ kind: 'private', from: '10.0.0.3:3', text: 'to the new holder' }]);
  t.is(await answerOf(a.rename('x', 'alice')), 'taken', 'the old holder cannot take it back by renaming');

  // Held on the claimer's own node: taken, and the holder told at once.
  t.is(await answerOf(a.rename('w', 'wendy')), 'ok');
  t.is(await answerOf(a.claim('x', 'WENDY')), 'ok');
  t.deepEqual(inboxW.values, [{ kind: 'reclaimed', name: 'wendy', addr: '10.0.0.1:2' }]);
  t.is((await names(b))['10.0.0.1:2'], '10.0.0.1:2');
  t.is((await names(b))['10.0.0.1:1'], 'WENDY');
  // The holder's own node hears of it on its inbox channel too: told once, not twice.
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.is(inboxW.values.length, 1);
  t.is(inboxX.values.length, 1);
});

it(title('two logins to one name on one node, a round trip apart: the later one holds it here and in Redis, the earlier one is told once'), async (t) => {
  const [a, b] = await cluster(t, 2);
  const inbox1 = new Recorder(a.inbox('y1'));
  const inbox2 = new Recorder(a.inbox('y2'));
  t.teardown(() => (inbox1.stop(), inbox2.stop()));
  await answerOf(a.join({ id: 'y1', addr: '10.0.0.1:1' }));
  await answerOf(a.join({ id: 'y2', addr: '10.0.0.1:2' }));
  // Both asked before either answer: the holder that matters is the one when the answer comes.
  t.deepEqual(await Promise.all([answerOf(a.claim('y1', 'alice')), answerOf(a.claim('y2', 'alice'))]), ['ok', 'ok']);
  const names = async (hub: RedisHub) => Object.fromEntries((await answerOf(hub.list())).map((p) => [p.addr, p.name]));
  t.deepEqual(await names(b), { '10.0.0.1:1': '10.0.0.1:1', '10.0.0.1:2': 'alice' }, 'Redis');
  // This node's own view: a private line from here goes by it, one from the other node by Redis's.
  await answerOf(b.join({ id: 'z', addr: '10.0.0.2:2' }));
  t.true(await answerOf(a.whisper('y1', 'alice', 'from this node')));
  t.true(await answerOf(b.whisper('z', 'alice', 'from the other node')));
  await inbox2.until((v) => v.length >= 2, 5000, 'both private lines');
  await new Promise((resolve) => setTimeout(resolve, 200));
  t.deepEqual(inbox1.values, [{ kind: 'reclaimed', name: 'alice', addr: '10.0.0.1:1' }]);
  t.deepEqual(inbox2.values.map((e) => (e.kind === 'private' ? e.text : e.kind)).sort(), ['from the other node', 'from this node']);
});

it(title('a dead node (lease expired) is reaped once: its users announced offline once on every node, names freed'), async (t) => {
  const nodeTimeoutMs = 600;
  const [a, b, c] = await cluster(t, 3, { nodeTimeoutMs });
  const recorders = [a, b, c].map((hub) => recordEvents(hub));
  // A node that registered, took a name, and then vanished (as after kill -9): written with
  // the hub's own scripts on a raw connection whose lease is never renewed.
  const raw = new Redis(t.context.redis.url);
  t.teardown(() => raw.disconnect());
  const prefix = a.prefix;
  // Lease first: a node listed without one is dead, and the live nodes reap on every beat.
  await raw.set(`${prefix}:alive:ghost`, '1', 'PX', nodeTimeoutMs);
  await raw.sadd(`${prefix}:nodes`, 'ghost');
  for (const [id, name] of [
    ['g1', 'casper'],
    ['g2', 'slimer'],
  ]) {
    const record = JSON.stringify({ a: `10.9.9.9:${id}`, n: name, k: name, node: 'ghost' });
    const event = JSON.stringify({ o: 'ghost', e: { kind: 'online', addr: `10.9.9.9:${id}`, name } });
    await JOIN.run(raw, [prefix, 'ghost', `ghost/${id}`, record, name, event, 1000]);
  }
  await answerOf(a.join({ id: 'x', addr: '10.0.0.1:1' }));
  t.is(await answerOf(a.rename('x', 'casper')), 'taken', 'the ghost holds the name while its lease runs');
  const started = Date.now();
  for (const recorder of recorders) {
    await recorder.until((v) => v.filter((e) => e.kind === 'offline').length >= 2, 3000, 'the ghost users offline');
  }
  const elapsed = Date.now() - started;
  t.true(elapsed < nodeTimeoutMs * 2 + 500, `reaped within the bound (${elapsed} ms)`);
  // One more heartbeat round on every node: nobody announces them again.
  await new Promise((resolve) => setTimeout(resolve, nodeTimeoutMs)); // waiting for the absence of an event: a bounded wait is the only way
  for (const recorder of recorders) {
    t.deepEqual(
      recorder.values.filter((e) => e.kind === 'offline'),
      [
        { kind: 'offline', addr: '10.9.9.9:g1', name: 'casper' },
        { kind: 'offline', addr: '10.9.9.9:g2', name: 'slimer' },
      ],
    );
  }
  t.is(await answerOf(a.rename('x', 'casper')), 'ok', 'the name was freed');
  t.deepEqual(
    (await answerOf(c.list())).map((p) => p.name),
    ['casper'],
  );
});

it(title('a node just linked waits one node timeout before reaping: the others may still be re-registering'), async (t) => {
  const nodeTimeoutMs = 900;
  const prefix = `grace-${process.pid}`;
  const raw = new Redis(t.context.redis.url);
  t.teardown(() => raw.disconnect());
  // A node whose lease has already run out, as every lease has after Redis was paused.
  await raw.sadd(`${prefix}:nodes`, 'late');
  const record = JSON.stringify({ a: '10.9.9.9:1', n: 'lately', k: 'lately', node: 'late' });
  await JOIN.run(raw, [prefix, 'late', 'late/1', record, 'lately', '{}', 1000]);
  const a = new RedisHub({ url: t.context.redis.url, prefix, nodeId: 'a', nodeTimeoutMs, reconnectMs: 50 });
  t.teardown(() => a.close());
  const onA = recordEvents(a);
  const linked = Date.now();
  await a.start();
  await onA.until((v) => v.some((e) => e.kind === 'offline'), 3000, 'the late node reaped');
  const waited = Date.now() - linked;
  t.true(waited >= nodeTimeoutMs - 50, `reaped ${waited} ms after linking`);
  t.true(waited < nodeTimeoutMs * 2 + 500, `reaped ${waited} ms after linking`);
});

it(title('a node that closes announces its remaining users offline to the others'), async (t) => {
  const [a, b] = await cluster(t, 2);
  const onA = recordEvents(a);
  await answerOf(b.join({ id: 'y', addr: '10.0.0.2:2' }));
  let completed = false;
  const watching = b.events$.subscribe({ complete: () => (completed = true) });
  t.teardown(() => watching.unsubscribe());
  const closing = b.close();
  t.true(completed, "its own events$ completes at once: its users' leaves during a shutdown are not broadcast to each other");
  t.is(b.linkState, 'closed');
  await closing;
  await onA.until((v) => v.some((e) => e.kind === 'offline'));
  t.deepEqual(onA.values, [
    { kind: 'online', addr: '10.0.0.2:2', name: '10.0.0.2:2' },
    { kind: 'offline', addr: '10.0.0.2:2', name: '10.0.0.2:2' },
  ]);
  t.deepEqual(await answerOf(a.list()), []);
});

it(
  title('join answers with the presence itself when not linked, with an Observable when Redis is asked; either way it takes effect at the call'),
  async (t) => {
    const [a, b] = await cluster(t, 2);
    const onB = recordEvents(b);
    const joined$ = a.join({ id: 'x', addr: '10.0.0.1:1' });
    t.true(isObservable(joined$), 'linked: an Observable of the JOIN script');
    // Nobody subscribed to that answer, and the join happened all the same.
    await onB.until((v) => v.some((e) => e.kind === 'online'), 3000, "x's join on b");
    t.deepEqual(await answerOf(joined$), { id: 'x', addr: '10.0.0.1:1', name: '10.0.0.1:1' });
    t.deepEqual(
      (await answerOf(b.list())).map((p) => p.id),
      ['n0/x'],
    );

    const alone = new RedisHub({ url: t.context.redis.url, prefix: `alone-${process.pid}`, reconnectMs: 50 }); // never started
    t.teardown(() => alone.close());
    const onAlone = recordEvents(alone);
    t.is(alone.linkState, 'connecting');
    t.deepEqual(alone.join({ id: 'y', addr: '10.0.0.2:2' }), { id: 'y', addr: '10.0.0.2:2', name: '10.0.0.2:2' }, 'not linked: the value itself');
    t.deepEqual(onAlone.values, [{ kind: 'online', addr: '10.0.0.2:2', name: '10.0.0.2:2' }], 'announced here at once');
    alone.leave('y');
    t.deepEqual(
      onAlone.values.map((e) => e.kind),
      ['online', 'offline'],
      'leave: done here at once',
    );
  },
);

it(title('start() rejects when Redis cannot be reached, and close() then ends cleanly'), async (t) => {
  const redis = await startRedis();
  const url = redis.url;
  await redis.stop(); // a port where nothing listens now
  const hub = new RedisHub({ url, reconnectMs: 50 });
  await t.throwsAsync(hub.start());
  t.false(hub.clustered);
  await hub.close();
});
