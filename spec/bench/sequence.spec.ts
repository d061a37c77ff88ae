import test from 'ava';
import { SequenceTracker } from '../../bench/sequence';

test('in order: nothing lost, nothing reordered', (t) => {
  const s = new SequenceTracker();
  for (let i = 0; i < 100; i++) t.is(s.receive(i), 'new');
  t.is(s.distinct, 100);
  t.is(s.lost(100), 0);
  t.is(s.reordered, 0);
  t.is(s.duplicates, 0);
});

test('gaps are lost; what was not sent is not lost', (t) => {
  const s = new SequenceTracker();
  for (const i of [0, 1, 3, 7, 8]) s.receive(i);
  t.is(s.lost(10), 5); // 2, 4, 5, 6, 9
  t.is(s.lost(4), 1); // 2
  t.is(s.lost(0), 0);
});

test('a late arrival is reordered, not lost', (t) => {
  const s = new SequenceTracker();
  t.is(s.receive(0), 'new');
  t.is(s.receive(2), 'new');
  t.is(s.receive(1), 'reordered');
  t.is(s.reordered, 1);
  t.is(s.lost(3), 0);
});

test('a second copy is a duplicate and counts once', (t) => {
  const s = new SequenceTracker();
  s.receive(5);
  t.is(s.receive(5), 'duplicate');
  t.is(s.distinct, 1);
  t.is(s.duplicates, 1);
  t.is(s.lost(6), 5);
});

test('grows past its first allocation', (t) => {
  const s = new SequenceTracker();
  s.receive(100_000);
  t.true(s.has(100_000));
  t.false(s.has(99_999));
  t.is(s.lost(100_001), 100_000);
});

test('rejects a nonsense sequence number', (t) => {
  t.throws(() => new SequenceTracker().receive(-1), { instanceOf: RangeError });
  t.throws(() => new SequenceTracker().receive(1.5), { instanceOf: RangeError });
});
