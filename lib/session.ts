/**
 * One user's session, as a pure function of its input lines: commands become effects on the
 * hub and lines back to the user; the hub's broadcast and the user's inbox flow out too. The
 * output completes when the user should be disconnected; a `Close` value before the end says
 * why, when the server (not the user) ends it. It is redux-observable's epic
 * `(action$, deps) => Observable`, with the hub as `deps`.
 */
import { randomUUID } from 'node:crypto';
import {
  Observable,
  ObservableInput,
  SchedulerAction,
  SchedulerLike,
  Subscriber,
  Subscription,
  asyncScheduler,
  concatMap,
  defer,
  finalize,
  from,
  isObservable,
  mergeMap,
  range,
  timer,
} from 'rxjs';
import { SessionAccounts, SessionAccountsOptions } from './auth/session';
import { Answer, Hub, mapAnswer } from './hub';
import { IDLE } from './idle';
import { Framed } from './lines';
import { Chunk, Line } from './outbox';
import { Command, Event, nameProblem, MAX_NAME_CHARS, parseCommand, renderEvent, userLine } from './protocol';
import { DROPPED, FLOODING, PASS, RATE_LIMITED, RateSignal, TokenBucket } from './rate-limit';
import { Splice } from './replay';
import { compareIds, MessageLog, Stamped } from './store/log';
import { Texts } from './texts';

export type CloseReason = 'idle' | 'flood' | 'sendq' | 'shutdown';
export interface Close {
  readonly close: CloseReason;
}
/**
 * What a session emits: a line for its user alone (a string, without `\n`), a line shared with
 * other recipients (a `Line`, encoded once for all), a chunk of the server's broadcast (lines
 * shared by every recipient, see lib/outbox.ts), or why the server ends the session.
 */
export type Output = string | Line | Chunk | Close;

/** What an output says to its user: the line's text (a chunk's lines, one a line), or undefined for a close. */
export function textOf(out: Output): string | undefined {
  if (typeof out === 'string') return out;
  if (out instanceof Line) return out.text;
  return out instanceof Chunk ? out.lines.map((line) => line.text).join('\n') : undefined;
}

export interface SessionOptions {
  readonly hub: Hub;
  readonly texts: Texts;
  /** The user's remote address, `ip:port`: its first name and its tag in `[addr]name:`. */
  readonly addr: string;
  /** Unique per connection on the hub; a random UUID by default (the server numbers its own). */
  readonly id?: string;
  /**
   * The hub's events rendered for everyone, shared by the sessions of a server (render once,
   * see lib/outbox.ts); by default this session renders them for itself.
   */
  readonly broadcast$?: Observable<Line | Chunk>;
  /** An event as its line: the server stamps it with the log's id; by default rendered plain. */
  readonly render?: (event: Event) => Line;
  /** The message log `history|` and `since|` read, and the most events one reply holds. */
  readonly history?: { readonly log: MessageLog; readonly page: number };
  /** Silence, in ms, after which the user is kicked. */
  readonly idleMs: number;
  /** The limit the framing enforced, quoted in the notice for an over-long line. */
  readonly maxLineBytes: number;
  /** Lines a second the user may send; 0 or absent: no limit. */
  readonly rateLimit?: number;
  /** Lines the user may send at once before the rate applies; twice the rate by default. */
  readonly rateBurst?: number;
  readonly scheduler?: SchedulerLike;
  /** Called for every line the user sends, before anything else is done with it (a metric). */
  readonly onRead?: (line: Framed) => void;
  /** Called for every line the rate limit drops. */
  readonly onDrop?: () => void;
  /** Accounts (`register|`, `login|`, `passwd|`, `logout`: lib/auth/); absent: those commands get `accountsOff`. */
  readonly accounts?: SessionAccountsOptions;
}

/** The lines for a hub's answer: at once when it answered at once, else when it answers. */
// eslint-disable-next-line rxjs-x/finnish -- an Answer is a value or a stream (lib/hub.ts)
function replies<T, O = Output>(answer: Answer<T>, lines: (value: T) => O[]): ObservableInput<O> {
  return isObservable(answer) ? answer.pipe(mergeMap(lines)) : lines(answer);
}

/** The first thing a session does, ahead of its user's commands in the same queue. */
const JOIN = Symbol('join');

/** A line's place in the log; none for a notice or a reply (held during a replay, then released, never dropped). */
const idOf = (out: Output): string | undefined => (out instanceof Line ? out.stamp?.id : undefined);

