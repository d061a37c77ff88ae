/**
 * A hub shared by several server nodes through one Redis: broadcast over pub/sub, presence
 * and unique names in Redis (claimed by Lua scripts), private messages routed to the node
 * holding the target, dead nodes reaped by the survivors. Sessions see the same `Hub` as the
 * in-memory one; when Redis is unreachable the node keeps serving its own users alone.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { Observable, SchedulerLike, Subject, Subscription, asyncScheduler, catchError, defer, firstValueFrom, from, interval, map, of, race, timer } from 'rxjs';
import { Answer, Hub, Inboxes, LocalPresence, Presence, RenameResult } from './hub';
import { Event, nameKey } from './protocol';
import { HEARTBEAT, JOIN, LEAVE, LIST, REAP, RENAME, RESYNC, SCRIPTS, SETTLE, WHISPER } from './redis/scripts';
import { decodeEnvelope, decodeLetter, decodeList, encodeEnvelope } from './redis/wire';

export interface RedisHubOptions {
  /** `redis://HOST:PORT` (ioredis URL syntax: `redis://:password@host:port/db` works too). */
  readonly url: string;
  /** Prefix of every key and channel: nodes with the same prefix are one chat. */
  readonly prefix?: string;
  /** This node's id in Redis; random by default (a restarted process is a new node). */
  readonly nodeId?: string;
  /**
   * A node that has not renewed its lease for this long is dead: a survivor announces its
   * users offline and frees their names. Heartbeats run three times per timeout, so a dead
   * node is reaped within about 4/3 of it.
   */
  readonly nodeTimeoutMs?: number;
  /** Delay between reconnection attempts while Redis is unreachable. */
  readonly reconnectMs?: number;
  /**
   * A command unanswered this long means Redis hangs (a stopped process keeps its sockets
   * open): the node degrades and reconnects, instead of leaving users' commands waiting.
   */
  readonly commandTimeoutMs?: number;
  /** Drives the heartbeat. */
  readonly scheduler?: SchedulerLike;
  /** Operator log, one line an event (link lost, restored, nodes reaped). */
  readonly log?: (line: string) => void;
}

export const REDIS_DEFAULTS = {
  prefix: 'rx-im',
  nodeTimeoutMs: 6000,
  reconnectMs: 500,
  commandTimeoutMs: 2000,
};

/** How long `close()` waits for Redis to take this node's leave. */
const CLOSE_WAIT_MS = 1000;

export class RedisHub implements Hub {
  readonly nodeId: string;
  private readonly broadcast = new Subject<Event>();
  readonly events$ = this.broadcast.asObservable();
  // Local truth: this node's members (by id, in join order) and the names they hold.
  private readonly local = new LocalPresence();
  private readonly inboxes = new Inboxes();
  private readonly shown = new Set<string>(); // members whose join this node's users have seen
  // The other nodes' members as this node's users know them (addr -> name): pub/sub loses
  // what is published while a node is away, so on re-linking the node compares this with
  // Redis and tells its users who came and went; and a late duplicate is dropped.
  private readonly remote = new Map<string, { readonly name: string; readonly node: string }>();
  private everLinked = false;
  // What the other nodes have been told about our members, as they were told it: the
  // difference with `members` is what a re-synchronisation must announce.
  private readonly announced = new Map<string, Presence>();
  private readonly cmd: Redis;
  private readonly sub: Redis;
  private readonly prefix: string;
  private readonly leaseMs: number;
  private readonly log: (line: string) => void;
  private readonly heartbeat: Subscription;
  private settling: Subscription | undefined;
  private readonly scheduler: SchedulerLike;
  private readonly eventsChannel: string;
  private readonly inboxChannel: string;
  private readonly ownOrigin: string;
  /** Both connections up and Redis agrees with us: cluster mode. Otherwise: local only. */
  private linked = false;
  /** Users were told the cluster is degraded (so they are told when it is back). */
  private degradedNotified = false;
  private syncing: Promise<void> | undefined;
  /** Bumped by every local change made while not linked: a re-sync that raced one runs again. */
  private changes = 0;
  private troubleLogged = false;
  private closed = false;
  /**
   * No reaping until then: after an outage the other nodes need a moment to re-register, and
   * one that is merely slower than this node must not be declared dead.
   */
  private reapAfter = 0;

