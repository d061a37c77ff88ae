/**
 * Reconciliation: what keeps this node and the others in agreement across an outage. When the
 * link (re)forms, `resync` makes Redis agree with what happened here alone (joins, leaves and
 * renames). Who came and went elsewhere meanwhile, this node's users learn from the log
 * stream, which the node reads on from where it stopped; `catchUp` then tells them only what
 * the stream no longer holds (Redis lost its data, or trimmed past where this node stopped).
 * Users of nodes that have not re-registered yet (Redis restarted empty) get one lease to come
 * back before being announced gone: the settle timer.
 */
import { Subscription, timer } from 'rxjs';
import { Inboxes, LocalPresence, Presence } from '../hub';
import { Event, nameKey } from '../protocol';
import { Link, Resynced } from './link';
import { RESYNC, SETTLE } from './scripts';
import { Envelope, decodeList, globalId } from './wire';

/** Local changes racing a re-sync make it go again, this many times at most. */
const MAX_ROUNDS = 6;

const strings = (values: readonly unknown[]): string[] => values.filter((v): v is string => typeof v === 'string');

export class Reconciler {
  /**
   * The other nodes' members as this node's users know them (addr -> name, node): compared
   * with Redis after an outage, and a late duplicate join or leave is dropped.
   */
  private readonly remote = new Map<string, { readonly name: string; readonly node: string }>();
  /**
   * What the other nodes have been told about our members, as they were told it: its
   * difference with the local members is what a re-sync must announce.
   */
  private readonly announced = new Map<string, Presence>();
  /** Bumped by every local change (join, leave, rename): a re-sync that raced one goes again. */
  private changes = 0;
  private settling: Subscription | undefined;
  /** This node has registered with Redis before: if Redis no longer knows it, Redis lost its data. */
  private registered = false;

  constructor(
    private readonly link: Link,
    private readonly local: LocalPresence,
    private readonly inboxes: Inboxes,
    /** Delivers an event to this node's users. */
    private readonly tell: (event: Event) => void,
    /** The log stream's bound, for the announcements RESYNC adds to it. */
    private readonly maxLines: number,
    /** Runs a function once the node has read the log stream up to an id. */
    private readonly whenRead: (id: string, then: () => void) => void,
  ) {}

  /** A member joined, left or was renamed here. */
  changed(): void {
    this.changes++;
  }

  /** The other nodes were told of this member's join (or rename). */
  announce(presence: Presence): void {
    this.announced.set(presence.id, presence);
  }

  /** The other nodes were told this member left. */
  withdraw(id: string): void {
    this.announced.delete(id);
  }

  /** The other nodes were told this member's new name. */
  renamed(id: string, name: string): void {
    const known = this.announced.get(id);
    if (known) this.announced.set(id, { ...known, name });
  }

  /**
   * An event from another node, as this node's users should see it: undefined for a rename
   * (no user event) and for a join or leave they have already been told of (by a catch-up).
   */
  heard(envelope: Envelope): Event | undefined {
    if (envelope.o === this.link.nodeId) return 'e' in envelope ? envelope.e : undefined;
    if ('renamed' in envelope) {
      const { addr, name } = envelope.renamed;
      if (this.remote.has(addr)) this.remote.set(addr, { name, node: envelope.o });
      return undefined;
    }
    const e = envelope.e;
    if (e.kind === 'online') {
      if (this.remote.has(e.addr)) return undefined;
      this.remote.set(e.addr, { name: e.name, node: envelope.o });
    } else if (e.kind === 'offline') {
      if (!this.remote.delete(e.addr)) return undefined;
    }
    return e;
  }