/**
 * A replay leaves in chunks of this many lines, one chunk a turn of the event loop: a
 * `since|` of thousands of events must not hold everyone else's lines for its whole length.
 */
export const REPLAY_CHUNK = 250;

/**
 * Emits a replay's items in chunks, the first at once and each next one on a later turn, each
 * chunk made into its lines (`render`) as it leaves: 10,000 events are not rendered in one turn.
 */
export function paced<T, R>(items: readonly T[], scheduler: SchedulerLike, render: (item: T) => R): Observable<R> {
  if (items.length <= REPLAY_CHUNK) return from(items.map(render));
  return range(0, Math.ceil(items.length / REPLAY_CHUNK)).pipe(
    concatMap((i) => {
      const chunk = () => items.slice(i * REPLAY_CHUNK, (i + 1) * REPLAY_CHUNK).map(render);
      return i === 0 ? chunk() : timer(0, scheduler).pipe(mergeMap(chunk));
    }),
  );
}

/** What a replay reads: the log's events (rendered as they leave) and the protocol's own lines. */
export type Replayed = Stamped | string;

/** The replies to the history commands, as the wire protocol words them. */
export const HISTORY = {
  end: 'history|end',
  truncated: 'history|truncated',
  unknown: 'history|unknown',
  ack: (cap: string) => `cap|ack|${cap}`,
  nak: (cap: string) => `cap|nak|${cap}`,
} as const;

/** A line from the user's input on its way to the command queue: a command, or a signal about the user. */
type Queued = Command | RateSignal | typeof JOIN | typeof IDLE;

/**
 * ```
 * lines:   ------"who"-------"hi"----|
 * output:  -j----w1-w2-------s-------|     (j: own join, w: who lines, s: own broadcast)
 * ```
 *
 * What it computes is this composition of operators (kept, as the definition, in
 * spec/helpers/composed-session.ts; spec/session-equivalence.spec.ts checks the two against
 * each other, value for value and frame for frame, in virtual time):
 *
 * ```
 * own$  = lines$.pipe(parseCommands(), rateLimit(…), idleKick(idleMs, IDLE), concatMapNow(handle, { value: JOIN }))
 * live$ = mergeWhile(own$, [broadcast$, inbox(id)])           // ends with the user's own branch
 * out$  = live$.pipe(replayThenLive(replays$, …))              // history|/since| spliced in
 * ```
 *
 * Written as those operators, every connection held about twenty subscribers, fifty closures
 * and their contexts (17.7 KiB of heap per connection, measured by bench/memory.ts). Here each
 * session is one `Conversation` object: the operators' state in its fields, their steps in its
 * methods (shared by every connection), three small subscribers (input, broadcast, inbox) and
 * one timer; the splice of a replay is made the first time the user asks for one.
 */
export function session(lines$: Observable<Framed>, options: SessionOptions): Observable<Output> {
  return new Observable<Output>((out) => {
    const conversation = new Conversation(out, options);
    // Its teardown is registered before it starts: a start that throws half-way (a hub that
    // fails) ends the output with the error and still unsubscribes what it had subscribed.
    // After the session's subscriptions are gone, its user leaves the hub once, however it ended.
    out.add(conversation);
    conversation.start(lines$);
  });
}

/** One session's state and steps (see `session`). Its `unsubscribe` is the session's teardown. */
class Conversation {
  private readonly hub: Hub;
  private readonly t: Texts;
  private readonly id: string;
  private readonly scheduler: SchedulerLike;
  // `cap|tags`: conversation lines carry their id and time from then on.
  private tags = false;
  // Who the user is logged in as; what accounts change in `rename|` and `to|`.
  private readonly accounts: SessionAccounts | undefined;
  /** The rate limit's bucket (rateLimit's state); none when there is no limit. */
  private readonly bucket: TokenBucket | undefined;
  /** The last chunk of the server's broadcast this session was given. */
  private lastChunk: Chunk | undefined;

  // The command queue (concatMapNow's state): commands wait here while an answer is awaited.
  // Made when one has to wait, dropped when it is empty: a command that finds nothing ahead of
  // it is handled at once (most are), and a quiet connection holds no array for it.
  private queue: Queued[] | undefined;
  /** The answer (or replay) the queue waits for, if any. */
  private running: Into<Output> | undefined;
  private draining = false;
  /** The user's input is over: it ended, it flooded, or the user was kicked. */
  private inputDone = false;

