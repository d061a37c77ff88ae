/**
 * RedisStreamLog against a real redis-server: `history|` and `since|` read the cluster's
 * stream on any node (the ids users saw are the stream's), with the MessageLog contract's
 * known / unknown / truncated answers and retention; and the outage buffer's bound.
 */
import test, { ExecutionContext } from 'ava';
import { Redis } from 'ioredis';
import { isObservable } from 'rxjs';
import { answerOf } from '../../lib/hub';
import type { Event } from '../../lib/protocol';
import { RedisHub, RedisHubOptions } from '../../lib/redis/hub';
import type { After, Stamped } from '../../lib/store/log';
import { HAVE_REDIS, NO_REDIS, RedisServer, startRedis } from '../helpers/redis';
import { Recorder, recordEvents } from '../redis/recorder';

const it = HAVE_REDIS ? test.serial : test.skip;
const title = (name: string) => (HAVE_REDIS ? name : `${name} [${NO_REDIS}]`);

async function cluster(t: ExecutionContext, redis: RedisServer, n: number, options: Partial<RedisHubOptions> = {}): Promise<RedisHub[]> {
  const hubs: RedisHub[] = [];
  for (let i = 0; i < n; i++) {
    const hub = new RedisHub({ url: redis.url, nodeId: `n${i}`, reconnectMs: 50, ...options });
    t.teardown(() => hub.close());
    await hub.start();
    hubs.push(hub);
  }
  return hubs;
}

const texts = (events: readonly Stamped[]) => events.map((s) => (s.event.kind === 'say' ? s.event.text : s.event.kind));
const saysOf = (v: readonly Event[]) => v.filter((e): e is Extract<Event, { kind: 'say' }> => e.kind === 'say');

it(title('history and since| read the stream on any node, with the ids every node delivered'), async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const [a, b] = await cluster(t, redis, 2);
  const onB = new Recorder(b.events$);
  await answerOf(a.join({ id: 'x', addr: '10.0.0.1:1' }));
  for (let i = 0; i < 10; i++) a.say('x', `m${i}`);
  await onB.until((v) => saysOf(v).length === 10, 5000, 'the lines on b');
  const delivered = saysOf(onB.values).map((e) => e.stamp?.id);

  const last$ = b.log.last(3);
  t.true(isObservable(last$), 'linked: an Observable (Redis is asked)');
  const last = await answerOf(last$);
  t.deepEqual(texts(last), ['m7', 'm8', 'm9']);
  t.deepEqual(
    last.map((s) => s.id),
    delivered.slice(7),
    'the ids users got are the stream ids',
  );
  t.deepEqual(texts(await answerOf(a.log.last(100))), ['online', ...Array.from({ length: 10 }, (_, i) => `m${i}`)], 'the same on the other node');

  const after = async (id: string, limit: number): Promise<After> => answerOf(a.log.after(id, limit));
  const m4 = await after(delivered[4] ?? '', 100);
  t.true(m4.known);
  t.deepEqual(texts(m4.events), ['m5', 'm6', 'm7', 'm8', 'm9']);
  const page = await after(delivered[0] ?? '', 3);
  t.deepEqual(
    { known: page.known, truncated: page.known && page.truncated, texts: texts(page.events) },
    { known: true, truncated: true, texts: ['m7', 'm8', 'm9'] },
  );
  const end = await after(delivered[9] ?? '', 3);
  t.deepEqual(end, { known: true, events: [], truncated: false });
  const bad = await after('not-an-id', 2);
  t.deepEqual({ known: bad.known, texts: texts(bad.events) }, { known: false, texts: ['m8', 'm9'] });
  const future = await after(`${Date.now() + 86_400_000}-0`, 2);
  t.false(future.known, 'an id newer than anything given out');
  // A private message's id (given out by the node's clock, never stored) is known.
  const stamped = a.log.stamp({ kind: 'private', from: 'x', text: 'p' });
  t.deepEqual(await after(stamped.id, 5), { known: true, events: [], truncated: false });
});