  constructor(options: RedisHubOptions) {
    this.nodeId = options.nodeId ?? randomBytes(6).toString('hex');
    this.prefix = options.prefix ?? REDIS_DEFAULTS.prefix;
    this.leaseMs = options.nodeTimeoutMs ?? REDIS_DEFAULTS.nodeTimeoutMs;
    this.log = options.log ?? (() => {});
    this.eventsChannel = `${this.prefix}:events`;
    this.inboxChannel = `${this.prefix}:inbox:${this.nodeId}`;
    this.ownOrigin = `{"o":${JSON.stringify(this.nodeId)},`;
    const reconnectMs = options.reconnectMs ?? REDIS_DEFAULTS.reconnectMs;
    const connection = {
      lazyConnect: true,
      // Fail fast while disconnected (degraded mode decides locally) instead of queueing
      // commands to replay, out of date, on reconnect.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResubscribe: false, // re-sync subscribes, and knows when it is done
      retryStrategy: () => reconnectMs,
      commandTimeout: options.commandTimeoutMs ?? REDIS_DEFAULTS.commandTimeoutMs,
    };
    // Commands issued in one tick (a burst of lines) go out as one write; order is kept.
    this.cmd = new Redis(options.url, { ...connection, enableAutoPipelining: true });
    this.sub = new Redis(options.url, connection);
    for (const redis of [this.cmd, this.sub]) {
      redis.on('error', (err: Error) => this.trouble(err));
      redis.on('ready', () => this.relink());
      redis.on('close', () => this.unlink('connection closed'));
    }
    this.sub.on('message', (channel: string, message: string) => this.receive(channel, message));
    const beatMs = Math.max(1, Math.floor(this.leaseMs / 3));
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.heartbeat = interval(beatMs, this.scheduler).subscribe(() => this.beat());
  }

  /** Connects and registers this node; rejects when Redis cannot be reached (the hub stays usable, degraded). */
  async start(): Promise<void> {
    let cause: Error | undefined;
    const remember = (err: Error) => (cause ??= err);
    this.cmd.once('error', remember);
    try {
      await Promise.all([this.cmd.connect(), this.sub.connect()]);
    } catch (err) {
      // ioredis rejects with "Connection is closed."; the error event said why.
      throw cause ?? err;
    } finally {
      this.cmd.off('error', remember);
    }
    await this.relink();
    if (!this.linked) throw new Error('could not register with Redis');
  }

  /** True while the node shares the chat with the others (false: degraded, local only). */
  get clustered(): boolean {
    return this.linked;
  }

  get size(): number {
    return this.local.size;
  }

  inbox(id: string): Observable<Event> {
    return this.inboxes.inbox(id);
  }

  join(member: { readonly id: string; readonly addr: string }): Observable<Presence> {
    return defer(() => {
      const presence = this.local.add(member.id, member.addr);
      const event: Event = { kind: 'online', addr: presence.addr, name: presence.name };
      // Shown here once Redis has it: whoever sees the join, on any node, then finds the
      // member in `who`.
      const show = () => {
        if (this.local.has(member.id)) {
          this.shown.add(member.id);
          this.broadcast.next(event);
        }
        return presence;
      };
      if (!this.linked) {
        this.changes++;
        return of(show());
      }
      return from(JOIN.run(this.cmd, [this.prefix, this.nodeId, this.gid(member.id), this.record(presence), nameKey(presence.name), encodeEnvelope(this.nodeId, event)])).pipe(
        map(() => {
          this.announced.set(member.id, presence);
          return show();
        }),
        catchError((err: Error) => {
          this.trouble(err);
          return of(show());
        }),
      );
    });
  }

