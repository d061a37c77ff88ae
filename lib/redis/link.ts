/**
 * This node's link to Redis: the three connections (commands; pub/sub; the log stream's
 * blocking reads), the heartbeat that
 * renews the node's lease and reaps dead nodes, and the one `state` that says whether the
 * node shares the chat with the others (`linked`) or serves its own users alone (every other
 * state). Every change of state happens in `on()`, which is this table:
 *
 * | state      | event                                     | next       | what happens                                       |
 * |------------|-------------------------------------------|------------|----------------------------------------------------|
 * | connecting | both connections ready                    | syncing    | subscribe, load the scripts, reconcile (`resync`)  |
 * | degraded   | both connections ready                    | syncing    | the same                                           |
 * | linked     | heartbeat: the cluster forgot this node   | syncing    | the same; users are not told                       |
 * | syncing    | reconciled, both connections still ready  | linked     | users told who came and went; "restored" if they   |
 * |            |                                           |            | had been told "degraded"; no reaping for a lease   |
 * | syncing    | failed, or a connection lost              | connecting | if it came from connecting (users told nothing)    |
 * |            |                                           | degraded   | otherwise; "degraded" told if it came from linked; |
 * |            |                                           |            | failed with both still up: reconnect, to try again |
 * | linked     | a connection lost, or a command timed out | degraded   | users told "degraded"; on a timeout, reconnect all |
 * | any        | close()                                   | closed     | if it was linked: our users announced offline      |
 *
 * A sync that a lost connection cut short is superseded: its result is ignored, and the next
 * one starts when it has finished (one reconciliation at a time).
 */
import { Redis, RedisOptions } from 'ioredis';
import { SchedulerLike, Subscription, firstValueFrom, from, interval, race, timer } from 'rxjs';
import { HEARTBEAT, REAP, SCRIPTS } from './scripts';

export type LinkState = 'connecting' | 'syncing' | 'linked' | 'degraded' | 'closed';

/** A state with what it carries: where a sync came from (what users were told), when reaping may start. */
type State =
  | { readonly name: 'connecting' | 'degraded' | 'closed' }
  | { readonly name: 'syncing'; readonly from: 'connecting' | 'degraded' | 'linked' }
  | { readonly name: 'linked'; readonly reapFrom: number };

type Syncing = Extract<State, { name: 'syncing' }>;

type LinkEvent =
  | { readonly kind: 'ready' }
  | { readonly kind: 'forgotten' }
  | { readonly kind: 'synced'; readonly sync: Syncing; readonly resynced: Resynced }
  | { readonly kind: 'failed'; readonly sync: Syncing; readonly why: string }
  | { readonly kind: 'lost'; readonly why: string; readonly timedOut: boolean }
  | { readonly kind: 'close' };

/** What a reconciliation found; applied only if the link is kept. */
export interface Resynced {
  /** Tells this node's users who came and went elsewhere (the first time: learns who is there, silently). */
  catchUp(first: boolean): void;
  /** For the log: "N local users, M lost their name". */
  readonly summary: string;
}

/** What the link asks of the hub. */
export interface LinkHooks {
  /** Makes Redis agree with this node; rejects when Redis fails meanwhile. */
  resync(): Promise<Resynced>;
  /** Tells this node's users that the cluster is degraded, or restored. */
  notice(state: 'degraded' | 'restored'): void;
  /** A message on one of the node's channels. */
  message(channel: string, message: string): void;
  /** The link is up (after the catch-up): what waited for it can go. */
  linked?(): void;
}

export interface LinkOptions {
  readonly url: string;
  readonly prefix: string;
  readonly nodeId: string;
  /** The node's lease: heartbeats run three times per lease. */
  readonly leaseMs: number;
  readonly reconnectMs: number;
  readonly commandTimeoutMs: number;
  readonly scheduler: SchedulerLike;
  readonly log: (line: string) => void;
  /** Opens a connection (not yet connected); ioredis by default, a fake in the link's spec. */
  readonly open?: (url: string, options: RedisOptions) => Redis;
  /** The log stream's bound (MAXLEN ~), for the entries the reap script adds (default 100000). */
  readonly maxLen?: number;
  /** How long one blocking read of the log stream waits for entries (default 1000 ms). */
  readonly blockMs?: number;
}

/** How long `close()` waits for Redis to take this node's farewell. */
const CLOSE_WAIT_MS = 1000;