it(title('retention: the stream is trimmed to about --history-max-lines, and since| an id before the trim is unknown'), async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const [a] = await cluster(t, redis, 1, { maxLines: 20 });
  const onA = recordEvents(a);
  await answerOf(a.join({ id: 'x', addr: '10.0.0.1:1' }));
  // In rounds that the node reads before the next: a burst larger than the bound would be
  // trimmed before a node read it (the README says so: a node that falls that far behind misses lines).
  for (let round = 0; round < 40; round++) {
    for (let i = 0; i < 10; i++) a.say('x', `m${round * 10 + i}`);
    await onA.until((v) => saysOf(v).length === round * 10 + 10, 5000);
  }
  const admin = new Redis(redis.url);
  t.teardown(() => admin.disconnect());
  const length = await admin.xlen('rx-im:log');
  // MAXLEN ~ trims whole nodes of the stream (100 entries by default): about, never below.
  t.true(length >= 20 && length <= 20 + 100, `${length} entries kept`);
  const [[first]] = (await admin.xrange('rx-im:log', '-', '+', 'COUNT', 1)) as [string, string[]][];
  const [[second]] = (await admin.xrange('rx-im:log', `(${first}`, '+', 'COUNT', 1)) as [string, string[]][];
  const gone = await answerOf(a.log.after('1-0', 5));
  t.false(gone.known, 'ids before the trim: a gap, so unknown');
  t.deepEqual(texts(gone.events), ['m395', 'm396', 'm397', 'm398', 'm399']);
  const kept = await answerOf(a.log.after(first, 1000));
  t.true(kept.known);
  t.is(kept.events[0]?.id, second);
});

it(title('not linked, the log answers at once and empty; the outage buffer keeps the newest lines, the rest counted in the log'), async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const logs: string[] = [];
  const [a, b] = await cluster(t, redis, 2, { outageBuffer: 5, log: (line) => logs.push(line) });
  const onB = new Recorder(b.events$);
  const onA = recordEvents(a);
  await answerOf(a.join({ id: 'x', addr: '10.0.0.1:1' }));
  await onB.until((v) => v.some((e) => e.kind === 'online'));
  await redis.stop();
  await onA.until((v) => v.some((e) => e.kind === 'cluster'), 3000, 'degraded');
  t.deepEqual(a.log.last(5), []);
  t.deepEqual(a.log.after('1-0', 5), { known: false, events: [] });
  for (let i = 0; i < 8; i++) a.say('x', `m${i}`);
  t.deepEqual(
    saysOf(onA.values).map((e) => e.text),
    ['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7'],
    'its own users see every line at once',
  );
  t.is(a.backlog, 5);
  t.true(
    logs.some((l) => l.startsWith('redis: outage buffer full (5 events)')),
    logs.join('\n'),
  );
  await redis.restart();
  await onB.until((v) => saysOf(v).length === 5, 5000, 'the buffered lines on b');
  t.deepEqual(
    saysOf(onB.values).map((e) => e.text),
    ['m3', 'm4', 'm5', 'm6', 'm7'],
  );
  t.true(
    logs.some((l) => l.includes('3 event(s) said here during the outage were dropped')),
    logs.join('\n'),
  );
  // Tagged with the time they were said, not when they reached the stream.
  for (const e of saysOf(onB.values)) t.true(Number(e.stamp?.id.split('-')[0]) >= (e.stamp?.time ?? Infinity), JSON.stringify(e.stamp));
  t.is(a.backlog, 0);
});

it(title('Redis restarted empty: since| an id from before is unknown (what the stream held is gone), after it known'), async (t) => {
  const redis = await startRedis();
  t.teardown(() => redis.stop());
  const [a] = await cluster(t, redis, 1);
  const onA = new Recorder(a.events$);
  await answerOf(a.join({ id: 'x', addr: '10.0.0.1:1' }));
  a.say('x', 'before');
  await onA.until((v) => saysOf(v).length === 1);
  const before = saysOf(onA.values)[0].stamp?.id ?? '';
  await redis.restart();
  await onA.until((v) => v.some((e) => e.kind === 'cluster' && e.state === 'restored'), 5000, 'the link back');
  a.say('x', 'after');
  await onA.until((v) => saysOf(v).length === 2);
  const lost = await answerOf(a.log.after(before, 10));
  t.false(lost.known, 'a gap: the line said before the restart is gone from the stream');
  t.deepEqual(texts(lost.events), ['after']);
  const after = saysOf(onA.values)[1].stamp?.id ?? '';
  t.deepEqual(await answerOf(a.log.after(after, 10)), { known: true, events: [], truncated: false });
});
