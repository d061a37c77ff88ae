/**
 * The hub: who is online (presence) and the broadcast every session subscribes to.
 * `Hub` is the seam between sessions and the place presence lives: `MemoryHub` keeps it in
 * this process; a Redis-backed hub (`lib/redis/`) can replace it without the session changing.
 *
 * One rule for every operation's answer:
 * - a question (`join`, `rename`, `list`, `whisper`) answers with an `Answer<T>`: the value
 *   itself when this node knows it now, an Observable of it when it has to ask another process;
 * - an effect nobody waits for (`say`, `leave`) returns nothing: what follows from it reaches
 *   the sessions through `events$`, and a shared hub finishes it in the background;
 * - `close()` is the edge's teardown and returns a Promise, as Node's `server.close` does.
 */
import { Observable, Subject, Subscriber, firstValueFrom, isObservable, map } from 'rxjs';
import { Event, nameKey } from './protocol';

export interface Presence {
  /** Unique per connection (not per name): names change, ids do not. */
  readonly id: string;
  readonly addr: string;
  readonly name: string;
}

export type RenameResult = 'ok' | 'taken';

/**
 * A hub's answer to a command: the value itself when the hub knows it now (in memory), an
 * Observable of it when it has to ask (Redis). A user may send many commands a second, and an
 * Observable chain subscribed per command cost more CPU than the rest of a private message's
 * path (measured: 40 -> 24 µs of server CPU per private message).
 */
export type Answer<T> = T | Observable<T>;

/** An answer transformed: now if it came now, when it comes otherwise. */
// eslint-disable-next-line rxjs-x/finnish -- an Answer is a value or a stream: no `$`, like Promise-or-value names elsewhere
export function mapAnswer<T, R>(answer: Answer<T>, f: (value: T) => R): Answer<R> {
  return isObservable(answer) ? answer.pipe(map(f)) : f(answer);
}

/** An answer as a Promise, for code that awaits it (tests, scripts). */
// eslint-disable-next-line rxjs-x/finnish -- an Answer is a value or a stream (see mapAnswer)
export function answerOf<T>(answer: Answer<T>): Promise<T> {
  return isObservable(answer) ? firstValueFrom(answer) : Promise.resolve(answer);
}

export interface Hub {
  /** Every broadcast event (joins, leaves, public messages), in order. */
  readonly events$: Observable<Event>;
  /** The private messages addressed to one member. Subscribe before joining. */
  inbox(id: string): Observable<Event>;
  /** Puts a member online under its address as name and announces it to everyone. */
  join(member: { readonly id: string; readonly addr: string }): Answer<Presence>;
  /** Takes a member offline and announces it, once: leaving twice is a no-op. */
  leave(id: string): void;
  /** Claims a name, atomically: check and take are one step. */
  rename(id: string, name: string): Answer<RenameResult>;
  /**
   * Takes a name whoever holds it (a login takes its account's name): the holder, if another
   * member, gets its address back as its name and a `reclaimed` event in its inbox, on
   * whatever node it is (a shared hub). 'taken' only when the claimer is not a member.
   */
  claim(id: string, name: string): Answer<RenameResult>;
  /** Everyone online, in the order they joined. */
  list(): Answer<readonly Presence[]>;
  /** A public message from a member, under the member's current name. */
  say(id: string, text: string): void;
  /** A private message; false when nobody has that name. */
  whisper(fromId: string, toName: string, text: string): Answer<boolean>;
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

/**
 * This node's members and the names they hold: ids in join order, names unique under
 * `nameKey`. A name is only ever released or reassigned by its holder (two connections can
 * share an address: the first keeps it). Both hubs keep their local truth here.
 */
export class LocalPresence {
  private readonly members = new Map<string, Presence>(); // by id, in join order
  private readonly holders = new Map<string, string>(); // nameKey -> id

  get size(): number {
    return this.members.size;
  }

  get(id: string): Presence | undefined {
    return this.members.get(id);
  }

  has(id: string): boolean {
    return this.members.has(id);
  }

