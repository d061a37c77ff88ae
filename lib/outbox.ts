/**
 * Render once, encode once, write once per turn: the server's output path, in one place.
 *
 * - Render once: the server renders each hub event to one `Line` shared by all its recipients
 *   (`ChatServer.broadcast$`), not a string per recipient.
 * - Encode once: a `Line` keeps its bytes, made the first time a recipient needs them; every
 *   other recipient gets the same Buffer.
 * - Write once per turn: a peer queues what it is given and asks its server's `Outbox` to flush
 *   it; the outbox flushes every such peer together, once per turn of the event loop (paced, see
 *   `FlushPacing`), so lines from every message read in one turn leave in one write per socket.
 *   Just before it flushes it runs `beforeFlush`: the message log commits the turn's events
 *   there, so nothing reaches a socket that the log does not hold (write-ahead).
 *
 * Each `ChatServer` has its own outbox: two servers in one process share no queue or pacing.
 */
import type { Socket } from 'node:net';
import { sanitize } from './protocol';

/** Where a conversation line stands in the message log. */
export interface Stamp {
  /** Opaque, unique, in log order (`[0-9A-Za-z._-]`). */
  readonly id: string;
  /** ms since the epoch. */
  readonly time: number;
}

/**
 * One line for the wire (without its `\n`), encoded once however many peers it goes to. Every
 * line the server sends is one, so this is the one place outgoing text is made safe: control
 * and bidi characters in it (a name echoed in a notice, say) are shown as visible symbols.
 */
export class Line {
  readonly text: string;
  private bytes: Buffer | undefined;
  private withTags: Line | undefined;

  /** `stamp`: the log's id and time of a conversation line (joins, leaves, messages). */
  constructor(
    text: string,
    readonly stamp?: Stamp,
    private readonly isTagged = false,
  ) {
    this.text = sanitize(text);
  }

  toString(): string {
    return this.text;
  }

  /** The UTF-8 bytes with the `\n`, made once. */
  get encoded(): Buffer {
    return (this.bytes ??= Buffer.from(this.text + '\n', 'utf8'));
  }

  /**
   * The line as a `cap|tags` client gets it, made once: `@id=ID;time=TIME ` and the line byte
   * for byte. A line without a stamp (a reply, a notice) is the same for everyone.
   */
  get tagged(): Line {
    if (this.stamp === undefined || this.isTagged) return this;
    return (this.withTags ??= new Line(`@id=${this.stamp.id};time=${new Date(this.stamp.time).toISOString()} ${this.text}`, this.stamp, true));
  }
}

/**
 * The server's broadcast lines of one turn, in order, shared by every recipient: sessions pass
 * the chunk along once, however many lines it ends up holding, and its bytes are concatenated
 * once, at the flush, for all of them (write once per turn, one Buffer for every socket).
 *
 * A chunk stays open, and the journal appends the turn's next broadcast lines to it, as long as
 * nothing else was written to any peer since it was handed out (`Outbox.written`): a recipient
 * then holds nothing after it, so the appended lines are in their place for everyone. Whatever
 * needs its lines one by one, or a new listener, closes it; so does the flush, before any byte
 * of it is made.
 */
export class Chunk {
  private bytes: Buffer | undefined;
  private withTags: Chunk | undefined;
  /** Its lines once it is closed (they can no longer grow): made once, not per recipient. */
  private mine: readonly Line[] | undefined;

  /** A new chunk of `lines` (the turn's so far); `written`: `Outbox.written` as it goes out. */
  static of(lines: Line[], written: number): Chunk {
    return new Chunk(new ChunkRoot(lines, written));
  }

  private constructor(
    /** What its views and tagged twin share: the lines, growing until closed. */
    private readonly root: ChunkRoot,
    /** Its first line in the shared lines: a view for a newcomer starts at the end. */
    private readonly from = 0,
    private readonly isTagged = false,
    /** The plain lines' bytes before `from` (a view's size is the rest). */
    private readonly before = 0,
  ) {}

  /** Can still take lines: open, and nothing written to any peer since. */
  canAppend(written: number): boolean {
    return !this.root.closed && written === this.root.written;
  }