export class Link {
  /** For commands; commands issued in one tick (a burst of lines) go out as one write, in order. */
  readonly cmd: Redis;
  private readonly sub: Redis;
  /** For the log stream's blocking reads (XREAD BLOCK holds its connection). */
  readonly reader: Redis;
  /** How long one blocking read waits: its connection's command timeout is this plus the usual one. */
  readonly blockMs: number;
  readonly reconnectMs: number;
  /** The log stream's key, and its bound. */
  readonly logKey: string;
  readonly maxLen: number;
  readonly prefix: string;
  readonly nodeId: string;
  readonly leaseMs: number;
  readonly scheduler: SchedulerLike;
  /** Every node's broadcast. */
  readonly eventsChannel: string;
  /** Private messages for this node's members. */
  readonly inboxChannel: string;
  private readonly log: (line: string) => void;
  private readonly heartbeat: Subscription;
  private state: State = { name: 'connecting' };
  /** The last sync started: the next waits for it, so that two never run at once. */
  private lastSync: Promise<void> = Promise.resolve();
  /** A down Redis fails every command the same way: one log line per outage, not one per command. */
  private errorLogged = false;

  constructor(
    options: LinkOptions,
    private readonly hooks: LinkHooks,
  ) {
    this.prefix = options.prefix;
    this.nodeId = options.nodeId;
    this.leaseMs = options.leaseMs;
    this.scheduler = options.scheduler;
    this.log = options.log;
    this.eventsChannel = `${this.prefix}:events`;
    this.inboxChannel = `${this.prefix}:inbox:${this.nodeId}`;
    this.logKey = `${this.prefix}:log`;
    this.maxLen = options.maxLen ?? 100_000;
    this.blockMs = options.blockMs ?? 1000;
    this.reconnectMs = options.reconnectMs;
    const connection = {
      lazyConnect: true,
      // Fail fast while disconnected (degraded mode decides locally) instead of queueing
      // commands to replay, out of date, on reconnect.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResubscribe: false, // a sync subscribes, and knows when it is done
      retryStrategy: () => options.reconnectMs,
      commandTimeout: options.commandTimeoutMs,
    };
    const open = options.open ?? ((url: string, redisOptions: RedisOptions) => new Redis(url, redisOptions));
    this.cmd = open(options.url, { ...connection, enableAutoPipelining: true });
    this.sub = open(options.url, connection);
    // A blocking read answers within blockMs: only past that plus the command timeout is Redis silent.
    this.reader = open(options.url, { ...connection, commandTimeout: options.commandTimeoutMs + this.blockMs });
    for (const redis of this.connections()) {
      redis.on('error', (err: unknown) => this.trouble(err));
      redis.on('ready', () => this.on({ kind: 'ready' }));
      redis.on('close', () => this.on({ kind: 'lost', why: 'connection closed', timedOut: false }));
    }
    this.sub.on('message', (channel: string, message: string) => this.hooks.message(channel, message));
    const beatMs = Math.max(1, Math.floor(this.leaseMs / 3));
    this.heartbeat = interval(beatMs, this.scheduler).subscribe({ next: () => void this.beat(), error: (err: unknown) => this.trouble(err) });
  }

  get current(): LinkState {
    return this.state.name;
  }

  /** Linked: the hub asks Redis. Otherwise it decides with what this node knows. */
  get linked(): boolean {
    return this.state.name === 'linked';
  }

  /** Connects and syncs; rejects when Redis cannot be reached (the link keeps trying, degraded). */
  async start(): Promise<void> {
    let cause: Error | undefined;
    const remember = (err: Error) => (cause ??= err);
    this.cmd.once('error', remember);
    try {
      await Promise.all(this.connections().map((redis) => redis.connect()));
    } catch (err) {
      // ioredis rejects with "Connection is closed."; the error event said why.
      throw cause ?? err;
    } finally {
      this.cmd.off('error', remember);
    }
    this.on({ kind: 'ready' }); // a no-op when the 'ready' events started the sync already
    await this.lastSync;
    if (!this.linked) throw new Error('could not register with Redis');
  }

  /**
   * A command failed: logged once per outage. While linked, a command that timed out means
   * Redis hangs (a stopped process keeps its sockets open), and a connection no longer ready
   * means it is gone: either way the link is lost.
   */
  trouble(err: unknown): void {
    if (this.state.name === 'closed') return;
    const message = err instanceof Error ? err.message : String(err);
    if (!this.errorLogged) {
      this.errorLogged = true;
      this.log(`redis: ${message}`);
    }
    // Not linked: a sync in progress finds out by itself; otherwise a 'ready' will come.
    if (this.state.name !== 'linked') return;
    if (message === 'Command timed out') this.on({ kind: 'lost', why: 'Redis is not answering', timedOut: true });
    else if (!this.up()) this.on({ kind: 'lost', why: message, timedOut: false });
  }

