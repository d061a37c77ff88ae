/**
 * RedisHub: the `Hub` shared by several server nodes through one Redis. Broadcast over
 * pub/sub, presence and unique names in Redis (claimed by Lua scripts), private messages
 * routed to the node holding the target. Each operation asks one question, whether the link
 * is up (`link.ts`): linked, it goes through Redis; otherwise this node decides alone with its
 * own members, and the reconciliation (`reconcile.ts`) tells the others once the link is back.
 * Answers that need Redis are Observables (they compose with the session); the rest are values.
 */
import { randomBytes } from 'node:crypto';
import { Observable, SchedulerLike, Subject, asyncScheduler, catchError, defer, from, map, of } from 'rxjs';
import { Answer, Hub, Inboxes, LocalPresence, Presence, RenameResult } from '../hub';
import { Event, nameKey } from '../protocol';
import { Link, LinkState } from './link';
import { Reconciler } from './reconcile';
import { JOIN, LEAVE, LIST, RENAME, WHISPER } from './scripts';
import { decodeEnvelope, decodeLetter, decodeList, encodeEnvelope, encodeRecord, globalId } from './wire';

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
  /** Drives the heartbeat and the timers. */
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

export class RedisHub implements Hub {
  readonly nodeId: string;
  /** Of every key and channel: the chat this node is part of. */
  readonly prefix: string;
  private readonly broadcast$ = new Subject<Event>();
  readonly events$ = this.broadcast$.asObservable();
  // Local truth: this node's members (by id, in join order) and the names they hold.
  private readonly local = new LocalPresence();
  private readonly inboxes = new Inboxes();
  private readonly shown = new Set<string>(); // members whose join this node's users have seen
  private readonly link: Link;
  private readonly reconcile: Reconciler;
  /** How this node's own events start on the channel (encodeEnvelope writes `o` first). */
  private readonly ownOrigin: string;

  constructor(options: RedisHubOptions) {
    this.nodeId = options.nodeId ?? randomBytes(6).toString('hex');
    this.prefix = options.prefix ?? REDIS_DEFAULTS.prefix;
    this.ownOrigin = `{"o":${JSON.stringify(this.nodeId)},`;
    this.link = new Link(
      {
        url: options.url,
        prefix: this.prefix,
        nodeId: this.nodeId,
        leaseMs: options.nodeTimeoutMs ?? REDIS_DEFAULTS.nodeTimeoutMs,
        reconnectMs: options.reconnectMs ?? REDIS_DEFAULTS.reconnectMs,
        commandTimeoutMs: options.commandTimeoutMs ?? REDIS_DEFAULTS.commandTimeoutMs,
        scheduler: options.scheduler ?? asyncScheduler,
        log: options.log ?? (() => {}),
      },
      {
        resync: () => this.reconcile.resync(),
        notice: (state) => this.broadcast$.next({ kind: 'cluster', state }),
        message: (channel, message) => this.receive(channel, message),
      },
    );
    this.reconcile = new Reconciler(this.link, this.local, this.inboxes, (event) => this.broadcast$.next(event));
  }

  /** Connects and registers this node; rejects when Redis cannot be reached (the hub stays usable, degraded). */
  start(): Promise<void> {
    return this.link.start();
  }

  /** True while the node shares the chat with the others (false: local only). */
  get clustered(): boolean {
    return this.link.linked;
  }

  /** Where the link to Redis is in its life cycle (see `link.ts`). */
  get linkState(): LinkState {
    return this.link.current;
  }

  get size(): number {
    return this.local.size;
  }

  inbox(id: string): Observable<Event> {
    return this.inboxes.inbox(id);
  }

  /** Takes effect now; linked, the answer comes once Redis has the member (the Observable only carries it). */
  join(member: { readonly id: string; readonly addr: string }): Answer<Presence> {
    const presence = this.local.add(member.id, member.addr);
    this.reconcile.changed();
    const event: Event = { kind: 'online', addr: presence.addr, name: presence.name };
    // Shown here once Redis has it: whoever sees the join, on any node, then finds the member
    // in `who`. Not if the member left meanwhile (its session ended while Redis was asked).
    const show = (): Presence => {
      if (this.local.has(member.id)) {
        this.shown.add(member.id);
        this.broadcast$.next(event);
      }
      return presence;
    };
    if (!this.link.linked) return show();
    const joined = JOIN.run(this.link.cmd, [
      this.prefix,
      this.nodeId,
      globalId(this.nodeId, member.id),
      encodeRecord(this.nodeId, presence),
      nameKey(presence.name),
      encodeEnvelope(this.nodeId, event),
    ]).then(
      () => {
        this.reconcile.announce(presence);
        return show();
      },
      (err: unknown) => {
        this.link.trouble(err);
        return show();
      },
    );
    return from(joined);
  }