  /** Everyone here, in join order. */
  list(): Presence[] {
    return [...this.members.values()];
  }

  /** The id holding a name here, if any. */
  holder(name: string): string | undefined {
    return this.holders.get(nameKey(name));
  }

  /** Whether member `id` may take `name`: it is a member and nobody else here holds the name. */
  isFree(id: string, name: string): boolean {
    const holder = this.holder(name);
    return this.members.has(id) && (holder === undefined || holder === id);
  }

  /** A new member, named by its address. */
  add(id: string, addr: string): Presence {
    const presence: Presence = { id, addr, name: addr };
    this.members.set(id, presence);
    this.claim(id, addr);
    return presence;
  }

  /** Removes a member; returns it as it was, or undefined when it was not here. */
  remove(id: string): Presence | undefined {
    const presence = this.members.get(id);
    if (!presence) return undefined;
    this.members.delete(id);
    this.release(id, presence.name);
    return presence;
  }

  /** Check and take in one step. */
  rename(id: string, name: string): RenameResult {
    const presence = this.members.get(id);
    if (!presence || !this.isFree(id, name)) return 'taken';
    this.release(id, presence.name);
    this.holders.set(nameKey(name), id);
    this.members.set(id, { ...presence, name });
    return 'ok';
  }

  /**
   * Gives `name` to member `id` even if another member here holds it: that one is named by its
   * address again. Returns the holder it took the name from, as it was, if any.
   */
  take(id: string, name: string): Presence | undefined {
    const holder = this.holder(name);
    const displaced = holder !== undefined && holder !== id ? this.unname(holder) : undefined;
    this.rename(id, name);
    return displaced;
  }

  /** Back to its address as name (its name went to someone else); returns it as it was. */
  unname(id: string): Presence | undefined {
    const presence = this.members.get(id);
    if (!presence) return undefined;
    this.release(id, presence.name);
    this.claim(id, presence.addr);
    this.members.set(id, { ...presence, name: presence.addr });
    return presence;
  }

  private claim(id: string, name: string): void {
    const key = nameKey(name);
    if (!this.holders.has(key)) this.holders.set(key, id);
  }

  private release(id: string, name: string): void {
    const key = nameKey(name);
    if (this.holders.get(key) === id) this.holders.delete(key);
  }
}

export class MemoryHub implements Hub {
  private readonly broadcast$ = new Subject<Event>();
  readonly events$ = this.broadcast$.asObservable();
  private readonly presence = new LocalPresence();
  private readonly inboxes = new Inboxes();

  get size(): number {
    return this.presence.size;
  }

  inbox(id: string): Observable<Event> {
    return this.inboxes.inbox(id);
  }

  join(member: { readonly id: string; readonly addr: string }): Presence {
    const presence = this.presence.add(member.id, member.addr);
    this.broadcast$.next({ kind: 'online', addr: presence.addr, name: presence.name });
    return presence;
  }

  leave(id: string): void {
    const presence = this.presence.remove(id);
    if (presence) this.broadcast$.next({ kind: 'offline', addr: presence.addr, name: presence.name });
  }

  rename(id: string, name: string): RenameResult {
    return this.presence.rename(id, name);
  }

  list(): readonly Presence[] {
    return this.presence.list();
  }

  claim(id: string, name: string): RenameResult {
    if (!this.presence.has(id)) return 'taken';
    const displaced = this.presence.take(id, name);
    if (displaced) this.inboxes.deliver(displaced.id, { kind: 'reclaimed', name: displaced.name, addr: displaced.addr });
    return 'ok';
  }

  say(id: string, text: string): void {
    const presence = this.presence.get(id);
    if (presence) this.broadcast$.next({ kind: 'say', addr: presence.addr, name: presence.name, text });
  }

  whisper(fromId: string, toName: string, text: string): boolean {
    const from = this.presence.get(fromId);
    const to = this.presence.holder(toName);
    return from !== undefined && to !== undefined && this.inboxes.deliver(to, { kind: 'private', from: from.name, text });
  }

  close(): Promise<void> {
    this.broadcast$.complete();
    return Promise.resolve();
  }
}
