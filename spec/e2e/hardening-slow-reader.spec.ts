/**
 * End to end, over real TCP: one client that never reads among 100 that do. The frozen
 * client is cut off once its send queue passes the bound; every reader still gets every
 * broadcast, in order; the server's connection count drops by exactly one.
 */
import test from 'ava';
import * as net from 'node:net';
import { ChatServer } from '../../lib/server';
import { connect } from '../helpers/tcp';
import { userLine } from '../helpers/server';

const READERS = 100;
const MAX_QUEUE_BYTES = 64 * 1024;
// Broadcasts per phase: 100 readers × 2,000 lines × ~1 KB is 200 MB through loopback.
const LINES = 2000;
// The readers live in this process: the sender keeps at most this many lines in flight (the
// filler FILL_IN_FLIGHT), so that no reader falls a whole send queue behind while the event
// loop is busy writing.
const IN_FLIGHT = 16;
const FILL_IN_FLIGHT = 48;
const TEXT_BYTES = 1000;
// The kernel takes about 4 MB for a socket whose peer never reads (the server's send buffer
// grows to tcp_wmem's maximum, 4 MiB by default) before writableLength grows at all. Filling
// that with broadcasts would cost 100 × 4 MB; private messages to the frozen client alone
// fill it without loading the readers. The cap only bounds a failing test.
const FILL_CAP_BYTES = 32 * 1024 * 1024;

/** The i-th message of a phase: exactly TEXT_BYTES of ASCII, its phase and number first. */
function message(phase: number, i: number): string {
  const head = `p${phase}-${String(i).padStart(6, '0')} `;
  return head + 'x'.repeat(TEXT_BYTES - head.length);
}

/**
 * A reader that keeps no lines: it frames its socket's bytes and hands each line to the
 * current handler, so that 100 readers × 12,000 lines cost no memory in the test itself.
 */
class Reader {
  readonly addr: string;
  readonly closed: Promise<void>;
  private carry: Buffer = Buffer.alloc(0);
  private handler: (line: string) => void = () => {};

  constructor(readonly socket: net.Socket) {
    this.addr = `${socket.localAddress}:${socket.localPort}`;
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => {
      const data = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
      let start = 0;
      for (let lf = data.indexOf(10, start); lf !== -1; lf = data.indexOf(10, start)) {
        this.handler(data.toString('utf8', start, lf));
        start = lf + 1;
      }
      this.carry = Buffer.from(data.subarray(start));
    });
  }

  /**
   * Resolves with the lines seen until `last` arrives (not included), or rejects after
   * `timeoutMs` saying what was seen; `keep` sees every line before `last` and may reject it
   * by throwing.
   */
  until(last: string, timeoutMs: number, keep: (line: string) => void): Promise<void> {
    return new Promise((resolve, reject) => {
      let seen = 0;
      const timer = setTimeout(
        () => reject(new Error(`${this.addr}: no ${JSON.stringify(last.slice(0, 60))} within ${timeoutMs} ms (${seen} lines seen)`)),
        timeoutMs,
      );
      const stop = () => {
        clearTimeout(timer);
        this.handler = () => {};
      };
      this.handler = (line) => {
        seen++;
        if (line === last) {
          stop();
          resolve();
          return;
        }
        try {
          keep(line);
        } catch (err) {
          stop();
          reject(err instanceof Error ? err : new Error(String(err)));
        }
      };
    });
  }
}

function connectReader(port: number): Promise<Reader> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.setNoDelay(true);
      resolve(new Reader(socket));
    });
  });
}