  leave(id: string): void {
    const presence = this.local.remove(id);
    if (!presence) return;
    this.reconcile.changed();
    const event: Event = { kind: 'offline', addr: presence.addr, name: presence.name };
    // Gone before its join was shown (its session ended while Redis was asked): no leave either.
    if (this.shown.delete(id)) this.broadcast$.next(event);
    if (!this.link.linked) return;
    LEAVE.run(this.link.cmd, [this.prefix, this.nodeId, globalId(this.nodeId, id), encodeEnvelope(this.nodeId, event)]).then(
      () => this.reconcile.withdraw(id),
      (err: unknown) => this.link.trouble(err),
    );
  }

  rename(id: string, name: string): Answer<RenameResult> {
    if (!this.local.isFree(id, name)) return 'taken';
    if (!this.link.linked) return this.renameHere(id, name);
    const presence = this.local.get(id);
    const told = encodeEnvelope(this.nodeId, { kind: 'rename', addr: presence?.addr ?? '', name });
    return defer(() => from(RENAME.run(this.link.cmd, [this.prefix, globalId(this.nodeId, id), nameKey(name), name, told]))).pipe(
      map((claimed): RenameResult => {
        if (claimed !== 1) return 'taken';
        this.reconcile.renamed(id, name);
        return this.renameHere(id, name);
      }),
      // Redis went away mid-claim: decide here, as when not linked; the re-sync settles it.
      catchError((err: unknown) => {
        this.link.trouble(err);
        return of(this.renameHere(id, name));
      }),
    );
  }

  list(): Answer<readonly Presence[]> {
    if (!this.link.linked) return this.local.list();
    return defer(() => from(LIST.run(this.link.cmd, [this.prefix]))).pipe(
      map((reply) => (Array.isArray(reply) ? decodeList(reply) : this.local.list())),
      catchError((err: unknown) => {
        this.link.trouble(err);
        return of(this.local.list());
      }),
    );
  }

  say(id: string, text: string): void {
    const presence = this.local.get(id);
    if (!presence) return;
    const event: Event = { kind: 'say', addr: presence.addr, name: presence.name, text };
    this.broadcast$.next(event);
    if (this.link.linked) this.link.cmd.publish(this.link.eventsChannel, encodeEnvelope(this.nodeId, event)).catch((err: unknown) => this.link.trouble(err));
  }

  whisper(fromId: string, toName: string, text: string): Answer<boolean> {
    const sender = this.local.get(fromId);
    if (!sender) return false;
    const local = this.local.holder(toName);
    if (local !== undefined) return this.inboxes.deliver(local, { kind: 'private', from: sender.name, text });
    if (!this.link.linked) return false;
    return defer(() => from(WHISPER.run(this.link.cmd, [this.prefix, nameKey(toName), sender.name, text]))).pipe(
      map((receivers) => Number(receivers) > 0),
      catchError((err: unknown) => {
        this.link.trouble(err);
        return of(false);
      }),
    );
  }

  /**
   * Leaves the cluster. `events$` completes at once (as the `Hub` contract says: leaves during
   * a shutdown are not delivered here); the members still here are announced offline to the
   * other nodes by the link's farewell, then both connections close.
   */
  async close(): Promise<void> {
    if (this.link.current === 'closed') return;
    this.reconcile.stop();
    this.broadcast$.complete();
    await this.link.close();
  }

  /** Applies a rename locally (Redis agreed, or it cannot be asked). */
  private renameHere(id: string, name: string): RenameResult {
    const result = this.local.rename(id, name);
    if (result === 'ok') this.reconcile.changed();
    return result;
  }

  private receive(channel: string, message: string): void {
    if (channel === this.link.eventsChannel) {
      // Our own events were delivered here when they happened; their echo is recognised without parsing.
      if (message.startsWith(this.ownOrigin)) return;
      const envelope = decodeEnvelope(message);
      if (!envelope || envelope.o === this.nodeId) return;
      const event = this.reconcile.heard(envelope);
      if (event) this.broadcast$.next(event);
    } else if (channel === this.link.inboxChannel) {
      const letter = decodeLetter(message);
      const mine = `${this.nodeId}/`;
      if (letter?.to.startsWith(mine)) this.inboxes.deliver(letter.to.slice(mine.length), { kind: 'private', from: letter.from, text: letter.text });
    }
  }
}
