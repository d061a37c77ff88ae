/**
 * RedisHub: the `Hub` shared by several server nodes through one Redis. The public events
 * (joins, leaves, lines) go into one Redis stream, the cluster's log (`p:log`), and every node
 * delivers them from it, in its order, its own users' included: every user on every node sees
 * them in the same order, with the stream's ids, and only once the stream holds them. Presence
 * and unique names live in Redis (claimed by Lua scripts); private messages are routed to the
 * node holding the target over pub/sub (they are not logged). Each operation asks one question,
 * whether the link is up (`link.ts`): linked, it goes through Redis; otherwise this node serves
 * its own users alone, keeps their lines in a bounded buffer and adds them to the stream, in
 * order and with their original time, once the link is back; the reconciliation
 * (`reconcile.ts`) re-registers presence. Answers that need Redis are Observables.
 */
import { randomBytes } from 'node:crypto';
import { Observable, SchedulerLike, Subject, asyncScheduler, catchError, defer, from, isObservable, map, mergeMap, of } from 'rxjs';
import { Answer, Hub, Inboxes, LocalPresence, Presence, RenameResult } from '../hub';
import { Event, EventStamp, nameKey } from '../protocol';
import { IdClock, formatId, isLogged, parseId } from '../store/log';
import { Link, LinkState } from './link';
import { Reconciler } from './reconcile';
import { APPEND, CLAIM, JOIN, LEAVE, LIST, RENAME, WHISPER } from './scripts';
import { Pending, PendingItem, PendingLeave, PendingLine, StreamReader } from './stream';
import { RedisStreamLog } from './stream-log';
import {
  Entry,
  StreamEvent,
  decodeEnvelope,
  decodeLetter,
  decodeList,
  decodeReclaimed,
  decodeTakenBack,
  encodeEntry,
  encodeEnvelope,
  encodeRecord,
  globalId,
} from './wire';

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
   * open, a network drops packets silently): the node degrades and reconnects, instead of
   * leaving users' commands waiting. Default: 2 s, or half the node timeout if that is less
   * (a node must notice it is cut off before the others declare it dead), at least 250 ms.
   */
  readonly commandTimeoutMs?: number;
  /** The log stream's bound (`MAXLEN ~`): the cluster's `--history-max-lines`. */
  readonly maxLines?: number;
  /** Most events a node keeps while it cannot reach Redis (`--outage-buffer`); the oldest go past it. */
  readonly outageBuffer?: number;
  /** How long one blocking read of the stream waits (tests shorten it). */
  readonly blockMs?: number;
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
  maxLines: 100_000,
  outageBuffer: 10_000,
};

/** Most lines one APPEND carries: a burst goes in a few round trips, none of them long. */
const BATCH = 500;

export class RedisHub implements Hub {
  readonly nodeId: string;
  /** Of every key and channel: the chat this node is part of. */
  readonly prefix: string;
  /** The cluster's message log (the stream), for the server's `history|` and `since|`. */
  readonly log: RedisStreamLog;
  private readonly broadcast$ = new Subject<Event>();
  readonly events$ = this.broadcast$.asObservable();
  // Local truth: this node's members (by id, in join order) and the names they hold.
  private readonly local = new LocalPresence();
  private readonly inboxes = new Inboxes();
  private readonly shown = new Set<string>(); // members whose join this node's users have seen
  private readonly link: Link;
  private readonly reconcile: Reconciler;
  private readonly reader: StreamReader;
  /** This node's lines (and leaves) on their way into the stream; the outage buffer. */
  private readonly pending: Pending;
  private readonly maxLines: number;
  private readonly note: (line: string) => void;
  /** Ids for what this node shows outside the stream, kept after every stream id seen. */
  private readonly clock = new IdClock(Date.now, { ms: 0, seq: 0 });
  /** This node's line numbers (Entry.q). */
  private q = 0;
  /** The highest q delivered per origin node: a line sent twice is shown once. */
  private readonly seen = new Map<string, number>();
  private readonly waiting: { readonly id: string; readonly then: () => void }[] = [];
  /** The batch on its way to Redis now. */
  private inFlight: readonly PendingItem[] = [];
  /** Lines (and leaves) of ours in the stream that the reader has not given back yet, oldest first. */
  private unread: PendingItem[] = [];
  private flushing = false;
  private flushSoon = false;