test.serial('a client that never reads is cut off alone; the 100 readers get every broadcast, in order', async (t) => {
  t.timeout(25_000);
  const logs: string[] = [];
  const server = new ChatServer({ host: '127.0.0.1', port: 0, lang: 'en', maxQueueBytes: MAX_QUEUE_BYTES, rateLimit: 0, log: (l) => logs.push(l) });
  const { port } = await server.listen();
  t.teardown(() => server.close(100));
  const online = (addr: string) => userLine(addr, addr, server.texts.online);
  const offline = (addr: string) => userLine(addr, addr, server.texts.offline);

  // The room: each reader sees its own join first.
  const readers: Reader[] = [];
  for (let i = 0; i < READERS; i++) {
    const reader = await connectReader(port);
    t.teardown(() => reader.socket.destroy());
    const joined = reader.until(online(reader.addr), 3000, (l) => t.fail(`${reader.addr} saw ${l} before its own join`));
    readers.push(reader);
    await joined;
  }
  const [sender] = readers;
  const said = (phase: number, i: number) => userLine(sender.addr, sender.addr, message(phase, i));

  /** Everyone reads up to a marker line from the sender; returns what each saw before it. */
  async function barrier(name: string): Promise<string[][]> {
    const seen = readers.map((): string[] => []);
    const marker = userLine(sender.addr, sender.addr, name);
    const all = Promise.all(readers.map((r, k) => r.until(marker, 5000, (l) => seen[k].push(l))));
    sender.socket.write(name + '\n');
    await all;
    return seen;
  }

  /**
   * The sender says `lines` messages, IN_FLIGHT at a time (it waits for its own copy before
   * sending more); every reader must get them all, in order. Lines in `extra` may come
   * between them and are counted per reader. Resolves with the time until the last reader
   * had the last line.
   */
  async function phase(n: number, extra: string, lines = LINES): Promise<{ ms: number; extras: number[] }> {
    const extras = readers.map(() => 0);
    const next = readers.map(() => 0);
    let senderHas = 0;
    let wake: () => void = () => {};
    const done = Promise.all(
      readers.map((r, k) =>
        r
          .until(said(n, lines - 1), 20_000, (l) => {
            if (l === extra) {
              extras[k]++;
              return;
            }
            const expected = said(n, next[k]);
            if (l !== expected) throw new Error(`${r.addr}: expected ${expected.slice(0, 40)}…, got ${l.slice(0, 40)}…`);
            next[k]++;
            if (k === 0) {
              senderHas = next[k];
              wake();
            }
          })
          .then(() => {
            t.is(next[k], lines - 1, `${r.addr} got every line before the last`);
            if (k === 0) {
              senderHas = lines;
              wake();
            }
          }),
      ),
    );
    const started = performance.now();
    for (let sent = 0; sent < lines;) {
      const batch: string[] = [];
      for (const end = Math.min(lines, sent + IN_FLIGHT); sent < end; sent++) batch.push(message(n, sent) + '\n');
      sender.socket.write(batch.join(''));
      const target = sent;
      if (senderHas < target) await new Promise<void>((resolve) => (wake = () => senderHas >= target && resolve()));
    }
    await done;
    return { ms: performance.now() - started, extras };
  }

  // Another client that reads: it sends private messages, FILL_IN_FLIGHT at a time (a round trip
  // each), during both phases: to a sink that reads in phase 1, to the frozen client in phase
  // 2, so that the server does the same work in both and only the frozen client differs.
  const filler = await connect(port);
  t.teardown(() => filler.destroy());
  await filler.expectLine(online(filler.addr));
  const sink = await connectReader(port);
  t.teardown(() => sink.socket.destroy());
  await sink.until(online(sink.addr), 3000, (l) => t.fail(`the sink saw ${l} before its own join`));
  const seenHelpers = await barrier('ready-0');
  // Readers drop lines between barriers: only later joins can have come meanwhile.
  for (const lines of seenHelpers)
    t.deepEqual(
      lines.filter((l) => l !== online(filler.addr) && l !== online(sink.addr)),
      [],
    );
  t.deepEqual(await filler.sync(), [online(sink.addr), userLine(sender.addr, sender.addr, 'ready-0')]);

  /** Whispers to `to` until `stop` says so (checked after each round trip); returns the bytes sent. */
  async function fill(to: string, stop: (replies: string[]) => boolean): Promise<number> {
    const whisper = `to|${to}|${'w'.repeat(TEXT_BYTES)}\n`.repeat(FILL_IN_FLIGHT);
    let bytes = 0;
    for (;;) {
      await filler.write(whisper);
      bytes += FILL_IN_FLIGHT * TEXT_BYTES;
      if (stop(await filler.sync(5000))) return bytes;
      if (bytes > FILL_CAP_BYTES) throw new Error(`${to} was sent ${bytes} bytes of private messages`);
    }
  }

  // A warm-up, so that phase 1 does not pay for the JIT compiling the server's hot paths.
  t.deepEqual(
    (await phase(0, '', LINES / 4)).extras,
    readers.map(() => 0),
  );
  t.is((await filler.sync()).length, LINES / 4);

  const rssBefore = process.memoryUsage().rss;
  let phaseOver = false;
  let fillerSaw = 0;
  const sunk = fill(sink.addr, (replies) => {
    fillerSaw += replies.length;
    return phaseOver;
  });
  const without = await phase(1, '');
  phaseOver = true;
  const sunkBytes = await sunk;
  t.deepEqual(
    without.extras,
    readers.map(() => 0),
  );
  fillerSaw += (await filler.sync()).length;
  t.is(fillerSaw, LINES, 'the filler read every broadcast too');

  // The frozen client: paused before it connects, so it never reads a byte; the kernel's
  // buffers fill, then the server's queue for it grows past the bound.
  const frozen = new net.Socket();
  frozen.pause();
  t.teardown(() => frozen.destroy());
  frozen.on('error', () => {});
  await new Promise<void>((resolve) => frozen.connect({ port, host: '127.0.0.1' }, resolve));
  const frozenAddr = `${frozen.localAddress}:${frozen.localPort}`;
  const frozenClosed = new Promise<void>((resolve) => frozen.once('close', () => resolve()));
  const seenJoin = await barrier('ready-1');
  for (const lines of seenJoin) t.deepEqual(lines, [online(frozenAddr)]);
  t.deepEqual(await filler.sync(), [online(frozenAddr), userLine(sender.addr, sender.addr, 'ready-1')]);
  t.is(server.connections, READERS + 3);

  // Phase 2: the same broadcasts, the filler whispering to the frozen client until the server
  // cuts it off (its offline line reaches the filler), then to the sink again.
  let cutAfterMs = NaN;
  let filled = 0;
  const phaseStarted = performance.now();
  let phase2Over = false;
  const filling = fill(frozenAddr, (replies) => {
    filled += FILL_IN_FLIGHT * TEXT_BYTES;
    if (!replies.includes(offline(frozenAddr))) return false;
    cutAfterMs = performance.now() - phaseStarted;
    return true;
  }).then(async (bytes) => (phase2Over ? bytes : bytes + (await fill(sink.addr, () => phase2Over))));
  const withFrozen = await phase(2, offline(frozenAddr));
  phase2Over = true;
  const filledDuringPhase = await filling;
  // The server destroys the frozen client's socket; ours sees the close once it reads again.
  frozen.resume();
  await frozenClosed;
  const late = await barrier('ready-2');
  for (let k = 0; k < READERS; k++) {
    const lateOffline = late[k].filter((l) => l === offline(frozenAddr)).length;
    t.is(withFrozen.extras[k] + lateOffline, 1, `${readers[k].addr} sees the frozen client leave exactly once`);
    t.deepEqual(
      late[k].filter((l) => l !== offline(frozenAddr)),
      [],
    );
  }
  t.true(
    logs.includes(`disconnected ${frozenAddr} (cut off: send queue over ${MAX_QUEUE_BYTES} bytes)`),
    logs.filter((l) => l.includes(frozenAddr)).join('\n'),
  );
  t.is(server.connections, READERS + 2, 'exactly one connection fewer');
  t.is(server.hub.size, READERS + 2);
  const rssAfter = process.memoryUsage().rss;

  t.log(`${READERS} readers, ${LINES} broadcasts of ${TEXT_BYTES} bytes a phase, ${IN_FLIGHT} in flight; private messages ${FILL_IN_FLIGHT} in flight`);
  t.log(
    `delivery without the frozen client: ${without.ms.toFixed(0)} ms (filler: ${(sunkBytes / 1e6).toFixed(1)} MB to a reader); with it: ${withFrozen.ms.toFixed(0)} ms (filler: ${(filledDuringPhase / 1e6).toFixed(1)} MB, ${(filled / 1e6).toFixed(1)} MB of it to the frozen client)`,
  );
  t.log(`frozen client cut off ${cutAfterMs.toFixed(0)} ms into phase 2`);
  t.log(`rss ${(rssBefore / 1e6).toFixed(0)} MB before, ${(rssAfter / 1e6).toFixed(0)} MB after (process-wide)`);
});
