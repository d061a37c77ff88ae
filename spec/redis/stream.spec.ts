/**
 * The log stream's pieces that need no Redis: the outage buffer (`Pending`: order, bound,
 * what comes back after a failure) and the stream entry's wire form (`encodeEntry` /
 * `decodeEntry`: checked, sanitised, never thrown).
 */
import test from 'ava';
import { Pending, PendingItem, PendingLine } from '../../lib/redis/stream';
import { decodeEntry, encodeEntry } from '../../lib/redis/wire';

const line = (q: number): PendingLine => ({ kind: 'say', q, event: { kind: 'say', addr: 'a:1', name: 'n', text: `t${q}` }, time: 1000 + q, shown: false });
const qs = (items: readonly PendingItem[]) => items.map((i) => i.q);

test('the outage buffer keeps the order said, and past its bound drops the oldest, counted, telling once', (t) => {
  let told = 0;
  const pending = new Pending(3, () => told++);
  for (let q = 1; q <= 5; q++) pending.add(line(q));
  t.deepEqual(qs(pending.all()), [3, 4, 5]);
  t.is(pending.dropped, 2);
  t.is(told, 1, 'one log line per outage, not one per dropped line');
  pending.add(line(6));
  t.is(told, 1);
  t.is(pending.resetDropped(), 3);
  pending.add(line(7));
  t.is(told, 2, 'a new outage is told again');
});

test('a batch that failed goes back in front of what was said since, in order; a leave stops a batch of lines', (t) => {
  const pending = new Pending(100, () => {});
  for (let q = 1; q <= 4; q++) pending.add(line(q));
  pending.add({ kind: 'leave', q: 5, id: 'x', event: { kind: 'offline', addr: 'a:1', name: 'n' }, shown: false });
  pending.add(line(6));
  const batch = pending.takeLines(3);
  t.deepEqual(qs(batch), [1, 2, 3]);
  pending.add(line(7));
  pending.putBack(batch);
  t.deepEqual(qs(pending.all()), [1, 2, 3, 4, 5, 6, 7]);
  t.deepEqual(qs(pending.takeLines(10)), [1, 2, 3, 4], 'lines up to the leave');
  t.is(pending.peek()?.kind, 'leave');
  t.is(pending.shift()?.q, 5);
  t.deepEqual(qs(pending.takeLines(10)), [6, 7]);
  t.is(pending.size, 0);
});

test('put back over the bound: the oldest go first, whichever they are', (t) => {
  const pending = new Pending(3, () => {});
  for (let q = 1; q <= 3; q++) pending.add(line(q));
  const batch = pending.takeLines(2);
  pending.add(line(4));
  pending.add(line(5));
  pending.putBack(batch);
  t.deepEqual(qs(pending.all()), [3, 4, 5]);
  t.is(pending.dropped, 2);
});

test('a bound below 1 is a programmer error', (t) => {
  t.throws(() => new Pending(0, () => {}), { instanceOf: RangeError });
});

test('a stream entry round-trips with its sequence number, time and flags; its event loses any stamp', (t) => {
  const e = { kind: 'say', addr: '1.2.3.4:5', name: 'bob', text: 'hi|there 世界', stamp: { id: '1-0', time: 1 } } as const;
  t.deepEqual(decodeEntry(encodeEntry({ o: 'n1', q: 7, t: 123, s: true, e })), {
    o: 'n1',
    q: 7,
    t: 123,
    s: true,
    e: { kind: 'say', addr: '1.2.3.4:5', name: 'bob', text: 'hi|there 世界' },
  });
  t.deepEqual(decodeEntry(encodeEntry({ o: 'n1', r: true, e: { kind: 'offline', addr: 'a', name: 'b' } })), {
    o: 'n1',
    r: true,
    e: { kind: 'offline', addr: 'a', name: 'b' },
  });
});

test('malformed entries are dropped, never thrown; bad numbers are ignored; text is sanitised', (t) => {
  for (const bad of [
    '',
    'null',
    '{"o":1,"e":{"kind":"say","addr":"a","name":"b","text":"x"}}',
    '{"o":"n","e":{"kind":"private","addr":"a","name":"b","text":"x"}}',
    '{"o":"n","e":{"kind":"rename","addr":"a","name":"b"}}',
    '{x',
  ]) {
    t.is(decodeEntry(bad), undefined, bad);
  }
  t.deepEqual(decodeEntry('{"o":"n","q":-1,"t":"soon","e":{"kind":"online","addr":"a","name":"b"}}'), { o: 'n', e: { kind: 'online', addr: 'a', name: 'b' } });
  t.deepEqual(decodeEntry(JSON.stringify({ o: 'n', e: { kind: 'say', addr: 'a', name: 'b', text: 'x\u001b[2J' } }))?.e, {
    kind: 'say',
    addr: 'a',
    name: 'b',
    text: 'x\u241b[2J',
  });
});
