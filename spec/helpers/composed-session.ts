/**
 * The session as the composition of operators it was first written as: the definition the
 * one-object `session()` of lib/session.ts computes (spec/session-equivalence.spec.ts runs both
 * on the same random scripts and compares every emission and its frame). Kept here, not in the
 * library: nothing runs it but that check.
 */
import { randomUUID } from 'node:crypto';
import { Observable, ObservableInput, Subject, asyncScheduler, concatMap, defer, finalize, isObservable, mergeMap } from 'rxjs';
import { SessionAccounts } from '../../lib/auth/session';
import { Answer, mapAnswer } from '../../lib/hub';
import { IDLE, idleKick } from '../../lib/idle';
import { Framed } from '../../lib/lines';
import { Chunk, Line } from '../../lib/outbox';
import { Command, Event, nameProblem, MAX_NAME_CHARS, parseCommands, renderEvent, userLine } from '../../lib/protocol';
import { FLOODING, RATE_LIMITED, RateSignal, rateLimit } from '../../lib/rate-limit';
import { concatMapNow, feed, mergeWhile } from '../../lib/relay';
import { replayThenLive } from '../../lib/replay';
import { HISTORY, Output, Replayed, SessionOptions, paced } from '../../lib/session';
import { compareIds } from '../../lib/store/log';

/** The lines for a hub's answer: at once when it answered at once, else when it answers. */

function replies<T, O = Output>(answer: Answer<T>, lines: (value: T) => O[]): ObservableInput<O> {
  return isObservable(answer) ? answer.pipe(mergeMap(lines)) : lines(answer);
}

const JOIN = Symbol('join');

const idOf = (out: Output): string | undefined => (out instanceof Line ? out.stamp?.id : undefined);

export function composedSession(lines$: Observable<Framed>, options: SessionOptions): Observable<Output> {
  return defer(() => {
    const { hub, texts: t, addr, history } = options;
    const id = options.id ?? randomUUID();
    const scheduler = options.scheduler ?? asyncScheduler;
    const rate = options.rateLimit ?? 0;
    const render = options.render ?? ((event: Event) => new Line(renderEvent(event, t)));
    // `cap|tags`: conversation lines carry their id and time from then on.
    let tags = false;
    const tag = (out: Output): Output => (tags && (out instanceof Line || out instanceof Chunk) ? out.tagged : out);
    // Who the user is logged in as; what accounts change in `rename|` and `to|`.
    const accounts = options.accounts && new SessionAccounts({ ...options.accounts, hub, texts: t, id, addr, tags: () => tags });

    // Replays of the log (`history|`, `since|`) go into the live stream at the point they were
    // asked for (see replayThenLive). A Subject because the requests come from the command
    // branch and are consumed by the merge that branch is part of: a stream built from the
    // branch would subscribe it (and so join) a second time. It lives in this closure only, like
    // redux-observable's Subjects live in its middleware and never in an epic. It completes when
    // the command branch ends. A command's turn in the queue lasts until its replay has been sent.
    const replays$ = new Subject<Observable<Output>>();
    // The last chunk of the server's broadcast this session was given.
    let lastChunk: Chunk | undefined;
    // `read` answers now (the embedded logs) or later (an Observable: the Redis stream); either
    // way the lines leave paced.

    function replay(read: () => Answer<readonly Replayed[]>): Observable<Output> {
      return new Observable<Output>((done) => {
        // A line that joins the chunk this session already passed on would bypass the replay's
        // hold: from now on the broadcast's lines come in a new chunk (lib/outbox.ts).
        lastChunk?.close();
        const lines$ = defer(() => {
          const read$ = read();
          return isObservable(read$) ? read$.pipe(concatMap((all) => paced(all, scheduler, asReplayed))) : paced(read$, scheduler, asReplayed);
        });
        replays$.next(lines$.pipe(finalize(() => done.complete())));
      });
    }
    const asReplayed = (item: Replayed): Output => (typeof item === 'string' ? item : new Line(renderEvent(item.event, t), item));

    // A command's replies: an array when they are known now, an Observable when the hub
    // answers later. concatMap keeps them in the order the commands came, the join first:
    // lines that arrive while a shared hub is still taking the join wait in its queue.
    function handle(command: Command | RateSignal | typeof JOIN | typeof IDLE): ObservableInput<Output> {
      if (command === JOIN) return replies(hub.join({ id, addr }), () => []);
      if (command === IDLE) return [t.kicked, { close: 'idle' }];
      if (command === RATE_LIMITED) return [t.rateLimited(rate)];
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
          tags = true;
          return [HISTORY.ack('tags')];
        case 'history': {
          if (!history) return [HISTORY.end];
          if (command.count === undefined) return [t.historyUsage(history.page)];
          const count = Math.min(command.count, history.page);
          return replay(() => mapAnswer(history.log.last(count), (events) => [...events, HISTORY.end]));
        }
        case 'since': {
          if (!history) return [HISTORY.unknown, HISTORY.end];
          const page = history.page;
          return replay(() =>
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

    // The user's own branch: the join, then the commands' replies in the order the commands
    // came, the idle kick in the same queue (concatMapNow: concatMap with the join first). The
    // input is subscribed at once, before the join answers, so that a transport that does not
    // pause (a WebSocket) loses nothing said during the join; the queue holds those lines until
    // the join is done. The kick counts what passes the rate limit (a flood that goes on has
    // its own kick), and waits behind the commands before it: a user waiting for an answer is
    // not idle. The session is over when this branch ends: the user left (input ended),
    // flooded, or was kicked.
    const own$ = lines$.pipe(
      parseCommands(),
      rateLimit({ perSecond: rate, burst: options.rateBurst ?? Math.max(1, 2 * rate), scheduler, onDrop: options.onDrop }),
      idleKick(options.idleMs, IDLE, scheduler),
      concatMapNow(handle, { value: JOIN }),
    );

    // One flat merge that ends with the user's branch: a broadcast passes as few operators as
    // possible on its way to each recipient (it is the hot path: once per line per user online).
    // The broadcast and the inbox are subscribed before the join, so that the newcomer sees its
    // own join line. Replies pass through replayThenLive as well: one merge instead of a merge of
    // the live lines inside another (a layer less for every line to every recipient). A reply
    // never comes during a replay (a command's turn lasts until its replay is sent).
    const live$ = mergeWhile<Output>(
      own$,
      [
        options.broadcast$
          ? feed(options.broadcast$, (item): Output => {
              if (item instanceof Chunk) lastChunk = item;
              return item;
            })
          : feed(hub.events$, render),
        feed(hub.inbox(id), (event) => accounts?.fromInbox(event) ?? render(event)),
      ],
      () => replays$.complete(),
    );
    return new Observable<Output>((out) => {
      const split = (item: Output) => (item instanceof Chunk ? item.lines : undefined);
      out.add(live$.pipe(replayThenLive<Output>(replays$, idOf, compareIds, { onReplayError: () => [HISTORY.end], present: tag, split })).subscribe(out));
      // After the session's subscriptions are gone: its user leaves the hub once, however it ended.
      return () => hub.leave(id);
    });
  });
}