  append(line: Line): void {
    this.root.lines.push(line);
    this.root.size += line.encoded.length;
  }

  /** No line is added from now on. */
  close(): void {
    this.root.closed = true;
  }

  /** Its lines (as a `cap|tags` client gets them, for the tagged twin); closes it. */
  get lines(): readonly Line[] {
    this.close();
    if (this.mine) return this.mine;
    const mine = this.from === 0 ? this.root.lines : this.root.lines.slice(this.from);
    return (this.mine = this.isTagged ? mine.map((line) => line.tagged) : mine);
  }

  /** How many lines it holds so far (without making its tagged lines). */
  get count(): number {
    return this.root.lines.length - this.from;
  }

  /**
   * All its lines' bytes in one Buffer, made once; closes it (called at the flush). A view's
   * plain bytes are the end of its root's: a crowd of newcomers in one turn shares one Buffer
   * (a copy each made O(k²) bytes for k newcomers).
   */
  get encoded(): Buffer {
    if (this.bytes) return this.bytes;
    this.close();
    const { root } = this;
    if (this.isTagged) return (this.bytes = Buffer.concat(this.lines.map((line) => line.encoded)));
    root.bytes ??= Buffer.concat(
      root.lines.map((line) => line.encoded),
      root.size,
    );
    return (this.bytes = this.before === 0 ? root.bytes : root.bytes.subarray(this.before));
  }

  /** Its bytes so far (the send queue's bound counts them before they are made into one Buffer). */
  get size(): number {
    if (!this.isTagged) return this.root.size - this.before;
    let size = 0;
    for (let i = this.from; i < this.root.lines.length; i++) size += this.root.lines[i].tagged.encoded.length;
    return size;
  }

  /** The same lines with their tags, sharing this chunk's growth. */
  get tagged(): Chunk {
    if (this.isTagged) return this;
    return (this.withTags ??= new Chunk(this.root, this.from, true, this.before));
  }

  /**
   * The chunk from its next line on, for a listener that arrives while it is open (a newcomer
   * whose own join is about to be said): it gets what is appended from now on, and the chunk
   * stays open for everyone.
   */
  view(): Chunk {
    return new Chunk(this.root, this.root.lines.length, false, this.root.size);
  }
}

/** What a chunk's views and twins share. */
class ChunkRoot {
  closed = false;
  size = 0;
  /** Every line's plain bytes, made once it is closed. */
  bytes: Buffer | undefined;

  constructor(
    readonly lines: Line[],
    readonly written: number,
  ) {
    for (const line of lines) this.size += line.encoded.length;
  }
}

/** What a peer is handed to send: one line's bytes, or a chunk of the turn's broadcast. */
export type Outgoing = Buffer | Chunk;

/** The bytes of what a peer was handed (a chunk's all at once). */
export function bytesOf(data: Outgoing): Buffer {
  return data instanceof Chunk ? data.encoded : data;
}

/**
 * When to flush. Every turn of the event loop, while flushing is cheap; but flushing may take
 * at most half of the server's time: after a flush that took T ms, the next one waits until T ms
 * have passed. Under load a turn can be short (libuv accepts one connection per turn since 1.45,
 * so a crowd arriving would cost a write to every socket per newcomer): batches then grow instead
 * of syscalls, and a line waits at most as long as the last flush took, and never more than
 * `maxWaitMs` (a pause of the whole process during a flush, a GC or the OS, must not hold the next
 * one back as long). Measured: connect C=5000 went from 3,943 of 5,000 joined in 60 s to all in
 * 16-22 s; server CPU per million lines 6.5 -> 1.8 s.
 */
export class FlushPacing {
  private nextAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly maxWaitMs = 50) {}

  /** A flush ran from `started` to `ended` (ms). */
  flushed(started: number, ended: number): void {
    this.nextAt = ended + (ended - started);
  }

  /** How long a flush asked for at `now` waits, in whole ms: 0 means this turn's end. */
  wait(now: number): number {
    return Math.min(this.maxWaitMs, Math.max(0, Math.floor(this.nextAt - now)));
  }
}

