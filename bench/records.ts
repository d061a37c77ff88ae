/**
 * What the generator sends and how it reads it back. Each message text carries a token
 * `@SENDER.SEQ.MICROS:` then `x` padding and a closing `!`, so a receiver can tell who sent
 * it, which one it was, when, and whether it arrived whole: even inside a line the server
 * mangled (the reference glues lines it reads together and drops private messages' `\n`).
 */

/** Microseconds on the process-wide monotonic clock (the same in every worker thread). */
export function nowMicros(): number {
  const [s, ns] = process.hrtime();
  return s * 1e6 + Math.floor(ns / 1000);
}

/** The text of message `seq` from `sender`, `size` characters long (longer if the token needs it). */
export function messageText(sender: number, seq: number, sentMicros: number, size: number): string {
  const head = `@${sender}.${seq}.${Math.floor(sentMicros)}:`;
  return head + 'x'.repeat(Math.max(0, size - head.length - 1)) + '!';
}

export interface Token {
  readonly sender: number;
  readonly seq: number;
  readonly sentMicros: number;
  /** Index of the `@` in the scanned string. */
  readonly start: number;
  /** Index just past the header's `:`. */
  readonly headEnd: number;
  /** Index just past the closing `!`, or -1 when the padding or the `!` is missing (cut). */
  readonly end: number;
}

/** Every token header in `s`, each with where its text ends (if it ends whole). */
export function scanTokens(s: string): Token[] {
  const found: Token[] = [];
  let at = s.indexOf('@');
  while (at !== -1) {
    // @SENDER.SEQ.MICROS: three runs of digits, parsed in place (this runs for every line received).
    const fields = [0, 0, 0];
    let i = at + 1;
    let field = 0;
    let ok = false;
    for (; field < 3; field++) {
      const first = i;
      let v = 0;
      for (let c = s.charCodeAt(i); c >= 48 && c <= 57; c = s.charCodeAt(++i)) v = v * 10 + (c - 48);
      if (i === first) break;
      fields[field] = v;
      const sep = s.charCodeAt(i);
      if (field < 2 ? sep !== 46 : sep !== 58) break;
      i++;
      if (field === 2) ok = true;
    }
    if (ok) {
      const headEnd = i;
      while (s.charCodeAt(i) === 120) i++;
      const end = s.charCodeAt(i) === 33 ? i + 1 : -1;
      found.push({ sender: fields[0], seq: fields[1], sentMicros: fields[2], start: at, headEnd, end });
      at = s.indexOf('@', i);
    } else {
      at = s.indexOf('@', at + 1);
    }
  }
  return found;
}

/**
 * Whether a received line is exactly one whole message after a prefix: `[addr]name:` for a
 * broadcast (any prefix of that shape), or exactly `prefix` when one is given (`NAME : `).
 */
export function wellFormed(line: string, tokens: readonly Token[], size: number, prefix?: string): boolean {
  if (tokens.length !== 1) return false;
  const t = tokens[0];
  // The length `messageText` gives: `size`, or the header and `!` when they alone are longer.
  if (t.end !== line.length || t.end - t.start !== Math.max(size, t.headEnd - t.start + 1)) return false;
  if (prefix !== undefined) return t.start === prefix.length && line.startsWith(prefix);
  const close = line.indexOf(']');
  return line.charCodeAt(0) === 91 && close > 0 && close < t.start && line.charCodeAt(t.start - 1) === 58;
}

/**
 * Splits a stream of text chunks into lines (without `\n`). `takeUnterminated` hands over a
 * tail that ends like a message (`!`) though its `\n` never came: the reference sends private
 * messages that way.
 */
export class LineSplitter {
  private tail = '';

  push(chunk: string): string[] {
    const text = this.tail + chunk;
    const lines: string[] = [];
    let start = 0;
    let lf = text.indexOf('\n');
    while (lf !== -1) {
      lines.push(text.slice(start, lf));
      start = lf + 1;
      lf = text.indexOf('\n', start);
    }
    this.tail = start === 0 ? text : text.slice(start);
    return lines;
  }

  takeUnterminated(): string | undefined {
    if (this.tail.length === 0 || this.tail.charCodeAt(this.tail.length - 1) !== 33 || !this.tail.includes('@')) return undefined;
    const line = this.tail;
    this.tail = '';
    return line;
  }

  get pending(): number {
    return this.tail.length;
  }
}

/** How many `\n` a chunk holds. */
export function countLines(chunk: string): number {
  let n = 0;
  let at = chunk.indexOf('\n');
  while (at !== -1) {
    n++;
    at = chunk.indexOf('\n', at + 1);
  }
  return n;
}
