/**
 * One user's session, as a pure function of its input lines: commands become effects on the
 * hub and lines back to the user; the hub's broadcast and the user's inbox flow out too. The
 * output completes when the user should be disconnected; a `Close` value before the end says
 * why, when the server (not the user) ends it.
 */
import {
  Observable,
  ObservableInput,
  SchedulerLike,
  Subject,
  asyncScheduler,
  concat,
  concatMap,
  defer,
  finalize,
  ignoreElements,
  isObservable,
  map,
  merge,
  mergeMap,
  share,
  takeUntil,
  tap,
} from 'rxjs';
import { Answer, Hub } from './hub';
import { idle } from './idle';
import { Framed } from './lines';
import { Command, nameProblem, MAX_NAME_CHARS, parseCommands, renderEvent, userLine } from './protocol';
import { FLOODING, RATE_LIMITED, RateSignal, rateLimit } from './rate-limit';
import { Texts } from './texts';

export type CloseReason = 'idle' | 'flood' | 'sendq' | 'shutdown';
export interface Close {
  readonly close: CloseReason;
}
/** What a session emits: a line for its user (without `\n`), or why the server ends it. */
export type Output = string | Close;

export interface SessionOptions {
  readonly hub: Hub;
  readonly texts: Texts;
  /** The user's remote address, `ip:port`: its first name and its tag in `[addr]name:`. */
  readonly addr: string;
  /** Unique per connection; defaults to a process-wide counter. */
  readonly id?: string;
  /** Silence, in ms, after which the user is kicked. */
  readonly idleMs: number;
  /** The limit the framing enforced, quoted in the notice for an over-long line. */
  readonly maxLineBytes: number;
  /** Lines a second the user may send; 0 or absent: no limit. */
  readonly rateLimit?: number;
  /** Lines the user may send at once before the rate applies; twice the rate by default. */
  readonly rateBurst?: number;
  readonly scheduler?: SchedulerLike;
}

let sessions = 0;

/** The lines for a hub's answer: at once when it answered at once, else when it answers. */
function replies<T>(answer: Answer<T>, lines: (value: T) => Output[]): ObservableInput<Output> {
  return isObservable(answer) ? answer.pipe(mergeMap(lines)) : lines(answer);
}

// The broadcast rendered once per event for all the sessions of a hub that share a language,
// instead of once per recipient: the hot path is one line per user online.
const rendered = new WeakMap<Hub, Map<Texts, Observable<string>>>();
function broadcastLines(hub: Hub, t: Texts): Observable<string> {
  let byTexts = rendered.get(hub);
  if (!byTexts) rendered.set(hub, (byTexts = new Map()));
  let lines$ = byTexts.get(t);
  if (!lines$) {
    lines$ = hub.events$.pipe(
      map((event) => renderEvent(event, t)),
      share(),
    );
    byTexts.set(t, lines$);
  }
  return lines$;
}

/**
 * ```
 * lines:   ------"who"-------"hi"----|
 * output:  -j----w1-w2-------s-------|     (j: own join, w: who lines, s: own broadcast)
 * ```
 */
export function session(lines$: Observable<Framed>, options: SessionOptions): Observable<Output> {
  return defer(() => {
    const { hub, texts: t, addr } = options;
    const id = options.id ?? `s${++sessions}`;
    const scheduler = options.scheduler ?? asyncScheduler;

    // A command's replies: an array when they are known now, an Observable when the hub
    // answers later. concatMap keeps them in the order the commands came.
    const handle = (command: Command | RateSignal): ObservableInput<Output> => {
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
          return replies(hub.rename(id, command.name), (result) => [result === 'taken' ? t.nameTaken : t.renamed(command.name)]);
        }
        case 'to':
          return replies(hub.whisper(id, command.name, command.text), (delivered) => (delivered ? [] : [t.noSuchUser(command.name)]));
        case 'invalid':
          return [command.reason === 'tooLong' ? t.lineTooLong(options.maxLineBytes) : t.privateFormat];
      }
    };

    const activity = new Subject<void>();
    // Fires once, when the session is over: its user left (input ended) or was kicked.
    const over = new Subject<void>();
    const end = () => over.next();

    const kick$ = activity.pipe(
      idle(options.idleMs, scheduler),
      mergeMap((): Output[] => [t.kicked, { close: 'idle' }]),
      tap({ complete: end }),
    );
    const replies$ = concat(
      hub.join({ id, addr }).pipe(ignoreElements()),
      lines$.pipe(
        tap(() => activity.next()),
        parseCommands(),
        rateLimit({ perSecond: options.rateLimit ?? 0, burst: options.rateBurst ?? Math.max(1, 2 * (options.rateLimit ?? 0)), scheduler }),
        concatMap(handle),
      ),
    ).pipe(tap({ complete: end }));

    // One flat merge, one takeUntil: a broadcast passes as few operators as possible on its way
    // to each recipient (it is the hot path: once per line per user online). The broadcast and
    // the inbox are subscribed before the join, so that the newcomer sees its own join line.
    return merge(
      kick$,
      broadcastLines(hub, t),
      hub.inbox(id).pipe(map((event) => renderEvent(event, t))),
      replies$,
    ).pipe(
      takeUntil(over),
      finalize(() => hub.leave(id).subscribe()),
    );
  });
}
