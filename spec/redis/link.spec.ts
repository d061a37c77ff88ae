/**
 * The link's state table (lib/redis/link.ts), row by row, without Redis: two fake connections
 * the test brings up and drops, a reconciliation the test resolves or fails, and the heartbeat
 * in virtual time. What users are told (notices) and when the link reconnects are checked at
 * each step.
 */
import test, { ExecutionContext } from 'ava';
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { VirtualTimeScheduler } from 'rxjs';
import { Link, LinkOptions, Resynced } from '../../lib/redis/link';

/** The part of an ioredis connection the link uses. */
class FakeConnection extends EventEmitter {
  status = 'wait';
  /** disconnect() calls: true when asked to reconnect. */
  readonly disconnects: boolean[] = [];
  /** What HEARTBEAT answers: 1 registered, 0 forgotten; an Error rejects. */
  heartbeat: number | Error = 1;
  reaps = 0;

  connect(): Promise<void> {
    this.up();
    return Promise.resolve();
  }
  up(): void {
    this.status = 'ready';
    this.emit('ready');
  }
  drop(): void {
    this.status = 'reconnecting';
    this.emit('close');
  }
  disconnect(reconnect = false): void {
    this.disconnects.push(reconnect);
    this.status = reconnect ? 'reconnecting' : 'end';
    this.emit('close');
  }
  async subscribe(): Promise<void> {}
  async script(): Promise<void> {}
  del(): Promise<number> {
    return Promise.resolve(1);
  }
  /** HEARTBEAT is run with three arguments (prefix, node, lease), REAP with two (prefix, maxlen). */
  evalsha(_sha: string, _keys: number, ...argv: unknown[]): Promise<unknown> {
    if (argv.length === 2) {
      this.reaps++;
      return Promise.resolve(0);
    }
    return this.heartbeat instanceof Error ? Promise.reject(this.heartbeat) : Promise.resolve(this.heartbeat);
  }
}

interface Harness {
  readonly link: Link;
  readonly cmd: FakeConnection;
  readonly sub: FakeConnection;
  readonly scheduler: VirtualTimeScheduler;
  /** 'degraded' / 'restored' notices, in order. */
  readonly notices: string[];
  readonly log: string[];
  /** The pending reconciliations, oldest first; catchUps records each `first` applied. */
  readonly syncs: { resolve(): void; reject(err: Error): void }[];
  readonly catchUps: boolean[];
  /** Runs the virtual clock to `ms`. */
  advanceTo(ms: number): void;
}

const LEASE_MS = 3000;

function harness(t: ExecutionContext): Harness {
  const scheduler = new VirtualTimeScheduler();
  const connections: FakeConnection[] = [];
  const notices: string[] = [];
  const log: string[] = [];
  const catchUps: boolean[] = [];
  const syncs: Harness['syncs'] = [];
  const options: LinkOptions = {
    url: 'redis://fake',
    prefix: 'p',
    nodeId: 'n0',
    leaseMs: LEASE_MS,
    reconnectMs: 50,
    commandTimeoutMs: 300,
    scheduler,
    log: (line) => log.push(line),
    open: () => {
      const connection = new FakeConnection();
      connections.push(connection);
      return connection as unknown as Redis; // a fake: the link uses only what FakeConnection has
    },
  };
  const link = new Link(options, {
    resync: () =>
      new Promise<Resynced>((resolve, reject) => {
        const resynced: Resynced = { summary: '0 local users', catchUp: (first) => catchUps.push(first) };
        syncs.push({ resolve: () => resolve(resynced), reject });
      }),
    notice: (state) => notices.push(state),
    message: () => {},
  });
  t.teardown(() => link.close());
  const [cmd, sub] = connections;
  return {
    link,
    cmd,
    sub,
    scheduler,
    notices,
    log,
    syncs,
    catchUps,
    advanceTo: (ms) => {
      scheduler.maxFrames = ms;
      scheduler.flush();
    },
  };
}

/** Lets the link's promises run (no time passes). */
const settled = () => new Promise((resolve) => setImmediate(resolve));

/** Brings the link to `linked`, the first time. */
async function linked(h: Harness): Promise<void> {
  const started = h.link.start();
  await settled();
  h.syncs[h.syncs.length - 1].resolve();
  await started;
}

test('connecting -> syncing -> linked: the first link tells users nothing and learns who is there', async (t) => {
  const h = harness(t);
  t.is(h.link.current, 'connecting');
  const started = h.link.start();
  await settled();
  t.is(h.link.current, 'syncing');
  t.false(h.link.linked, 'commands are decided locally while syncing');
  t.is(h.syncs.length, 1);
  h.syncs[0].resolve();
  await started;
  t.is(h.link.current, 'linked');
  t.deepEqual(h.catchUps, [true]);
  t.deepEqual(h.notices, []);
  t.deepEqual(h.log, ['redis: linked as node n0 (0 local users)']);
});