  /**
   * Makes Redis agree with this node (one script: registers the node, announces who joined
   * and left here meanwhile, claims the names again); members whose name went to someone
   * else meanwhile get their address back. Rejects when Redis fails.
   */
  async resync(): Promise<Resynced> {
    const { cmd, prefix, nodeId, leaseMs } = this.link;
    let lost = 0;
    let everyone: Presence[] = [];
    let nodes: string[] = [];
    let tail = '0-0';
    for (let round = 1; ; round++) {
      const before = this.changes;
      const here = this.local.list();
      const departed = [...this.announced.values()].filter((p) => !this.local.has(p.id));
      const reply = await RESYNC.run(cmd, [
        prefix,
        nodeId,
        leaseMs,
        JSON.stringify(
          here.map((p) => ({ g: globalId(nodeId, p.id), a: p.addr, n: p.name, k: nameKey(p.name), ak: nameKey(p.addr), ann: this.announced.has(p.id) })),
        ),
        JSON.stringify(departed.map((p) => ({ g: globalId(nodeId, p.id), a: p.addr, n: p.name }))),
        this.maxLines,
        this.registered ? '1' : '0',
      ]);
      this.registered = true;
      for (const p of departed) this.announced.delete(p.id);
      const [lostReply, listReply, nodesReply, tailReply] = Array.isArray(reply) ? (reply as unknown[]) : [];
      if (typeof tailReply === 'string') tail = tailReply;
      if (Array.isArray(listReply)) everyone = decodeList(listReply);
      if (Array.isArray(nodesReply)) nodes = strings(nodesReply);
      const lostIds = new Set(strings(Array.isArray(lostReply) ? lostReply : []).map((g) => g.slice(nodeId.length + 1)));
      for (const p of here) this.announced.set(p.id, lostIds.has(p.id) ? { ...p, name: p.addr } : p);
      lost += lostIds.size;
      for (const id of lostIds) this.loseName(id);
      // Local changes while Redis was being asked were not in the snapshot: go again.
      if (this.changes === before || round >= MAX_ROUNDS) break;
    }
    return {
      summary: `${this.local.size} local users${lost ? `, ${lost} lost their name` : ''}`,
      // After the stream up to the re-sync has been read: what it told is no news.
      catchUp: (first) => this.whenRead(tail, () => this.catchUp(everyone, nodes, first, false)),
    };
  }

  /** Ends the settle timer (the hub is closing). */
  stop(): void {
    this.settling?.unsubscribe();
  }

  /**
   * Tells this node's users who joined and left elsewhere while it was away (the first time,
   * only learns who is there). Users of nodes not registered (yet) are given a lease to come
   * back before being announced gone, unless this is that lease's end (`settle`).
   */
  private catchUp(everyone: readonly Presence[], nodes: readonly string[], first: boolean, settle: boolean): void {
    const mine = `${this.link.nodeId}/`;
    const now = new Map(everyone.filter((p) => !p.id.startsWith(mine)).map((p) => [p.addr, { name: p.name, node: p.id.slice(0, p.id.indexOf('/')) }] as const));
    const live = new Set(nodes);
    const unsure = new Set<string>();
    for (const [addr, member] of this.remote) {
      if (now.has(addr)) continue;
      if (!settle && !live.has(member.node)) {
        unsure.add(member.node);
        continue;
      }
      this.remote.delete(addr);
      if (!first) this.tell({ kind: 'offline', addr, name: member.name });
    }
    for (const [addr, member] of now) {
      if (!this.remote.has(addr) && !first) this.tell({ kind: 'online', addr, name: member.name });
      this.remote.set(addr, member);
    }
    if (unsure.size > 0) {
      this.settling?.unsubscribe();
      this.settling = timer(this.link.leaseMs, this.link.scheduler).subscribe({
        next: () => void this.settle([...unsure]),
        error: (err: unknown) => this.link.trouble(err),
      });
    }
  }

  /** A lease after a catch-up: the nodes still absent are given up, and their users announced gone. */
  private async settle(absent: readonly string[]): Promise<void> {
    if (!this.link.linked) return; // the next re-sync starts over
    try {
      const reply = await SETTLE.run(this.link.cmd, [this.link.prefix, JSON.stringify(absent)]);
      const [list, registered] = Array.isArray(reply) ? (reply as unknown[]) : [];
      if (this.link.linked && Array.isArray(list) && Array.isArray(registered)) this.catchUp(decodeList(list), strings(registered), false, true);
    } catch (err) {
      this.link.trouble(err);
    }
  }

  /** A member whose name went to someone else during an outage is back to its address, and told. */
  private loseName(id: string): void {
    const presence = this.local.unname(id);
    if (presence) this.inboxes.deliver(id, { kind: 'nameLost', name: presence.name, addr: presence.addr });
  }
}
