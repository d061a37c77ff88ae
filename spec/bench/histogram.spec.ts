import test from 'ava';
import fc from 'fast-check';
import { Histogram, bucketHigh, bucketLow, bucketOf, exactPercentile } from '../../bench/histogram';

test('exact below 128: each value is its own bucket', (t) => {
  for (let v = 0; v < 128; v++) {
    t.is(bucketOf(v), v);
    t.is(bucketLow(v), v);
    t.is(bucketHigh(v), v);
  }
});

test('every value lies in its bucket, and buckets are within 1/64 of their values', (t) => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 2 ** 40 }), (v) => {
      const b = bucketOf(v);
      return bucketLow(b) <= v && v <= bucketHigh(b) && bucketHigh(b) - bucketLow(b) <= Math.max(0, v / 64);
    }),
  );
  t.pass();
});

test('buckets are contiguous and increasing', (t) => {
  for (let b = 0; b < 1000; b++) t.is(bucketHigh(b) + 1, bucketLow(b + 1), `bucket ${b}`);
});

test('exactPercentile is nearest-rank', (t) => {
  const sorted = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  t.is(exactPercentile(sorted, 50), 5);
  t.is(exactPercentile(sorted, 90), 9);
  t.is(exactPercentile(sorted, 99), 10);
  t.is(exactPercentile(sorted, 0), 1);
  t.is(exactPercentile(sorted, 100), 10);
  t.true(Number.isNaN(exactPercentile([], 50)));
});

test('histogram percentiles are within 1% of the exact ones', (t) => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 10_000_000 }), { minLength: 1, maxLength: 2000 }), fc.constantFrom(50, 90, 99, 100), (values, p) => {
      const h = new Histogram();
      for (const v of values) h.record(v);
      const exact = exactPercentile(
        [...values].sort((a, b) => a - b),
        p,
      );
      return Math.abs(h.percentile(p) - exact) <= Math.max(1, exact / 100);
    }),
  );
  t.pass();
});

test('summary keeps the exact min, max and mean', (t) => {
  const h = new Histogram();
  for (const v of [300, 100, 200]) h.record(v);
  const s = h.summary();
  t.is(s.count, 3);
  t.is(s.min, 100);
  t.is(s.max, 300);
  t.is(s.mean, 200);
  t.true(Math.abs(s.p50 - 200) <= 2, `p50 ${s.p50}`);
});

test('merging two histograms equals recording everything in one', (t) => {
  const a = new Histogram();
  const b = new Histogram();
  const all = new Histogram();
  for (let i = 0; i < 500; i++) {
    const v = (i * 7919) % 100_000;
    (i % 2 ? a : b).record(v);
    all.record(v);
  }
  const merged = new Histogram();
  merged.merge(a.data());
  merged.merge(b.data());
  t.deepEqual(merged.summary(), all.summary());
});

test('an empty histogram has no percentiles', (t) => {
  t.true(Number.isNaN(new Histogram().percentile(50)));
});
