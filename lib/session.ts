/**
 * One user's session, as a pure function of its input lines: commands become effects on the
 * hub and lines back to the user; the hub's broadcast and the user's inbox flow out too. The
 * output completes when the user should be disconnected; a `Close` value before the end says
 * why, when the server (not the user) ends it.
 */
import {
  EMPTY,
  Observable,
  SchedulerLike,
  Subject,
  asyncScheduler,
  concat,
  concatMap,
  defer,
  finalize,
  ignoreElements,
  map,
  merge,
  mergeMap,
  of,
  share,
  takeUntil,
  tap,
} from 'rxjs';
import { Hub } from './hub';
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

    const handle = (command: Command | RateSignal): Observable<Output> => {
      if (command === RATE_LIMITED) return of(t.rateLimited(options.rateLimit ?? 0));
      if (command === FLOODING) return of<Output[]>(t.floodKick, { close: 'flood' });
      switch (command.kind) {
        case 'say':
          // An empty line is activity, not a message: the reference client sends one after
          // every private message, and nobody wants `[addr]name:` broadcast for it.
          if (command.text !== '') hub.say(id, command.text);
          return EMPTY;
        case 'who':
          return hub.list().pipe(mergeMap((online) => online.map((p) => userLine(p.addr, p.name, t.listed))));
        case 'rename': {
          const problem = nameProblem(command.name);
          if (problem) return of(t.nameInvalid(problem, MAX_NAME_CHARS));
          return hub.rename(id, command.name).pipe(
            map((result) => (result === 'taken' ? t.nameTaken : t.renamed(command.name))),
          );
        }
        case 'to':
          return hub.whisper(id, command.name, command.text).pipe(mergeMap((delivered) => (delivered ? EMPTY : of(t.noSuchUser(command.name)))));
        case 'invalid':
          return of(command.reason === 'tooLong' ? t.lineTooLong(options.maxLineBytes) : t.privateFormat);
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