test('start() rejects when the first sync fails, and the link stays connecting', async (t) => {
  const h = harness(t);
  const started = h.link.start();
  await settled();
  h.syncs[0].reject(new Error('ERR boom'));
  await t.throwsAsync(started, { message: 'could not register with Redis' });
  t.is(h.link.current, 'connecting');
  t.deepEqual(h.notices, []);
});

test('linked -> degraded on a lost connection (told once) -> syncing when both are back -> linked, "restored"', async (t) => {
  const h = harness(t);
  await linked(h);
  h.sub.drop();
  t.is(h.link.current, 'degraded');
  h.cmd.drop(); // a second loss in the same outage: told once
  t.deepEqual(h.notices, ['degraded']);
  t.true(h.log.some((l) => l.startsWith('redis: link lost (connection closed)')));
  h.sub.up();
  t.is(h.link.current, 'degraded', 'one connection is not a link');
  h.cmd.up();
  t.is(h.link.current, 'syncing');
  await settled();
  h.syncs[1].resolve();
  await settled();
  t.is(h.link.current, 'linked');
  t.deepEqual(h.notices, ['degraded', 'restored']);
  t.deepEqual(h.catchUps, [true, false], 'this time users are told who came and went');
});

test('a sync that fails with both connections up reconnects (nothing else would try again)', async (t) => {
  const h = harness(t);
  await linked(h);
  h.sub.drop();
  h.sub.up();
  await settled();
  h.syncs[1].reject(new Error('Command timed out'));
  await settled();
  t.is(h.link.current, 'degraded');
  t.deepEqual(h.notices, ['degraded'], 'users were told already');
  t.deepEqual(h.cmd.disconnects, [true], 'the command connection reconnects');
  h.cmd.up(); // Redis answers again
  await settled();
  h.syncs[2].resolve();
  await settled();
  t.is(h.link.current, 'linked');
  t.deepEqual(h.notices, ['degraded', 'restored']);
});

test('a connection lost during a sync supersedes it: its result is ignored, and the next waits for it', async (t) => {
  const h = harness(t);
  await linked(h);
  h.sub.drop();
  h.sub.up();
  await settled();
  t.is(h.syncs.length, 2);
  h.sub.drop(); // mid-sync: the subscription that sync made is gone
  t.is(h.link.current, 'degraded');
  h.sub.up();
  t.is(h.link.current, 'syncing');
  await settled();
  t.is(h.syncs.length, 2, 'the new sync waits for the superseded one');
  h.syncs[1].resolve();
  await settled();
  t.is(h.link.current, 'syncing', 'the superseded result does not link');
  t.deepEqual(h.catchUps, [true]);
  t.is(h.syncs.length, 3);
  h.syncs[2].resolve();
  await settled();
  t.is(h.link.current, 'linked');
  t.deepEqual(h.notices, ['degraded', 'restored']);
});

test('linked -> syncing when the heartbeat finds the node forgotten: users are not told; reaping waits one lease after linking', async (t) => {
  const h = harness(t);
  await linked(h);
  h.advanceTo(LEASE_MS - 1);
  await settled();
  t.is(h.cmd.reaps, 0, 'no reaping within a lease of linking');
  h.advanceTo(LEASE_MS);
  await settled();
  t.is(h.cmd.reaps, 1);
  h.cmd.heartbeat = 0;
  h.advanceTo(LEASE_MS + LEASE_MS / 3);
  await settled();
  t.is(h.link.current, 'syncing');
  t.true(h.log.includes('redis: this node was no longer registered; re-synchronising'));
  h.syncs[1].resolve();
  await settled();
  t.is(h.link.current, 'linked');
  t.deepEqual(h.notices, [], 'a silent re-sync');
});

test('a connection lost during the re-sync of a forgotten node degrades it, and users are told', async (t) => {
  const h = harness(t);
  await linked(h);
  h.cmd.heartbeat = 0;
  h.advanceTo(LEASE_MS / 3);
  await settled();
  t.is(h.link.current, 'syncing');
  h.cmd.drop();
  t.is(h.link.current, 'degraded');
  t.deepEqual(h.notices, ['degraded']);
});

test('linked -> degraded on a command timeout, and the command connection reconnects', async (t) => {
  const h = harness(t);
  await linked(h);
  h.cmd.heartbeat = new Error('Command timed out');
  h.advanceTo(LEASE_MS / 3);
  await settled();
  t.is(h.link.current, 'degraded');
  t.deepEqual(h.notices, ['degraded']);
  t.true(h.log.includes('redis: Command timed out'));
  t.true(h.log.some((l) => l.startsWith('redis: link lost (Redis is not answering)')));
  t.deepEqual(h.cmd.disconnects, [true]);
});

test('close() from linked: closed at once, the farewell sent, later events ignored', async (t) => {
  const h = harness(t);
  await linked(h);
  const closing = h.link.close();
  t.is(h.link.current, 'closed');
  await closing;
  t.is(h.cmd.reaps, 1, "the farewell's reap announces our users offline");
  h.cmd.up();
  h.sub.up();
  t.is(h.link.current, 'closed');
  t.deepEqual(h.notices, [], 'closing is no outage');
  await h.link.close(); // idempotent
});