  // The idle kick (idleKick's state): a deadline moved by every line, one timer that sleeps
  // again when it wakes before it.
  private deadline = 0;
  private idle: Subscription | undefined;

  /** Replays spliced into the live lines (replayThenLive's state); made by the first replay. */
  private splice: Splice<Output> | undefined;

  private input: Subscription | undefined;
  private broadcast: Subscription | undefined;
  private inbox: Subscription | undefined;

  constructor(
    private readonly out: Subscriber<Output>,
    private readonly options: SessionOptions,
  ) {
    const { hub, texts, addr } = options;
    this.hub = hub;
    this.t = texts;
    this.id = options.id ?? randomUUID();
    this.scheduler = options.scheduler ?? asyncScheduler;
    const rate = options.rateLimit ?? 0;
    this.bucket = rate > 0 ? new TokenBucket(rate, options.rateBurst ?? Math.max(1, 2 * rate), options.onDrop) : undefined;
    // Every field named, in one order (not a spread): each connection's context then has the
    // same hidden class, and the accounts' reads of it stay on V8's fast path (a spread's
    // object was migrated on every `to|`: about 1 µs a private message, seen with perf).
    const a = options.accounts;
    this.accounts =
      a &&
      new SessionAccounts({
        auth: a.auth,
        ip: a.ip,
        passwordsAllowed: a.passwordsAllowed,
        tlsPort: a.tlsPort,
        stamp: a.stamp,
        hub,
        texts,
        id: this.id,
        addr,
        tags: () => this.tags,
      });
  }

  /**
   * The broadcast and the inbox are subscribed before the join, so that the newcomer sees its
   * own join line. The join is the queue's first command; the input is subscribed at once,
   * before the join answers, so that a transport that does not pause (a WebSocket) loses nothing
   * said during the join: the queue holds those lines until the join is done.
   */
  start(lines$: Observable<Framed>): void {
    const { hub, out } = this;
    this.broadcast = this.options.broadcast$
      ? this.options.broadcast$.subscribe(new Into(this, fromBroadcast))
      : hub.events$.subscribe(new Into(this, fromHub));
    if (out.closed) return;
    this.inbox = hub.inbox(this.id).subscribe(new Into(this, fromInbox));
    if (out.closed) return;
    this.enqueue(JOIN);
    if (out.closed || this.inputDone) return;
    this.deadline = this.scheduler.now() + this.options.idleMs;
    this.idle = this.scheduler.schedule(checkIdle, this.options.idleMs, this);
    this.input = lines$.subscribe(new Into(this, onLine, inputEnded));
  }

  /** The session's teardown: every subscription, then the user leaves the hub (once). */
  unsubscribe(): void {
    this.input?.unsubscribe();
    this.broadcast?.unsubscribe();
    this.inbox?.unsubscribe();
    this.idle?.unsubscribe();
    this.running?.unsubscribe();
    this.splice?.stop();
    this.queue = undefined;
    this.hub.leave(this.id);
  }

  fail(err: unknown): void {
    this.out.error(err);
  }

  /** A line of the user's: parsed, past the rate limit, moving the idle deadline, into the queue. */
  onLine(line: Framed): void {
    if (this.inputDone) return;
    this.options.onRead?.(line);
    const command = parseCommand(line);
    const now = this.scheduler.now();
    const verdict = this.bucket ? this.bucket.take(now) : PASS;
    if (verdict === DROPPED) return;
    this.deadline = now + this.options.idleMs;
    this.enqueue(verdict === PASS ? command : verdict);
    if (verdict === FLOODING) this.endInput();
  }

  /** The input ended (the user closed its side): the queue finishes, then the session. */
  endInput(): void {
    if (this.inputDone) return;
    this.inputDone = true;
    this.input?.unsubscribe();
    this.idle?.unsubscribe();
    this.drain();
  }

  /** The idle timer woke: asleep again until the deadline, or the kick. */
  wake(action: SchedulerAction<Conversation>): void {
    if (this.inputDone) return;
    const wait = this.deadline - this.scheduler.now();
    if (wait > 0) {
      action.schedule(this, wait);
      return;
    }
    this.enqueue(IDLE);
    this.endInput();
  }

