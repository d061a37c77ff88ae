/**
 * Framing: bytes -> lines. Holds across any TCP chunking, decodes UTF-8 only once a line
 * is whole (so a character split across chunks survives), accepts CRLF, and never keeps
 * more than `maxLineBytes` of one line in memory.
 */
import type { OperatorFunction, Subscriber } from 'rxjs';
import { type Operation, operate } from './operate';

/** Emitted in place of a line that passed the limit; the line itself was discarded. */
export const TOO_LONG = Symbol('line too long');
export type Framed = string | typeof TOO_LONG;

const LF = 0x0a;
const CR = 0x0d;
const EMPTY = Buffer.alloc(0);

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
  checkMaxLineBytes(maxLineBytes);
  return operate<Uint8Array, Framed>((subscriber) => new LineSplitter(subscriber, maxLineBytes));
}

export function checkMaxLineBytes(maxLineBytes: number): void {
  if (!(maxLineBytes > 0)) throw new RangeError(`maxLineBytes must be positive, got ${maxLineBytes}`);
}

/** One connection's framing: a class, so that every connection shares its methods (no closures of its own). */
export class LineSplitter implements Operation<Uint8Array> {
  private parts: Buffer[] = [];
  private pending = 0; // bytes held in `parts`
  private discarding = false; // inside an over-long line: drop until the next LF

  constructor(
    private readonly out: Subscriber<Framed>,
    private readonly maxLineBytes: number,
  ) {}

  private emitLine(buf: Buffer, start: number, end: number): void {
    if (this.parts.length === 0) {
      // The usual case, a whole line in one chunk: decoded where it lies, no Buffer made for it.
      const length = end > start && buf[end - 1] === CR ? end - start - 1 : end - start;
      if (length > this.maxLineBytes) this.out.next(TOO_LONG);
      else this.out.next(buf.toString('utf8', start, start + length));
      return;
    }
    const tail = buf.subarray(start, end);
    const { parts } = this;
    const total = this.pending + tail.length;
    const last = tail.length > 0 ? tail[tail.length - 1] : parts.length > 0 ? parts[parts.length - 1][parts[parts.length - 1].length - 1] : -1;
    // The limit counts the line's content: the CR of a CRLF ending does not count.
    const length = last === CR ? total - 1 : total;
    this.parts = [];
    this.pending = 0;
    if (length > this.maxLineBytes) {
      this.out.next(TOO_LONG);
      return;
    }
    const line = parts.length === 0 ? tail : Buffer.concat([...parts, tail], total);
    this.out.next(line.toString('utf8', 0, length));
  }

  next(chunk: Uint8Array): void {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let start = 0;
    while (start <= buf.length && !this.out.closed) {
      const lf = buf.indexOf(LF, start);
      const end = lf === -1 ? buf.length : lf;
      if (this.discarding) {
        if (lf === -1) return;
        this.discarding = false;
      } else if (lf !== -1) {
        this.emitLine(buf, start, end);
      } else {
        const rest = end - start;
        if (rest === 0) return;
        // One byte of slack for the CR of a CRLF that may arrive in the next chunk.
        if (this.pending + rest > this.maxLineBytes + 1) {
          this.parts = [];
          this.pending = 0;
          this.discarding = true;
          this.out.next(TOO_LONG);
          return;
        }
        // Copy: the caller may reuse its chunk buffer.
        this.parts.push(Buffer.from(buf.subarray(start, end)));
        this.pending += rest;
        return;
      }
      start = lf + 1;
    }
  }

  complete(): void {
    if (!this.discarding && this.pending > 0) this.emitLine(EMPTY, 0, 0);
    this.out.complete();
  }
}
