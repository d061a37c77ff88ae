// The turn's broadcast in chunks (lib/outbox.ts): every recipient still gets every line once, in
// the order the server produced them for it, whatever else it is sent in the same turn.
import test, { type ExecutionContext } from 'ava';
import { Subject, asapScheduler, map, timer } from 'rxjs';
import type { MessageLog } from '../lib/store/log';
import { Chunk, Line, bytesOf, type Outgoing } from '../lib/outbox';
import { ChatServer, type Peer } from '../lib/server';
import { MemoryLog } from '../lib/store/memory';

interface FakePeer extends Peer {
  /** Everything it was handed, as its bytes would leave at the flush. */
  readonly text: () => string;
  /** How many writes it was handed. */
  readonly writes: () => number;
  readonly input: Subject<string>;
}

function fakePeer(i: number): FakePeer {
  const handed: Outgoing[] = [];
  const input = new Subject<string>();
  return {
    addr: `10.0.0.${i}:${1000 + i}`,
    ip: `10.0.0.${i}`,
    lines$: input,
    input,
    write: (data) => void handed.push(data),
    queued: () => 0,
    end: () => {},
    destroy: () => {},
    onClose: () => {},
    // Read after the flush, as the transports do: a chunk's bytes are made then.
    text: () => handed.map((data) => bytesOf(data).toString('utf8')).join(''),
    writes: () => handed.length,
  };
}

const turn = () => new Promise((resolve) => setImmediate(resolve));

/** A log that answers `last` later (a microtask: deterministic), as the cluster's stream does (lib/redis/stream-log.ts). */
function lateLog(): MessageLog {
  const log = new MemoryLog({ maxLines: 100 });
  return {
    stamp: (event) => log.stamp(event),
    commit: () => log.commit(),
    last: (n) => {
      const events = log.last(n);
      return timer(0, asapScheduler).pipe(map(() => events));
    },
    after: (id, limit) => log.after(id, limit),
    get degraded() {
      return log.degraded;
    },
    close: () => log.close(),
  };
}

async function room(t: ExecutionContext, n: number, history: false | 'now' | 'late' = false) {
  const log = history === 'late' ? lateLog() : history === 'now' ? new MemoryLog({ maxLines: 100 }) : false;
  const server = new ChatServer({ lang: 'en', idleTimeoutMs: 3_600_000, rateLimit: 0, history: log });
  const peers = Array.from({ length: n }, (_, i) => fakePeer(i + 1));
  t.teardown(() => server.close(0));
  for (const peer of peers) server.accept(peer);
  await turn();
  return { server, peers };
}

test('lines said in one turn reach each recipient as one chunk: one write, every line, in order', async (t) => {
  const { peers } = await room(t, 3);
  const [a, b, c] = peers;
  const before = c.writes();
  a.input.next('one');
  b.input.next('two');
  a.input.next('three');
  await turn();
  t.is(c.writes() - before, 1);
  t.true(c.text().endsWith('[10.0.0.1:1001]10.0.0.1:1001:one\n[10.0.0.2:1002]10.0.0.2:1002:two\n[10.0.0.1:1001]10.0.0.1:1001:three\n'));
});

test('a reply to one user between two lines of the turn: that user gets line, reply, line, in that order', async (t) => {
  const { peers } = await room(t, 2);
  const [a, b] = peers;
  a.input.next('before');
  b.input.next('who');
  a.input.next('after');
  await turn();
  const text = b.text();
  const at = (s: string) => text.indexOf(s);
  t.true(at(':before') >= 0 && at(':before') < at('1001:online...') && at('1001:online...') < at(':after'), text);
  // The other recipient got both lines once each.
  t.is(a.text().split(':before\n').length, 2);
  t.is(a.text().split(':after\n').length, 2);
});

test('a newcomer in the middle of a turn sees its own join and every line after it, and none twice', async (t) => {
  const { server, peers } = await room(t, 2);
  const [a] = peers;
  a.input.next('early');
  const late = fakePeer(9);
  server.accept(late);
  a.input.next('late');
  await turn();
  t.is(late.text(), '[10.0.0.9:1009]10.0.0.9:1009:is online\n[10.0.0.1:1001]10.0.0.1:1001:late\n');
  t.true(a.text().endsWith('[10.0.0.1:1001]10.0.0.1:1001:early\n[10.0.0.9:1009]10.0.0.9:1009:is online\n[10.0.0.1:1001]10.0.0.1:1001:late\n'));
});

test('a crowd arriving in one turn shares one chunk: one write each, every newcomer its own join and those after it', async (t) => {
  const { server, peers } = await room(t, 1);
  const [a] = peers;
  const before = a.writes();
  const crowd = [7, 8, 9].map(fakePeer);
  for (const peer of crowd) server.accept(peer);
  await turn();
  const joined = (i: number) => `[10.0.0.${i}:100${i}]10.0.0.${i}:100${i}:is online\n`;
  t.is(a.writes() - before, 1);
  t.true(a.text().endsWith(joined(7) + joined(8) + joined(9)));
  t.deepEqual(
    crowd.map((peer) => peer.text()),
    [joined(7) + joined(8) + joined(9), joined(8) + joined(9), joined(9)],
  );
});

test('a cap|tags user gets the chunk tagged, the others plain: the same lines', async (t) => {
  const { peers } = await room(t, 2, 'now');
  const [a, b] = peers;
  b.input.next('cap|tags');
  await turn();
  a.input.next('x');
  a.input.next('y');
  await turn();
  t.regex(b.text(), /@id=[^ ]+;time=[^ ]+ \[10\.0\.0\.1:1001\]10\.0\.0\.1:1001:x\n@id=[^ ]+;time=[^ ]+ \[10\.0\.0\.1:1001\]10\.0\.0\.1:1001:y\n$/);
  t.true(a.text().endsWith(':x\n[10.0.0.1:1001]10.0.0.1:1001:y\n'));
});

for (const log of ['now', 'late'] as const) {
  test(`history| in the middle of a turn, a log answering ${log}: lines said after it come after its end, once`, async (t) => {
    const { peers } = await room(t, 2, log);
    const [a, b] = peers;
    a.input.next('old');
    await turn();
    a.input.next('x');
    b.input.next('history|5');
    a.input.next('y');
    await turn();
    await turn();
    const text = b.text();
    const tail = text.slice(text.lastIndexOf('history|end\n') + 'history|end\n'.length);
    t.is(tail, '[10.0.0.1:1001]10.0.0.1:1001:y\n', text);
    t.is(text.split(':y\n').length, 2, 'y once');
  });
}

test('a chunk takes no line once it was handed out and something else was written, or once it is read', (t) => {
  const chunk = Chunk.of([], 7);
  t.true(chunk.canAppend(7));
  t.false(chunk.canAppend(8));
  chunk.append(new Line('a'));
  const view = chunk.view();
  chunk.append(new Line('b'));
  t.is(chunk.count, 2);
  t.is(view.count, 1);
  t.is(view.encoded.toString(), 'b\n', 'a view has the lines appended after it was made');
  t.false(chunk.canAppend(7), 'making the bytes (of any view) closes it');
  t.is(chunk.encoded.toString(), 'a\nb\n');
  const other = Chunk.of([], 0);
  t.is(other.lines.length, 0);
  t.false(other.canAppend(0), 'reading its lines closes it');
  t.is(other.tagged.lines.length, 0);
});