  /** A line for the user: through the splice while it has a replay to weave in, tagged if asked. */
  live(item: Output): void {
    if (this.splice) this.splice.onLive(item);
    else this.out.next(this.present(item));
  }

  /** How a line leaves: tagged for a `cap|tags` user. */
  present(out: Output): Output {
    return this.tags && (out instanceof Line || out instanceof Chunk) ? out.tagged : out;
  }

  fromBroadcast(item: Line | Chunk): void {
    if (item instanceof Chunk) this.lastChunk = item;
    this.live(item);
  }

  render(event: Event): Line {
    return this.options.render ? this.options.render(event) : new Line(renderEvent(event, this.t));
  }

  fromInbox(event: Event): void {
    this.live(this.accounts?.fromInbox(event) ?? this.render(event));
  }

  private enqueue(value: Queued): void {
    if (this.queue === undefined && this.running === undefined && !this.draining) {
      this.drain(value);
      return;
    }
    (this.queue ??= []).push(value);
    this.drain();
  }

  /** concatMapNow's loop: each command's replies in the order the commands came, an awaited answer holding the rest. */
  drain(first?: Queued): void {
    if (this.draining) return;
    this.draining = true;
    const { out } = this;
    let next = first;
    try {
      while (this.running === undefined && !out.closed) {
        if (next === undefined) next = this.queue?.shift();
        if (next === undefined) break;
        // eslint-disable-next-line rxjs-x/finnish -- an array or a stream (see concatMapNow)
        const result = this.handle(next);
        next = undefined;
        if (Array.isArray(result)) {
          for (const item of result as readonly Output[]) this.live(item);
        } else {
          const answering = (this.running = new Into(this, answer, answered));
          from(result).subscribe(answering);
        }
      }
      // A command handed in but not handled (an answer is awaited, or the output closed) waits.
      if (next !== undefined) (this.queue ??= []).unshift(next);
      if (this.queue?.length === 0) this.queue = undefined;
      if (this.running === undefined && this.queue === undefined && this.inputDone) out.complete();
    } catch (err) {
      out.error(err);
    } finally {
      this.draining = false;
    }
  }

  /** The awaited answer is complete: the queue goes on. */
  answered(answering: Into<Output>): void {
    if (this.running !== answering) return;
    this.running = undefined;
    this.drain();
  }

  // Replays of the log (`history|`, `since|`) go into the live stream at the point they were
  // asked for (see replayThenLive). A command's turn in the queue lasts until its replay has
  // been sent. `read` answers now (the embedded logs) or later (an Observable: the Redis
  // stream); either way the lines leave paced.
  // eslint-disable-next-line rxjs-x/finnish -- a function that answers a value or a stream (lib/hub.ts)
  private replay(read: () => Answer<readonly Replayed[]>): Observable<Output> {
    return new Observable<Output>((done) => {
      // A line that joins the chunk this session already passed on would bypass the replay's
      // hold: from now on the broadcast's lines come in a new chunk (lib/outbox.ts).
      this.lastChunk?.close();
      const { scheduler } = this;
      const lines$ = defer(() => {
        const read$ = read();
        const render = (item: Replayed): Output => this.asReplayed(item);
        return isObservable(read$) ? read$.pipe(concatMap((all) => paced(all, scheduler, render))) : paced(read$, scheduler, render);
      });
      this.splice ??= new Splice<Output>(this.out, idOf, compareIds, {
        onReplayError: () => [HISTORY.end],
        present: (item) => this.present(item),
        split,
      });
      this.splice.request(lines$.pipe(finalize(() => done.complete())));
    });
  }

  // A method, not an arrow field: no closure per connection (made only when a replay runs).
  private asReplayed(item: Replayed): Output {
    return typeof item === 'string' ? item : new Line(renderEvent(item.event, this.t), item);
  }