  leave(id: string): Observable<void> {
    return defer(() => {
      const presence = this.local.remove(id);
      if (presence) {
        const event: Event = { kind: 'offline', addr: presence.addr, name: presence.name };
        // Gone before its join was shown (its session ended while Redis was asked): no leave either.
        if (this.shown.delete(id)) this.broadcast.next(event);
        if (this.linked) {
          LEAVE.run(this.cmd, [this.prefix, this.nodeId, this.gid(id), encodeEnvelope(this.nodeId, event)]).then(
            () => this.announced.delete(id),
            (err: Error) => this.trouble(err),
          );
        } else this.changes++;
      }
      return of(undefined);
    });
  }

  rename(id: string, name: string): Answer<RenameResult> {
    const key = nameKey(name);
    if (!this.local.isFree(id, name)) return 'taken';
    if (!this.linked) return this.renameHere(id, name);
    const presence = this.local.get(id);
    const told = encodeEnvelope(this.nodeId, { kind: 'rename', addr: presence?.addr ?? '', name });
    return defer(() => from(RENAME.run(this.cmd, [this.prefix, this.gid(id), key, name, told]))).pipe(
        map((claimed): RenameResult => {
          if (claimed !== 1) return 'taken';
          const result = this.renameHere(id, name);
          const known = this.announced.get(id);
          if (known) this.announced.set(id, { ...known, name });
          return result;
        }),
        // Redis went away mid-claim: decide here, as in degraded mode; re-sync settles it.
        catchError((err: Error) => {
          this.trouble(err);
          return of(this.renameHere(id, name));
        }),
      );
  }

  list(): Answer<readonly Presence[]> {
    if (!this.linked) return this.local.list();
    return defer(() => from(LIST.run(this.cmd, [this.prefix]))).pipe(
      map((reply) => (Array.isArray(reply) ? decodeList(reply) : this.local.list())),
      catchError((err: Error) => {
        this.trouble(err);
        return of(this.local.list());
      }),
    );
  }

  say(id: string, text: string): void {
    const presence = this.local.get(id);
    if (!presence) return;
    const event: Event = { kind: 'say', addr: presence.addr, name: presence.name, text };
    this.broadcast.next(event);
    if (this.linked) this.cmd.publish(this.eventsChannel, encodeEnvelope(this.nodeId, event)).catch((err: Error) => this.trouble(err));
  }

  whisper(fromId: string, toName: string, text: string): Answer<boolean> {
    const sender = this.local.get(fromId);
    if (!sender) return false;
    const local = this.local.holder(toName);
    if (local !== undefined) return this.inboxes.deliver(local, { kind: 'private', from: sender.name, text });
    if (!this.linked) return false;
    return defer(() => from(WHISPER.run(this.cmd, [this.prefix, nameKey(toName), sender.name, text]))).pipe(
      map((receivers) => Number(receivers) > 0),
      catchError((err: Error) => {
        this.trouble(err);
        return of(false);
      }),
    );
  }

  /**
   * Leaves the cluster: members still here are announced offline to the other nodes (once,
   * by the same step that reaps a dead node), then both connections close.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.heartbeat.unsubscribe();
    this.settling?.unsubscribe();
    if (this.linked) {
      const farewell = (async () => {
        await this.cmd.del(`${this.prefix}:alive:${this.nodeId}`);
        await REAP.run(this.cmd, [this.prefix]);
      })().catch((err: Error) => this.trouble(err));
      // A Redis that hangs must not hold up shutdown: the lease expires and a survivor reaps us.
      await firstValueFrom(race(from(farewell), timer(CLOSE_WAIT_MS, this.scheduler)), { defaultValue: undefined });
    }
    this.linked = false;
    this.cmd.disconnect();
    this.sub.disconnect();
    this.broadcast.complete();
  }

  private gid(id: string): string {
    return `${this.nodeId}/${id}`;
  }

  private record(p: Presence): string {
    return JSON.stringify({ a: p.addr, n: p.name, k: nameKey(p.name), node: this.nodeId });
  }

  /** Whether no other local member holds the name. */
  /** Applies a rename locally (Redis agreed, or it cannot be asked). */
  private renameHere(id: string, name: string): RenameResult {
    const result = this.local.rename(id, name);
    if (result === 'ok' && !this.linked) this.changes++;
    return result;
  }

