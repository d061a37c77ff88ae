/**
 * Framing: bytes -> lines. Holds across any TCP chunking, decodes UTF-8 only once a line
 * is whole (so a character split across chunks survives), accepts CRLF, and never keeps
 * more than `maxLineBytes` of one line in memory.
 */
import type { OperatorFunction } from 'rxjs';
import { operate } from './operate';

/** Emitted in place of a line that passed the limit; the line itself was discarded. */
export const TOO_LONG = Symbol('line too long');
export type Framed = string | typeof TOO_LONG;

const LF = 0x0a;
const CR = 0x0d;

/**
 * Splits a byte stream into lines (without their `\n` or `\r\n`).
 *
 * ```
 * bytes:  --"he"--"llo\nwo"--"rld\r\n"--|
 * lines:  ---------"hello"---"world"----|
 * ```
 *
 * A line longer than `maxLineBytes` is dropped as it streams in and reported once, as
 * `TOO_LONG`, when it passes the limit. An unterminated last line is emitted at completion.
 */
export function splitLines(maxLineBytes: number): OperatorFunction<Uint8Array, Framed> {
  if (!(maxLineBytes > 0)) throw new RangeError(`maxLineBytes must be positive, got ${maxLineBytes}`);
  return operate<Uint8Array, Framed>((subscriber) => {
    let parts: Buffer[] = [];
    let pending = 0; // bytes held in `parts`
    let discarding = false; // inside an over-long line: drop until the next LF

    const emitLine = (tail: Buffer) => {
      const total = pending + tail.length;
      const last = tail.length > 0 ? tail[tail.length - 1] : parts.length > 0 ? parts[parts.length - 1][parts[parts.length - 1].length - 1] : -1;
      // The limit counts the line's content: the CR of a CRLF ending does not count.
      const length = last === CR ? total - 1 : total;
      if (length > maxLineBytes) {
        parts = [];
        pending = 0;
        subscriber.next(TOO_LONG);
        return;
      }
      const line = parts.length === 0 ? tail : Buffer.concat([...parts, tail], total);
      parts = [];
      pending = 0;
      subscriber.next(line.toString('utf8', 0, length));
    };

    return {
      next(chunk) {
        const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        let start = 0;
        while (start <= buf.length && !subscriber.closed) {
          const lf = buf.indexOf(LF, start);
          const end = lf === -1 ? buf.length : lf;
          if (discarding) {
            if (lf === -1) return;
            discarding = false;
          } else if (lf !== -1) {
            emitLine(buf.subarray(start, end));
          } else {
            const rest = end - start;
            if (rest === 0) return;
            // One byte of slack for the CR of a CRLF that may arrive in the next chunk.
            if (pending + rest > maxLineBytes + 1) {
              parts = [];
              pending = 0;
              discarding = true;
              subscriber.next(TOO_LONG);
              return;
            }
            // Copy: the caller may reuse its chunk buffer.
            parts.push(Buffer.from(buf.subarray(start, end)));
            pending += rest;
            return;
          }
          start = lf + 1;
        }
      },
      complete() {
        if (!discarding && pending > 0) emitLine(Buffer.alloc(0));
        subscriber.complete();
      },
    };
  });
}