  // A command's replies: an array when they are known now, an Observable when the hub
  // answers later. The queue keeps them in the order the commands came, the join first:
  // lines that arrive while a shared hub is still taking the join wait in it.
  private handle(command: Queued): ObservableInput<Output> {
    const { hub, t, id, accounts, options } = this;
    const history = options.history;
    if (command === JOIN) return replies(hub.join({ id, addr: options.addr }), () => []);
    if (command === IDLE) return [t.kicked, { close: 'idle' }];
    if (command === RATE_LIMITED) return [t.rateLimited(options.rateLimit ?? 0)];
    if (command === FLOODING) return [t.floodKick, { close: 'flood' }];
    switch (command.kind) {
      case 'say':
        // An empty line is activity, not a message: the reference client sends one after
        // every private message, and nobody wants `[addr]name:` broadcast for it.
        if (command.text !== '') hub.say(id, command.text);
        return [];
      case 'who':
        return replies(hub.list(), (online) => online.map((p) => userLine(p.addr, p.name, t.listed)));
      case 'rename': {
        const problem = nameProblem(command.name);
        if (problem) return [t.nameInvalid(problem, MAX_NAME_CHARS)];
        if (accounts) return accounts.rename(command.name);
        return replies(hub.rename(id, command.name), (result) => [result === 'taken' ? t.nameTaken : t.renamed(command.name)]);
      }
      case 'to':
        if (accounts) return accounts.whisper(command.name, command.text);
        return replies(hub.whisper(id, command.name, command.text), (delivered) => (delivered ? [] : [t.noSuchUser(command.name)]));
      case 'cap':
        if (command.name !== 'tags') return [HISTORY.nak(command.name)];
        this.tags = true;
        return [HISTORY.ack('tags')];
      case 'history': {
        if (!history) return [HISTORY.end];
        if (command.count === undefined) return [t.historyUsage(history.page)];
        const count = Math.min(command.count, history.page);
        return this.replay(() => mapAnswer(history.log.last(count), (events) => [...events, HISTORY.end]));
      }
      case 'since': {
        if (!history) return [HISTORY.unknown, HISTORY.end];
        const page = history.page;
        return this.replay(() =>
          mapAnswer(history.log.after(command.id, page), (found) => {
            const head = !found.known ? [HISTORY.unknown] : found.truncated ? [HISTORY.truncated] : [];
            return [...head, ...found.events, HISTORY.end];
          }),
        );
      }
      case 'register':
      case 'login':
      case 'passwd':
      case 'logout':
        return accounts ? accounts.handle(command) : [t.accountsOff];
      case 'invalid':
        if (command.reason === 'accountFormat') return [t.accountUsage(command.command)];
        return [command.reason === 'tooLong' ? t.lineTooLong(options.maxLineBytes) : t.privateFormat];
    }
  }
}

/** The idle timer's work, shared by every session (no closure per connection). */
function checkIdle(this: SchedulerAction<Conversation>, conversation?: Conversation): void {
  if (!conversation) return;
  try {
    conversation.wake(this);
  } catch (err) {
    conversation.fail(err);
  }
}

/** A chunk's lines, when a replay needs them one by one. */
const split = (item: Output): readonly Output[] | undefined => (item instanceof Chunk ? item.lines : undefined);

/**
 * One of the session's sources subscribed into it: what each value (and the completion) does is
 * a step of the conversation, a function shared by every connection (no closure per connection).
 * An exception in a step ends the session with it, as in an operator (lib/operate.ts).
 */
class Into<T> extends Subscriber<T> {
  constructor(
    private readonly c: Conversation,
    private readonly step: (c: Conversation, value: T) => void,
    private readonly ended: (c: Conversation, source: Into<T>) => void = notTheSessions,
  ) {
    super();
  }

  protected override _next(value: T): void {
    try {
      this.step(this.c, value);
    } catch (err) {
      this.c.fail(err);
    }
  }

  protected override _error(err: unknown): void {
    try {
      this.c.fail(err);
    } finally {
      this.unsubscribe();
    }
  }

  protected override _complete(): void {
    try {
      this.ended(this.c, this);
    } catch (err) {
      this.c.fail(err);
    } finally {
      this.unsubscribe();
    }
  }
}

// The steps: the user's lines (their end ends the input), the server's broadcast, the hub's
// events rendered by the session itself, the user's private lines (those ends are not the
// session's), and an awaited answer (a shared hub's, a replay: its end lets the queue go on).
const notTheSessions = (): void => {};
const onLine = (c: Conversation, line: Framed) => c.onLine(line);
const inputEnded = (c: Conversation) => c.endInput();
const fromBroadcast = (c: Conversation, item: Line | Chunk) => c.fromBroadcast(item);
const fromHub = (c: Conversation, event: Event) => c.live(c.render(event));
const fromInbox = (c: Conversation, event: Event) => c.fromInbox(event);
const answer = (c: Conversation, item: Output) => c.live(item);
const answered = (c: Conversation, source: Into<Output>) => c.answered(source);
