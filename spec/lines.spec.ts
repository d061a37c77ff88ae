import test from 'ava';
import fc from 'fast-check';
import { from, lastValueFrom, toArray } from 'rxjs';
import { Framed, splitLines, TOO_LONG } from '../lib/lines';
import { marbles } from './helpers/marbles';

const b = (s: string | number[]) => (typeof s === 'string' ? Buffer.from(s, 'utf8') : Buffer.from(s));
const framed = (chunks: Buffer[], max = 4096): Promise<Framed[]> => lastValueFrom(from(chunks).pipe(splitLines(max), toArray()));

test('a line split across chunks is emitted whole, when its newline arrives', (t) => {
  marbles(t).run(({ cold, expectObservable }) => {
    const bytes = cold('-a-b-c-|', { a: b('he'), b: b('llo\nwo'), c: b('rld\r\n') });
    expectObservable(bytes.pipe(splitLines(100))).toBe('---x-y-|', { x: 'hello', y: 'world' });
  });
});

test('two lines in one chunk are two lines, in order', async (t) => {
  t.deepEqual(await framed([b('who\nhi there\n')]), ['who', 'hi there']);
});

test('CRLF and LF endings give the same line; a lone CR mid-line stays for the sanitiser', async (t) => {
  t.deepEqual(await framed([b('a\r\nb\nc\rd\n')]), ['a', 'b', 'c\rd']);
});

test('a CRLF split between chunks still loses its CR', async (t) => {
  t.deepEqual(await framed([b('abc\r'), b('\n')], 3), ['abc']);
});

test('a UTF-8 character split across chunks survives', async (t) => {
  const bytes = b('世界\n');
  t.deepEqual(await framed([bytes.subarray(0, 1), bytes.subarray(1, 4), bytes.subarray(4)]), ['世界']);
});

test('invalid UTF-8 becomes U+FFFD, not relayed raw', async (t) => {
  t.deepEqual(await framed([b([0x61, 0xff, 0xfe, 0x62, 0x0a])]), ['a\ufffd\ufffdb']);
});

test('an empty line is an empty string', async (t) => {
  t.deepEqual(await framed([b('\n\r\n')]), ['', '']);
});

test('an unterminated last line is emitted at completion', async (t) => {
  t.deepEqual(await framed([b('a\nlast')]), ['a', 'last']);
});

test('a line over the limit is reported once as TOO_LONG and the next line is intact', async (t) => {
  t.deepEqual(await framed([b('12345\nok\n')], 4), [TOO_LONG, 'ok']);
  t.deepEqual(await framed([b('123'), b('45'), b('678'), b('9\nok\n')], 4), [TOO_LONG, 'ok']);
  t.deepEqual(await framed([b('1234\n')], 4), ['1234']);
});

test('TOO_LONG is emitted as soon as the limit is passed, before the line ends', (t) => {
  marbles(t).run(({ cold, expectObservable }) => {
    const bytes = cold('-a-b-c-|', { a: b('123'), b: b('456'), c: b('7\nok\n') });
    expectObservable(bytes.pipe(splitLines(4))).toBe('---x-y-|', { x: TOO_LONG, y: 'ok' });
  });
});

test('an over-long unterminated line is not emitted at completion', async (t) => {
  t.deepEqual(await framed([b('123456')], 4), [TOO_LONG]);
});

test('rejects a non-positive limit', (t) => {
  t.throws(() => splitLines(0), { instanceOf: RangeError });
});

// Properties: any chunking of any byte sequence yields the lines of the whole.
const chunked = fc.tuple(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(300), { maxLength: 20 })).map(([bytes, cuts]) => {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((x, y) => x - y);
  const chunks: Buffer[] = [];
  let at = 0;
  for (const p of [...points, bytes.length]) {
    chunks.push(Buffer.from(bytes.subarray(at, p)));
    at = p;
  }
  return { whole: Buffer.from(bytes), chunks };
});

test('property: any chunking yields the same lines as the whole', async (t) => {
  await fc.assert(
    fc.asyncProperty(chunked, fc.integer({ min: 1, max: 64 }), async ({ whole, chunks }, max) => {
      t.deepEqual(await framed(chunks, max), await framed([whole], max));
    }),
    { numRuns: 300 },
  );
});

test('property: no emitted line exceeds the limit, and none contains a newline', async (t) => {
  await fc.assert(
    fc.asyncProperty(chunked, fc.integer({ min: 1, max: 64 }), async ({ chunks }, max) => {
      for (const line of await framed(chunks, max)) {
        if (line === TOO_LONG) continue;
        t.true(Buffer.byteLength(line.replace(/\ufffd/g, '?')) <= max, `line of ${Buffer.byteLength(line)} bytes`);
        t.false(line.includes('\n'));
      }
    }),
    { numRuns: 300 },
  );
});