  private receive(channel: string, message: string): void {
    if (channel === this.eventsChannel) {
      // Our own events come back too: recognised without parsing (encodeEnvelope writes `o` first).
      if (message.startsWith(this.ownOrigin)) return;
      const envelope = decodeEnvelope(message);
      // Our own events were delivered here when they happened.
      if (!envelope || envelope.o === this.nodeId) return;
      if ('renamed' in envelope) {
        if (this.remote.has(envelope.renamed.addr)) this.remote.set(envelope.renamed.addr, { name: envelope.renamed.name, node: envelope.o });
        return;
      }
      const e = envelope.e;
      if (e.kind === 'online') {
        if (this.remote.has(e.addr)) return; // already told, by a re-sync
        this.remote.set(e.addr, { name: e.name, node: envelope.o });
      } else if (e.kind === 'offline') {
        if (!this.remote.delete(e.addr)) return;
      }
      this.broadcast.next(e);
    } else if (channel === this.inboxChannel) {
      const letter = decodeLetter(message);
      const prefix = `${this.nodeId}/`;
      if (letter?.to.startsWith(prefix)) this.inboxes.deliver(letter.to.slice(prefix.length), { kind: 'private', from: letter.from, text: letter.text });
    }
  }

  private beat(): void {
    if (!this.linked || this.closed) return;
    HEARTBEAT.run(this.cmd, [this.prefix, this.nodeId, this.leaseMs])
      .then((registered) => {
        if (registered === 1 && this.scheduler.now() < this.reapAfter) return;
        if (registered === 1) return REAP.run(this.cmd, [this.prefix]).then((reaped) => {
          if (Number(reaped) > 0) this.log(`redis: declared ${Number(reaped)} silent node(s) dead; their users were announced offline`);
        });
        // The others forgot us (we were reaped while paused, or Redis restarted empty).
        this.log('redis: this node was no longer registered; re-synchronising');
        this.linked = false;
        return this.relink();
      })
      .catch((err: Error) => this.trouble(err));
  }

  /** Goes local-only; users are told once per outage. */
  private unlink(why: string): void {
    if (this.closed || !this.linked) return;
    this.linked = false;
    this.log(`redis: link lost (${why}): cluster degraded, serving local users only`);
    this.degradedNotified = true;
    this.broadcast.next({ kind: 'cluster', state: 'degraded' });
  }