  constructor(options: RedisHubOptions) {
    this.nodeId = options.nodeId ?? randomBytes(6).toString('hex');
    this.prefix = options.prefix ?? REDIS_DEFAULTS.prefix;
    this.maxLines = options.maxLines ?? REDIS_DEFAULTS.maxLines;
    const log = (this.note = options.log ?? (() => {}));
    const nodeTimeoutMs = options.nodeTimeoutMs ?? REDIS_DEFAULTS.nodeTimeoutMs;
    const reconnectMs = options.reconnectMs ?? REDIS_DEFAULTS.reconnectMs;
    const scheduler = options.scheduler ?? asyncScheduler;
    const limit = options.outageBuffer ?? REDIS_DEFAULTS.outageBuffer;
    this.pending = new Pending(limit, () => log(`redis: outage buffer full (${limit} events): dropping the oldest lines said here until the link is back`));
    this.link = new Link(
      {
        url: options.url,
        prefix: this.prefix,
        nodeId: this.nodeId,
        leaseMs: nodeTimeoutMs,
        reconnectMs,
        commandTimeoutMs: options.commandTimeoutMs ?? Math.max(250, Math.min(REDIS_DEFAULTS.commandTimeoutMs, Math.floor(nodeTimeoutMs / 2))),
        maxLen: this.maxLines,
        blockMs: options.blockMs,
        scheduler,
        log,
      },
      {
        resync: () => this.reconcile.resync(),
        notice: (state) => {
          if (state === 'degraded') {
            this.showUnseen();
            // A catch-up that waited for the stream is stale now: the next re-sync makes its own.
            this.waiting.length = 0;
          }
          this.broadcast$.next({ kind: 'cluster', state });
        },
        message: (channel, message) => this.receive(channel, message),
        linked: () => this.relinked(),
      },
    );
    this.reconcile = new Reconciler(
      this.link,
      this.local,
      this.inboxes,
      (event) => this.broadcast$.next(event),
      this.maxLines,
      (id, then) => this.whenRead(id, then),
    );
    this.reader = new StreamReader({
      redis: this.link.reader,
      key: this.link.logKey,
      blockMs: this.link.blockMs,
      retryMs: reconnectMs,
      scheduler,
      linked: () => this.link.linked,
      entry: (id, entry) => this.heard(id, entry),
      batch: () => this.read(),
      trouble: (err) => this.link.trouble(err),
    });
    this.log = new RedisStreamLog({ link: this.link, stamp: () => this.stampNow(), newest: () => this.clock.last });
  }

  /** Connects and registers this node; rejects when Redis cannot be reached (the hub stays usable, degraded). */
  start(): Promise<void> {
    return this.link.start();
  }

  /** True while the node shares the chat with the others (false: local only). */
  get clustered(): boolean {
    return this.link.linked;
  }

  /** How many nodes are registered in the cluster, this one included (the metrics ask at scrape time). */
  nodes(): Promise<number> {
    return this.link.cmd.scard(`${this.prefix}:nodes`);
  }

  /** Where the link to Redis is in its life cycle (see `link.ts`). */
  get linkState(): LinkState {
    return this.link.current;
  }

  /** Events said here and not yet in the stream (the outage buffer's fill). */
  get backlog(): number {
    return this.pending.size;
  }

  get size(): number {
    return this.local.size;
  }

  inbox(id: string): Observable<Event> {
    return this.inboxes.inbox(id);
  }

  /**
   * Takes effect now; linked, the answer comes once Redis has the member (the Observable only
   * carries it), and its join line comes from the stream like everyone's.
   */
  join(member: { readonly id: string; readonly addr: string }): Answer<Presence> {
    const presence = this.local.add(member.id, member.addr);
    this.reconcile.changed();
    const event: StreamEvent = { kind: 'online', addr: presence.addr, name: presence.name };
    // Shown here at once when the stream cannot show it: the re-sync tells the others later.
    const showHere = (): Presence => {
      if (this.local.has(member.id)) {
        this.shown.add(member.id);
        this.broadcast$.next({ ...event, stamp: this.stampNow() });
      }
      return presence;
    };
    if (!this.link.linked) return showHere();
    const joined = JOIN.run(this.link.cmd, [
      this.prefix,
      this.nodeId,
      globalId(this.nodeId, member.id),
      encodeRecord(this.nodeId, presence),
      nameKey(presence.name),
      encodeEntry({ o: this.nodeId, e: event }),
      this.maxLines,
    ]).then(
      () => {
        this.shown.add(member.id);
        this.reconcile.announce(presence);
        return presence;
      },
      (err: unknown) => {
        this.link.trouble(err);
        return showHere();
      },
    );
    return from(joined);
  }