const NOTHING = () => {};

/** A server's pending flushes: one per peer that was written to since the last flush. */
export class Outbox {
  private flushes: (() => void)[] = [];
  private readonly pacing: FlushPacing;
  /**
   * Lines the server's sessions handed to their peers one by one (not in a chunk) so far
   * (lib/sessions.ts counts them): an open chunk is only appended to while this stands still.
   */
  written = 0;

  /** `beforeFlush` runs once before each flush (the log's commit); it must not throw. */
  constructor(
    private readonly beforeFlush: () => void = () => {},
    maxWaitMs = 50,
  ) {
    this.pacing = new FlushPacing(maxWaitMs);
  }

  /** Runs `flush` with this turn's (or the paced) flush: a peer asks once per batch. */
  later(flush: () => void): void {
    if (this.flushes.push(flush) !== 1) return;
    this.schedule();
  }

  /** Makes sure a flush (and so `beforeFlush`) runs soon, even when no peer has lines. */
  wake(): void {
    if (this.flushes.length === 0) this.later(NOTHING);
  }

  private schedule(): void {
    const wait = this.pacing.wait(performance.now());
    if (wait > 0) setTimeout(this.flushAll, wait);
    else setImmediate(this.flushAll);
  }

  /** Flushes everything pending now (the timer already set finds nothing left). */
  readonly flushAll = (): void => {
    const started = performance.now();
    const now = this.flushes;
    this.flushes = [];
    this.beforeFlush();
    for (const flush of now) flush();
    this.pacing.flushed(started, performance.now());
  };
}

/**
 * One peer's lines of this turn, handed to its transport when the outbox flushes (both the TCP
 * and the WebSocket peer keep one). While the socket has not drained, the lines stay here
 * rather than in its buffer: not handed over, so that the shutdown notice can go ahead of them
 * (`discard`), and kept as the shared Buffers they are, not copied per socket; `held` counts
 * them for the send queue's bound. (`writableNeedDrain`, not a size of our own: it is what
 * makes the socket say 'drain'.)
 */
export class Batch {
  private pending: Outgoing[] = [];
  private carried = 0;
  /** The last chunk added while waiting for the drain: it may still grow (the ones before it cannot). */
  private growing: Chunk | undefined;
  private awaitingDrain = false;

  /** `send` gets what was handed over when the turn's flush comes. */
  constructor(
    private readonly outbox: Outbox,
    private readonly socket: Socket,
    private readonly send: (items: Outgoing[]) => void,
  ) {}

  /** Bytes waiting here for a socket that has not drained. */
  get held(): number {
    return this.carried + (this.growing?.size ?? 0);
  }

  add(data: Outgoing): void {
    if (this.pending.push(data) === 1 && !this.awaitingDrain) this.outbox.later(this.flush);
    if (!this.awaitingDrain) return;
    if (!(data instanceof Chunk)) {
      this.carried += data.length;
      return;
    }
    // A newer chunk: the one before can take no more lines (lib/outbox.ts), its size is final.
    this.carried += this.growing?.size ?? 0;
    this.growing = data;
  }

  /** Drops what waits here (at shutdown, so that the notice goes first). */
  discard(): void {
    this.pending = [];
    this.carried = 0;
    this.growing = undefined;
  }

  /** Hands the lines over; unless `force`d (the peer ends), waits while the socket has not drained. */
  readonly flush = (force = false): void => {
    if (!force && this.pending.length > 0 && this.socket.writableNeedDrain && !this.socket.destroyed) {
      this.carried = this.pending.reduce((sum, item) => sum + (item instanceof Chunk ? item.size : item.length), 0);
      this.growing = undefined;
      if (!this.awaitingDrain) {
        this.awaitingDrain = true;
        this.socket.once('drain', this.drained);
      }
      return;
    }
    const items = this.pending;
    this.discard();
    this.send(items);
  };

  private readonly drained = (): void => {
    this.awaitingDrain = false;
    if (this.pending.length > 0) this.outbox.later(this.flush);
  };
}
