import test from 'ava';
import fc from 'fast-check';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { Observable, from, lastValueFrom, toArray } from 'rxjs';
import { Framed, splitLines, TOO_LONG } from '../lib/lines';
import { socketBytes, socketLines } from '../lib/socket';
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

test('socketLines frames a socket as socketBytes + splitLines does (300 random chunkings, errors included)', (t) => {
  let seed = 7;
  const r = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const pieces = ['a', 'bc', '世界', '\n', '\r\n', '\r', 'xxxxxxxxxx', '|', 'é'];
  for (let run = 0; run < 300; run++) {
    let text = '';
    const n = Math.floor(r() * 30);
    for (let i = 0; i < n; i++) text += pieces[Math.floor(r() * pieces.length)];
    const bytes = Buffer.from(text);
    const chunks: Buffer[] = [];
    for (let at = 0; at < bytes.length;) {
      const size = 1 + Math.floor(r() * 6);
      chunks.push(bytes.subarray(at, at + size));
      at += size;
    }
    const ending = r() < 0.2 ? 'error' : 'end';
    const framed = (lines$: (socket: Socket) => Observable<Framed>): string[] => {
      const socket = new EventEmitter() as unknown as Socket;
      const seen: string[] = [];
      const subscription = lines$(socket).subscribe({
        next: (line) => seen.push(line === TOO_LONG ? '(too long)' : JSON.stringify(line)),
        error: (err: unknown) => seen.push(`error ${(err as Error).message}`),
        complete: () => seen.push('complete'),
      });
      for (const chunk of chunks) socket.emit('data', chunk);
      if (ending === 'error') socket.emit('error', new Error('reset'));
      else socket.emit('end');
      socket.emit('close');
      t.is(socket.listenerCount('data'), 0, 'its listeners are gone once it ended');
      t.true(subscription.closed);
      return seen;
    };
    t.deepEqual(
      framed((socket) => socketLines(socket, 8)),
      framed((socket) => socketBytes(socket).pipe(splitLines(8))),
      JSON.stringify(text),
    );
  }
});