  /** Once both connections are up: subscribes and makes Redis agree with this node. */
  private relink(): Promise<void> {
    if (this.closed || this.linked || this.cmd.status !== 'ready' || this.sub.status !== 'ready') return Promise.resolve();
    this.syncing ??= this.resync().finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  private async resync(): Promise<void> {
    try {
      await this.sub.subscribe(this.eventsChannel, this.inboxChannel);
      await Promise.all(SCRIPTS.map((script) => script.load(this.cmd)));
      let lost: string[] = [];
      let everyone: Presence[] = [];
      let nodes: string[] = [];
      for (let round = 0; ; round++) {
        const before = this.changes;
        const here = this.local.list();
        const departed = [...this.announced.values()].filter((p) => !this.local.has(p.id));
        const reply = await RESYNC.run(this.cmd, [
          this.prefix,
          this.nodeId,
          this.leaseMs,
          JSON.stringify(here.map((p) => ({ g: this.gid(p.id), a: p.addr, n: p.name, k: nameKey(p.name), ak: nameKey(p.addr), ann: this.announced.has(p.id) }))),
          JSON.stringify(departed.map((p) => ({ g: this.gid(p.id), a: p.addr, n: p.name }))),
        ]);
        for (const p of departed) this.announced.delete(p.id);
        const [lostReply, listReply, nodesReply] = Array.isArray(reply) ? (reply as unknown[]) : [];
        const lostNow = Array.isArray(lostReply) ? lostReply.filter((g): g is string => typeof g === 'string') : [];
        if (Array.isArray(listReply)) everyone = decodeList(listReply);
        if (Array.isArray(nodesReply)) nodes = nodesReply.filter((n): n is string => typeof n === 'string');
        const lostIds = new Set(lostNow.map((g) => g.slice(this.nodeId.length + 1)));
        for (const p of here) this.announced.set(p.id, lostIds.has(p.id) ? { ...p, name: p.addr } : p);
        lost = lost.concat(lostNow);
        for (const id of lostIds) this.loseName(id);
        // Local changes while Redis was being asked were not in the snapshot: go again.
        if (this.changes === before || round >= 5) break;
      }
      if (this.closed || this.cmd.status !== 'ready' || this.sub.status !== 'ready') return;
      this.linked = true;
      this.troubleLogged = false;
      this.reapAfter = this.scheduler.now() + this.leaseMs;
      const what = this.everLinked ? 'link restored, presence re-synchronised' : 'linked';
      this.catchUp(everyone, nodes, false);
      this.log(`redis: ${what} as node ${this.nodeId} (${this.local.size} local users${lost.length ? `, ${lost.length} lost their name` : ''})`);
      if (this.degradedNotified) {
        this.degradedNotified = false;
        this.broadcast.next({ kind: 'cluster', state: 'restored' });
      }
    } catch (err) {
      this.trouble(err as Error);
    }
  }

  /**
   * Tells this node's users who joined and left elsewhere while it was away. Users of nodes
   * not registered (yet: Redis restarted, and they have not re-synchronised) are given a lease
   * to come back before being announced gone (`settle`).
   */
  private catchUp(everyone: readonly Presence[], nodes: readonly string[], settle: boolean): void {
    const mine = `${this.nodeId}/`;
    const now = new Map(
      everyone.filter((p) => !p.id.startsWith(mine)).map((p) => [p.addr, { name: p.name, node: p.id.slice(0, p.id.indexOf('/')) }] as const),
    );
    const live = new Set(nodes);
    const first = !this.everLinked;
    this.everLinked = true;
    const unsure = new Set<string>();
    for (const [addr, member] of this.remote) {
      if (now.has(addr)) continue;
      if (!settle && !live.has(member.node)) {
        unsure.add(member.node);
        continue;
      }
      this.remote.delete(addr);
      if (!first) this.broadcast.next({ kind: 'offline', addr, name: member.name });
    }
    for (const [addr, member] of now) {
      if (!this.remote.has(addr) && !first) this.broadcast.next({ kind: 'online', addr, name: member.name });
      this.remote.set(addr, member);
    }
    if (unsure.size > 0) {
      this.settling?.unsubscribe();
      this.settling = timer(this.leaseMs, this.scheduler).subscribe(() => {
        if (!this.linked) return; // the next re-sync starts over
        SETTLE.run(this.cmd, [this.prefix, JSON.stringify([...unsure])]).then((reply) => {
          const [list, registered] = Array.isArray(reply) ? (reply as unknown[]) : [];
          if (this.linked && Array.isArray(list) && Array.isArray(registered)) {
            this.catchUp(decodeList(list), registered.filter((n): n is string => typeof n === 'string'), true);
          }
        }, (err: Error) => this.trouble(err));
      });
    }
  }

  /** A member whose name went to someone else during an outage is back to its address. */
  private loseName(id: string): void {
    const presence = this.local.unname(id);
    if (!presence) return;
    this.inboxes.deliver(id, { kind: 'nameLost', name: presence.name, addr: presence.addr });
  }

  /** Logs a Redis error once per outage (a down Redis fails every command the same way). */
  private trouble(err: Error): void {
    if (this.closed) return;
    if (!this.troubleLogged) {
      this.troubleLogged = true;
      this.log(`redis: ${err.message}`);
    }
    if (err.message === 'Command timed out' && this.linked) {
      this.unlink('Redis is not answering');
      // A fresh connection is 'ready' only once Redis answers its ready check again.
      this.cmd.disconnect(true);
    } else if (this.cmd.status !== 'ready' || this.sub.status !== 'ready') this.unlink(err.message);
  }
}
