/**
 * The hub: who is online (presence) and the broadcast every session subscribes to.
 * `Hub` is the seam between sessions and the place presence lives: `MemoryHub` keeps it in
 * this process; a Redis-backed hub can replace it without the session changing, which is
 * why every operation that may need a round trip returns an Observable.
 */
import { Observable, Subject, Subscriber, defer, of } from 'rxjs';
import { Event, nameKey } from './protocol';

export interface Presence {
  /** Unique per connection (not per name): names change, ids do not. */
  readonly id: string;
  readonly addr: string;
  readonly name: string;
}

export type RenameResult = 'ok' | 'taken';

export interface Hub {
  /** Every broadcast event (joins, leaves, public messages), in order. */
  readonly events$: Observable<Event>;
  /** The private messages addressed to one member. Subscribe before joining. */
  inbox(id: string): Observable<Event>;
  /** Puts a member online under its address as name and announces it to everyone. */
  join(member: { readonly id: string; readonly addr: string }): Observable<Presence>;
  /** Takes a member offline and announces it, once: leaving twice is a no-op. */
  leave(id: string): Observable<void>;
  /** Claims a name, atomically: check and take are one step. */
  rename(id: string, name: string): Observable<RenameResult>;
  /** Everyone online, in the order they joined. */
  list(): Observable<readonly Presence[]>;
  /** A public message from a member, under the member's current name. */
  say(id: string, text: string): void;
  /** A private message; emits false when nobody has that name. */
  whisper(fromId: string, toName: string, text: string): Observable<boolean>;
  /** How many members are online here. */
  readonly size: number;
  /**
   * Ends the hub: `events$` completes, so leaves after this are not delivered here (a
   * shutdown costs O(n), not a leave line to everyone still connected for each user), and a
   * shared hub tells the other nodes that this node's members are gone. Idempotent.
   */
  close(): Promise<void>;
}

/** The members' private lines on this node: one subscriber per member id. */
export class Inboxes {
  private readonly open = new Map<string, Subscriber<Event>>();

  /** A member's inbox, open while subscribed. */
  inbox(id: string): Observable<Event> {
    return new Observable<Event>((subscriber) => {
      this.open.set(id, subscriber);
      return () => {
        if (this.open.get(id) === subscriber) this.open.delete(id);
      };
    });
  }

  /** Delivers to a member's inbox; false when none is open under that id. */
  deliver(id: string, event: Event): boolean {
    const inbox = this.open.get(id);
    inbox?.next(event);
    return inbox !== undefined;
  }
}

export class MemoryHub implements Hub {
  private readonly broadcast = new Subject<Event>();
  readonly events$ = this.broadcast.asObservable();
  private readonly members = new Map<string, Presence>(); // by id, in join order
  private readonly ids = new Map<string, string>(); // nameKey -> id
  private readonly inboxes = new Inboxes();

  get size(): number {
    return this.members.size;
  }

  inbox(id: string): Observable<Event> {
    return this.inboxes.inbox(id);
  }

  join(member: { readonly id: string; readonly addr: string }): Observable<Presence> {
    return defer(() => {
      const presence: Presence = { id: member.id, addr: member.addr, name: member.addr };
      this.members.set(member.id, presence);
      // Two connections can share an address (the same client port to the TCP and the web
      // port): the first keeps the name for `to|`.
      const key = nameKey(presence.name);
      if (!this.ids.has(key)) this.ids.set(key, member.id);
      this.broadcast.next({ kind: 'online', addr: presence.addr, name: presence.name });
      return of(presence);
    });
  }

  leave(id: string): Observable<void> {
    return defer(() => {
      const presence = this.members.get(id);
      if (presence) {
        this.members.delete(id);
        const key = nameKey(presence.name);
        if (this.ids.get(key) === id) this.ids.delete(key);
        this.broadcast.next({ kind: 'offline', addr: presence.addr, name: presence.name });
      }
      return of(undefined);
    });
  }

  rename(id: string, name: string): Observable<RenameResult> {
    return defer(() => {
      const presence = this.members.get(id);
      if (!presence) return of<RenameResult>('taken');
      const key = nameKey(name);
      const holder = this.ids.get(key);
      if (holder !== undefined && holder !== id) return of<RenameResult>('taken');
      const old = nameKey(presence.name);
      if (this.ids.get(old) === id) this.ids.delete(old);
      this.ids.set(key, id);
      this.members.set(id, { ...presence, name });
      return of<RenameResult>('ok');
    });
  }

  list(): Observable<readonly Presence[]> {
    return defer(() => of([...this.members.values()]));
  }

  say(id: string, text: string): void {
    const presence = this.members.get(id);
    if (presence) this.broadcast.next({ kind: 'say', addr: presence.addr, name: presence.name, text });
  }

  whisper(fromId: string, toName: string, text: string): Observable<boolean> {
    return defer(() => {
      const from = this.members.get(fromId);
      const to = this.ids.get(nameKey(toName));
      return of(from !== undefined && to !== undefined && this.inboxes.deliver(to, { kind: 'private', from: from.name, text }));
    });
  }

  async close(): Promise<void> {
    this.broadcast.complete();
  }
}