  /**
   * Leaves the cluster: if linked, this node's lease is dropped and the reap script announces
   * its members offline to the other nodes (once, as for a dead node); then both connections
   * close. A Redis that hangs does not hold this up: the lease expires and a survivor reaps.
   */
  async close(): Promise<void> {
    const was = this.state.name;
    if (was === 'closed') return;
    this.on({ kind: 'close' });
    this.heartbeat.unsubscribe();
    if (was === 'linked') {
      const farewell = (async () => {
        await this.cmd.del(`${this.prefix}:alive:${this.nodeId}`);
        await REAP.run(this.cmd, [this.prefix, this.maxLen]);
      })().catch(() => undefined); // closed: nothing left to degrade; the lease expires and a survivor reaps
      await firstValueFrom(race(from(farewell), timer(CLOSE_WAIT_MS, this.scheduler)), { defaultValue: undefined });
    }
    for (const redis of this.connections()) redis.disconnect();
  }

  private connections(): Redis[] {
    return [this.cmd, this.sub, this.reader];
  }

  /** The state table (see the header): the only place `state` changes. */
  private on(event: LinkEvent): void {
    const state = this.state;
    if (state.name === 'closed') return;
    switch (event.kind) {
      case 'ready':
        if ((state.name === 'connecting' || state.name === 'degraded') && this.up()) this.sync(state.name);
        return;
      case 'forgotten':
        if (state.name !== 'linked') return;
        this.log('redis: this node was no longer registered; re-synchronising');
        this.sync('linked');
        return;
      case 'synced':
        if (state !== event.sync) return; // superseded: a connection was lost meanwhile
        if (!this.up()) return this.fallBack(event.sync, 'connection closed');
        this.state = { name: 'linked', reapFrom: this.scheduler.now() + this.leaseMs };
        this.errorLogged = false;
        event.resynced.catchUp(event.sync.from === 'connecting');
        this.log(
          `redis: ${event.sync.from === 'connecting' ? 'linked' : 'link restored, presence re-synchronised'} as node ${this.nodeId} (${event.resynced.summary})`,
        );
        if (event.sync.from === 'degraded') this.hooks.notice('restored');
        this.hooks.linked?.();
        return;
      case 'failed':
        if (state !== event.sync) return;
        this.fallBack(event.sync, event.why);
        // With both connections up, no 'ready' would come to try again (a command timed out,
        // a script failed): a fresh connection is ready once Redis answers again.
        if (this.up()) this.cmd.disconnect(true);
        return;
      case 'lost':
        if (state.name === 'syncing') return this.fallBack(state, event.why);
        if (state.name !== 'linked') return;
        this.degrade(event.why);
        // A fresh connection is 'ready' only once Redis answers its ready check again. All
        // three: a silent cut (a black hole) stalls the other two as well, without a word.
        if (event.timedOut) for (const redis of this.connections()) redis.disconnect(true);
        return;
      case 'close':
        this.state = { name: 'closed' };
        return;
    }
  }

  /** A sync that did not make it: back to where it came from, as its users know it. */
  private fallBack(sync: Syncing, why: string): void {
    if (sync.from === 'linked') this.degrade(why);
    else this.state = { name: sync.from };
  }

  /** Local only; users are told once per outage. */
  private degrade(why: string): void {
    this.state = { name: 'degraded' };
    this.log(`redis: link lost (${why}): cluster degraded, serving local users only`);
    this.hooks.notice('degraded');
  }

  private sync(from: Syncing['from']): void {
    const sync: Syncing = { name: 'syncing', from };
    this.state = sync;
    const previous = this.lastSync;
    this.lastSync = (async () => {
      await previous;
      if (this.state !== sync) return;
      try {
        await this.sub.subscribe(this.eventsChannel, this.inboxChannel);
        // Cached on the server, so that every script runs as one EVALSHA (see Script.load).
        await Promise.all(SCRIPTS.map((script) => script.load(this.cmd)));
        this.on({ kind: 'synced', sync, resynced: await this.hooks.resync() });
      } catch (err) {
        this.trouble(err);
        this.on({ kind: 'failed', sync, why: err instanceof Error ? err.message : String(err) });
      }
    })();
  }

  /** Renews the lease; once the node has been linked a lease, reaps the nodes whose lease ran out. */
  private async beat(): Promise<void> {
    if (this.state.name !== 'linked') return;
    try {
      const registered = await HEARTBEAT.run(this.cmd, [this.prefix, this.nodeId, this.leaseMs]);
      // The others forgot us: we were reaped while paused, or Redis restarted empty.
      if (registered !== 1) return this.on({ kind: 'forgotten' });
      // After an outage the other nodes need a moment to re-register: one merely slower than
      // this node must not be declared dead.
      const state = this.state;
      if (state.name !== 'linked' || this.scheduler.now() < state.reapFrom) return;
      const reaped = Number(await REAP.run(this.cmd, [this.prefix, this.maxLen]));
      if (reaped > 0) this.log(`redis: declared ${reaped} silent node(s) dead; their users were announced offline`);
    } catch (err) {
      this.trouble(err);
    }
  }

  private up(): boolean {
    return this.connections().every((redis) => redis.status === 'ready');
  }
}