  leave(id: string): void {
    const presence = this.local.remove(id);
    if (!presence) return;
    this.reconcile.changed();
    const event = { kind: 'offline', addr: presence.addr, name: presence.name } as const;
    const wasShown = this.shown.delete(id);
    if (this.link.linked) {
      // Behind the member's lines still on their way: the others see them before it leaves.
      this.pending.add({ kind: 'leave', q: ++this.q, id, event, shown: false });
      this.flushLater();
    } else if (wasShown) {
      // The re-sync announces it to the others.
      this.broadcast$.next({ ...event, stamp: this.stampNow() });
    }
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

  /**
   * Takes the name whoever holds it. Linked, the CLAIM script takes it in one step from a
   * holder on any node, which gets its address back as its name; a holder here is told at
   * once, one on another node by its node (`reclaimedElsewhere`). Cut off, a holder on this
   * node gets its address back (here, and in Redis at the re-sync) before the name is claimed.
   */
  claim(id: string, name: string): Answer<RenameResult> {
    if (this.link.linked && this.local.has(id)) return this.claimEverywhere(id, name);
    const holder = this.local.holder(name);
    const displaced = holder === undefined || holder === id ? undefined : this.local.get(holder);
    if (!displaced) return this.rename(id, name);
    const freed$ = this.rename(displaced.id, displaced.addr);
    const next$ = (): Answer<RenameResult> => {
      this.inboxes.deliver(displaced.id, { kind: 'reclaimed', name: displaced.name, addr: displaced.addr });
      return this.rename(id, name);
    };
    if (!isObservable(freed$)) return next$();
    return freed$.pipe(
      mergeMap(() => {
        const answer$ = next$();
        return isObservable(answer$) ? answer$ : of(answer$);
      }),
    );
  }

  private claimEverywhere(id: string, name: string): Answer<RenameResult> {
    const presence = this.local.get(id);
    const told = encodeEnvelope(this.nodeId, { kind: 'rename', addr: presence?.addr ?? '', name });
    // Here, as Redis now has it: whoever holds the name on this node when the answer comes (not
    // when it was asked: another login or rename may have come between) gives it up.
    const takeHere = (): RenameResult => {
      if (!this.local.has(id)) return 'taken';
      const displaced = this.local.take(id, name);
      if (displaced) this.reclaimed(displaced);
      this.reconcile.renamed(id, name);
      this.reconcile.changed();
      return 'ok';
    };
    return defer(() => from(CLAIM.run(this.link.cmd, [this.prefix, globalId(this.nodeId, id), nameKey(name), name, told]))).pipe(
      map(takeHere),
      // Redis went away mid-claim: decide here, as when not linked; the re-sync settles it.
      catchError((err: unknown) => {
        this.link.trouble(err);
        return of(takeHere());
      }),
    );
  }

  /** A member whose name a login took, back to its address here already (as it was before): told so. */
  private reclaimed(displaced: Presence): void {
    this.reconcile.renamed(displaced.id, displaced.addr);
    this.inboxes.deliver(displaced.id, { kind: 'reclaimed', name: displaced.name, addr: displaced.addr });
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

  /**
   * Linked: the line goes into the stream (batched per turn) and is shown here when the stream
   * gives it back, with everyone else's, in the stream's order. Cut off: shown here at once, and
   * kept (bounded) to be added to the stream, with its time, when the link is back.
   */
  say(id: string, text: string): void {
    const presence = this.local.get(id);
    if (!presence) return;
    const event = { kind: 'say', addr: presence.addr, name: presence.name, text } as const;
    if (this.link.linked) {
      this.pending.add({ kind: 'say', q: ++this.q, event, time: Date.now(), shown: false });
      this.flushLater();
      return;
    }
    const stamp = this.stampNow();
    this.broadcast$.next({ ...event, stamp });
    this.pending.add({ kind: 'say', q: ++this.q, event, time: stamp.time, shown: true });
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
   * other nodes by the link's farewell, then the connections close. Lines still waiting to go
   * into the stream get one try first.
   */
  async close(): Promise<void> {
    if (this.link.current === 'closed') return;
    this.reconcile.stop();
    this.broadcast$.complete();
    if (this.link.linked && this.pending.size > 0) await this.flush();
    this.reader.stop();
    await this.link.close();
    const lost = this.pending.size + this.pending.resetDropped();
    if (lost > 0) this.note(`redis: closed with ${lost} event(s) said here that never reached the stream`);
  }

  /** A stamp for something shown here outside the stream: after every stream id seen so far. */
  private stampNow(): EventStamp {
    const parts = this.clock.next();
    return { id: formatId(parts), time: Date.now() };
  }

  /** Applies a rename locally (Redis agreed, or it cannot be asked). */
  private renameHere(id: string, name: string): RenameResult {
    const result = this.local.rename(id, name);
    if (result === 'ok') this.reconcile.changed();
    return result;
  }

  /** The link is up again (or for the first time): what waited goes into the stream, reading resumes. */
  private relinked(): void {
    const dropped = this.pending.resetDropped();
    if (dropped > 0) this.note(`redis: ${dropped} event(s) said here during the outage were dropped (over the outage buffer)`);
    if (this.pending.size > 0) this.note(`redis: adding ${this.pending.size} event(s) said here during the outage to the stream`);
    this.flushLater();
    this.reader.wake();
  }

  private flushLater(): void {
    if (this.flushSoon || this.flushing) return;
    this.flushSoon = true;
    // A turn's lines (one socket read can hold hundreds) go in one batch.
    setImmediate(() => {
      this.flushSoon = false;
      void this.flush();
    });
  }

  /**
   * Sends what is pending, oldest first, one batch at a time: anything said later waits behind
   * it, so a node's lines enter the stream in the order they were said, an outage's included.
   */
  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      // Each turn sends at least one item or stops.
      while (this.link.linked && this.pending.size > 0) {
        const head = this.pending.peek();
        if (head?.kind === 'leave') {
          this.pending.shift();
          await this.sendLeave(head);
          continue;
        }
        const batch = this.pending.takeLines(BATCH);
        this.inFlight = batch;
        try {
          await APPEND.run(this.link.cmd, [this.prefix, this.nodeId, this.maxLines, ...batch.flatMap((line) => [line.q, this.entryOf(line)])]);
          this.inFlight = [];
          // The reader may have given some back already (it has a connection of its own).
          for (const line of batch) if (!line.shown && !this.delivered(line)) this.unread.push(line);
        } catch (err) {
          this.inFlight = [];
          this.pending.putBack(batch);
          this.link.trouble(err);
          // Cut off meanwhile: what was on its way is shown here now, in order.
          if (!this.link.linked) this.showUnseen();
          break;
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private entryOf(line: PendingLine): string {
    // Always with the time it was said: a batch can wait (an outage, Redis frozen mid-write).
    return encodeEntry({ o: this.nodeId, q: line.q, e: line.event, t: line.time, ...(line.shown ? { s: true } : {}) });
  }

  private async sendLeave(leave: PendingLeave): Promise<void> {
    this.inFlight = [leave];
    try {
      const entry = encodeEntry({ o: this.nodeId, q: leave.q, e: leave.event, ...(leave.shown ? { s: true } : {}) });
      await LEAVE.run(this.link.cmd, [this.prefix, this.nodeId, globalId(this.nodeId, leave.id), entry, this.maxLines]);
      this.reconcile.withdraw(leave.id);
      if (!leave.shown && !this.delivered(leave)) this.unread.push(leave);
    } catch (err) {
      // Still announced as present: the re-sync removes and announces it.
      this.link.trouble(err);
      if (!this.link.linked) this.showUnseen();
    } finally {
      this.inFlight = [];
    }
  }

  /**
   * The link went down: this node's own lines and leaves that its users have not seen yet
   * (unread from the stream, on their way, or waiting) are shown here now, in the order they
   * were said, so that they do not see later ones first. A copy the stream gives back later is
   * skipped (by its q; a leave by its flag or the presence check).
   */
  private showUnseen(): void {
    const items = [...this.unread, ...this.inFlight, ...this.pending.all()];
    this.unread = [];
    for (const item of items) {
      if (item.shown || this.delivered(item)) continue;
      item.shown = true;
      this.seen.set(this.nodeId, item.q);
      if (item.kind === 'say') this.broadcast$.next({ ...item.event, stamp: { id: formatId(this.clock.next()), time: item.time } });
      else this.broadcast$.next({ ...item.event, stamp: this.stampNow() });
    }
  }

  /** Whether the stream gave one of ours back already (items are delivered in q order). */
  private delivered(item: PendingItem): boolean {
    return item.q <= (this.seen.get(this.nodeId) ?? 0);
  }

  /** An entry of the stream, in stream order. */
  private heard(id: string, entry: Entry | undefined): void {
    const parts = parseId(id);
    if (parts) this.clock.observe(parts);
    if (!entry || !parts) return;
    const own = entry.o === this.nodeId;
    if (own) this.gotBack(entry);
    // Ours, and our users saw it already (said during an outage; presence from a reconciliation).
    if (own && (entry.s || entry.r)) return;
    if (entry.q !== undefined) {
      if (entry.q <= (this.seen.get(entry.o) ?? 0)) return;
      this.seen.set(entry.o, entry.q);
    }
    const event = own ? entry.e : this.reconcile.heard({ o: entry.o, e: entry.e });
    if (event === undefined || !isLogged(event)) return;
    const stamped: Event = { ...event, stamp: { id, time: entry.t ?? parts.ms } };
    this.broadcast$.next(stamped);
  }

  /** One of ours came back from the stream: no longer unread. */
  private gotBack(entry: Entry): void {
    const q = entry.q;
    if (q !== undefined && this.unread.length > 0 && this.unread[0].q <= q) this.unread = this.unread.filter((item) => item.q > q);
  }

  /** Runs `then` once the reader has handed over everything up to `id`. */
  private whenRead(id: string, then: () => void): void {
    const at = this.reader.position;
    if (at === undefined) {
      // The first link: reading starts here, and whatever came before is not ours to deliver.
      this.reader.start(id);
      then();
    } else if (!isAfter(id, at)) {
      then();
    } else {
      this.waiting.push({ id, then });
      this.reader.wake();
    }
  }

  /** After each batch read: the catch-ups that were waiting for it. */
  private read(): void {
    const at = this.reader.position;
    if (at === undefined) return;
    for (let i = 0; i < this.waiting.length;) {
      const w = this.waiting[i];
      if (isAfter(w.id, at)) i++;
      else {
        this.waiting.splice(i, 1);
        w.then();
      }
    }
  }

  private receive(channel: string, message: string): void {
    if (channel === this.link.eventsChannel) {
      const envelope = decodeEnvelope(message);
      if (envelope && envelope.o !== this.nodeId && 'renamed' in envelope) this.reconcile.heard(envelope);
    } else if (channel === this.link.inboxChannel) {
      const mine = `${this.nodeId}/`;
      const back = decodeTakenBack(message);
      if (back?.to.startsWith(mine)) return this.giveBack(back.to.slice(mine.length), back.lost, back.addr);
      const reclaimed = decodeReclaimed(message);
      if (reclaimed?.to.startsWith(mine)) return this.reclaimedElsewhere(reclaimed.to.slice(mine.length), reclaimed.reclaimed);
      const letter = decodeLetter(message);
      if (letter?.to.startsWith(mine)) this.inboxes.deliver(letter.to.slice(mine.length), { kind: 'private', from: letter.from, text: letter.text });
    }
  }

  /** A login on another node took this member's name (the CLAIM script): unless it already let go of it. */
  private reclaimedElsewhere(id: string, name: string): void {
    const presence = this.local.get(id);
    if (!presence || nameKey(presence.name) !== nameKey(name)) return;
    this.local.unname(id);
    this.reclaimed(presence);
    this.reconcile.changed();
  }

  /** Redis gave a name this member took during a cut back to the one who held it all along. */
  private giveBack(id: string, name: string, addr: string): void {
    const presence = this.local.get(id);
    if (!presence || nameKey(presence.name) !== nameKey(name)) return;
    this.local.unname(id);
    this.reconcile.renamed(id, presence.addr);
    this.reconcile.changed();
    this.inboxes.deliver(id, { kind: 'nameLost', name, addr });
  }
}

/** Whether id a is after id b in the stream. */
function isAfter(a: string, b: string): boolean {
  const pa = parseId(a);
  const pb = parseId(b);
  return pa !== undefined && pb !== undefined && (pa.ms > pb.ms || (pa.ms === pb.ms && pa.seq > pb.seq));
}
