/**
 * A small line-protocol test client for end-to-end tests: connect over real TCP, write raw
 * bytes or lines, and read the server's lines in order (framed by lib/lines.ts) with a timeout.
 *
 * ```ts
 * const alice = await connect(port);           // 127.0.0.1 by default
 * t.teardown(() => alice.destroy());
 * await alice.expectLine(`[${alice.addr}]${alice.addr}:已上线`);
 * alice.send('who');
 * const listed = await alice.sync();           // every line before a round-trip marker
 * for await (const line of alice.lines()) ...  // the rest, until the server closes
 * ```
 *
 * Reads never lose a line: a read that times out leaves the pending line for the next read.
 */
import * as net from 'node:net';
import { Observable, map } from 'rxjs';
import { eachValueFrom } from 'rxjs-for-await';
import { TOO_LONG, splitLines } from '../../lib/lines';

/** How long a read waits by default; generous for a loaded CI machine, short for a test. */
export const LINE_TIMEOUT_MS = 3000;

let syncs = 0;

export class TcpClient {
  /** How the server names this client: `ip:port` of our end, as the server sees it. */
  readonly addr: string;
  /** Resolves once the socket is fully closed (by either side). */
  readonly closed: Promise<void>;
  /** Resolves once the server has finished sending (its FIN, or a close). */
  readonly ended: Promise<void>;
  /** Every line received so far, in order (read or not): for error messages and debugging. */
  readonly received: string[] = [];
  private readonly iterator: AsyncIterableIterator<string>;
  // The read in flight: kept across timeouts so that the line it will get is not lost.
  private head: Promise<IteratorResult<string>>;

  constructor(readonly socket: net.Socket) {
    this.addr = `${socket.localAddress}:${socket.localPort}`;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    this.ended = new Promise((resolve) => socket.once('end', () => resolve()).once('close', () => resolve()));
    const bytes$ = new Observable<Buffer>((subscriber) => {
      const onData = (chunk: Buffer) => subscriber.next(chunk);
      // A reset or any transport error ends the stream like a close: tests look at lines.
      const onClose = () => subscriber.complete();
      socket
        .on('data', onData)
        .on('end', onClose)
        .on('close', onClose)
        .on('error', () => undefined);
      return () => socket.off('data', onData).off('end', onClose).off('close', onClose);
    });
    const lines$ = bytes$.pipe(
      splitLines(1024 * 1024),
      map((line) => {
        if (line === TOO_LONG) throw new Error('the server sent a line over 1 MiB');
        this.received.push(line);
        return line;
      }),
    );
    this.iterator = eachValueFrom(lines$);
    // Start reading now, so that lines arriving before the first read are buffered.
    this.head = this.advance();
  }

  /** Writes `line` and a `\n`. */
  send(line: string): Promise<void> {
    return this.write(line + '\n');
  }

  /** Writes raw bytes (a string is UTF-8); resolves when handed to the kernel. */
  write(data: string | Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (err) => (err ? reject(err) : resolve())));
  }

  /** The next line from the server; rejects on timeout or when the connection ended first. */
  async nextLine(timeoutMs = LINE_TIMEOUT_MS): Promise<string> {
    const result = await this.within(timeoutMs, `the next line`);
    if (result.done) throw new Error(`${this.addr}: connection closed while waiting for a line; received so far: ${JSON.stringify(this.received)}`);
    this.head = this.advance();
    return result.value;
  }

  /** Reads the next line and checks it: equal to a string, or matching a RegExp. Returns it. */
  async expectLine(expected: string | RegExp, timeoutMs = LINE_TIMEOUT_MS): Promise<string> {
    const line = await this.nextLine(timeoutMs);
    const ok = typeof expected === 'string' ? line === expected : expected.test(line);
    if (!ok)
      throw new Error(`${this.addr}: expected line ${JSON.stringify(expected instanceof RegExp ? String(expected) : expected)}, got ${JSON.stringify(line)}`);
    return line;
  }

  /** The next `n` lines. */
  async nextLines(n: number, timeoutMs = LINE_TIMEOUT_MS): Promise<string[]> {
    const lines: string[] = [];
    for (let i = 0; i < n; i++) lines.push(await this.nextLine(timeoutMs));
    return lines;
  }

  /** The remaining lines as a `for await` loop, until the server closes the connection. */
  async *lines(timeoutMs = LINE_TIMEOUT_MS): AsyncGenerator<string> {
    for (;;) {
      const result = await this.within(timeoutMs, 'a line or the end of the connection');
      if (result.done) return;
      this.head = this.advance();
      yield result.value;
    }
  }

  /** Every line left until the server ends the connection; rejects if it stays open. */
  async rest(timeoutMs = LINE_TIMEOUT_MS): Promise<string[]> {
    const lines: string[] = [];
    for await (const line of this.lines(timeoutMs)) lines.push(line);
    await this.ended;
    return lines;
  }

  /**
   * A round trip: sends a private message to a name nobody has and returns every line that
   * came before the server's "no such user" reply (either language). The server handles a
   * client's lines in order, so everything it caused earlier has been delivered by then.
   * Note that it is a line: it resets the sender's idle timer.
   */
  async sync(timeoutMs = LINE_TIMEOUT_MS): Promise<string[]> {
    const marker = `#${++syncs}`; // short: it must fit under a small --max-line-bytes
    await this.send(`to|${marker}|ping`);
    const before: string[] = [];
    for (;;) {
      const line = await this.nextLine(timeoutMs);
      if (line === `${marker}用户不存在` || line === `${marker}: no such user`) return before;
      before.push(line);
    }
  }

  /** Sends `who` and returns its reply lines (assuming nothing else arrives meanwhile). */
  async who(timeoutMs = LINE_TIMEOUT_MS): Promise<string[]> {
    await this.send('who');
    return this.sync(timeoutMs);
  }

  /** Closes cleanly (FIN) and waits for the close. */
  async end(): Promise<void> {
    this.socket.end();
    await this.closed;
  }

  /** Closes with a TCP RST, as a crashed client or a dropped network would. */
  async reset(): Promise<void> {
    this.socket.resetAndDestroy();
    await this.closed;
  }

  /** Closes now, whatever the state: for `t.teardown`. */
  destroy(): void {
    this.socket.destroy();
  }

  private advance(): Promise<IteratorResult<string>> {
    const head = this.iterator.next();
    // A read nobody awaits yet must not count as an unhandled rejection; whoever awaits it still sees the error.
    head.catch(() => undefined);
    return head;
  }

  private within(timeoutMs: number, what: string): Promise<IteratorResult<string>> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${this.addr}: no ${what} within ${timeoutMs} ms; received so far: ${JSON.stringify(this.received)}`)),
        timeoutMs,
      );
    });
    return Promise.race([this.head, timeout]).finally(() => clearTimeout(timer));
  }
}

export interface ConnectOptions {
  /**
   * Keep our side open after the server's FIN (default false: close at once, as nc and most
   * clients do). True plays a client that never closes: the server must still let go of it.
   */
  readonly allowHalfOpen?: boolean;
}

/** Connects to `host:port` (loopback by default) and resolves once connected. */
export function connect(port: number, host = '127.0.0.1', options: ConnectOptions = {}): Promise<TcpClient> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host, allowHalfOpen: options.allowHalfOpen ?? false });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.setNoDelay(true);
      resolve(new TcpClient(socket));
    });
  });
}
