/**
 * The message log of a cluster (`--redis`): the Redis stream `p:log` that the nodes deliver
 * from (lib/redis/hub.ts). `history|` and `since|` read it (XREVRANGE), so they answer the same
 * on every node, and an id seen on one node is good for `since|` on any other.
 *
 * The seam with the server: the hub's events come stamped with their stream id and time
 * (`event.stamp`), and the server uses that stamp as it is; this log's `stamp()` is asked only
 * for what is not in the stream (private messages, lines a node shows while cut off from Redis,
 * a catch-up after Redis lost its data), and gives ids from the hub's clock, which follows the
 * stream's ids so that they sort among them. Nothing is written here: the stream holds a line
 * before any node shows it, so `commit()` has nothing to do.
 */
import { Observable, catchError, defer, from, isObservable, map, of, switchMap } from 'rxjs';
import type { Answer } from '../hub';
import type { Event, EventStamp } from '../protocol';
import { After, IdParts, LoggedEvent, MessageLog, Stamped, compareParts, countOf, parseId } from '../store/log';
import type { Link } from './link';
import { AFTER } from './scripts';
import { decodeEntry } from './wire';

/** What the log needs of its hub. */
export interface StreamAccess {
  readonly link: Link;
  /** A stamp from the hub's clock: after every stream id this node has seen. */
  stamp(): EventStamp;
  /** The newest id the hub's clock has given out or seen. */
  newest(): IdParts;
}

type Range = [string, string[]][];

export class RedisStreamLog implements MessageLog {
  constructor(private readonly access: StreamAccess) {}

  /** The stream is the log: there is nothing to degrade to here (a node cut off answers empty). */
  get degraded(): boolean {
    return false;
  }

  stamp<E extends Event>(event: E): Stamped<E> {
    const given = 'stamp' in event ? event.stamp : undefined;
    const { id, time } = given ?? this.access.stamp();
    return { id, time, event };
  }

  commit(): void {}

  last(n: number): Answer<readonly Stamped<LoggedEvent>[]> {
    const count = countOf(n);
    const { link } = this.access;
    if (count === 0 || !link.linked) return [];
    return defer(() => from(link.cmd.xrevrange(link.logKey, '+', '-', 'COUNT', count) as Promise<Range>)).pipe(
      map(newestFirst),
      catchError((err: unknown) => {
        link.trouble(err);
        return of([]);
      }),
    );
  }

  after(id: string, limit: number): Answer<After> {
    const { link } = this.access;
    if (!link.linked) return { known: false, events: [] };
    const parts = parseId(id);
    const count = countOf(limit);
    const unknown$ = (): Observable<After> => {
      const page$ = this.last(count);
      return (isObservable(page$) ? page$ : of(page$)).pipe(map((events): After => ({ known: false, events })));
    };
    if (parts === undefined) return unknown$();
    return defer(() => from(AFTER.run(link.cmd, [link.prefix, id, count + 1]))).pipe(
      switchMap((reply): Observable<After> => {
        const [deleted, lastGiven, entries, lost] = Array.isArray(reply) ? (reply as [unknown, unknown, unknown, unknown]) : [];
        if (typeof deleted !== 'string' || typeof lastGiven !== 'string' || !Array.isArray(entries)) return of({ known: false, events: [] });
        // "-FIRST" (the stream was trimmed): known from its first entry left on.
        const horizon = deleted.startsWith('-') ? parseId(deleted.slice(1)) : parseId(deleted);
        const sinceHorizon = horizon !== undefined && compareParts(parts, horizon) >= 0;
        const given = parseId(lastGiven);
        const newest = given !== undefined && compareParts(given, this.access.newest()) > 0 ? given : this.access.newest();
        // Redis restarted empty: what the stream held before is gone (see RESYNC).
        const loss = typeof lost === 'string' ? parseId(lost) : undefined;
        const sinceLoss = loss === undefined || compareParts(parts, loss) >= 0;
        if (!sinceHorizon || !sinceLoss || compareParts(parts, newest) > 0) return unknown$();
        const events = newestFirst(entries as Range);
        const truncated = events.length > count;
        return of({ known: true, events: truncated ? events.slice(events.length - count) : events, truncated });
      }),
      catchError((err: unknown) => {
        link.trouble(err);
        return of<After>({ known: false, events: [] });
      }),
    );
  }

  close(): void {}
}

/** XREVRANGE's entries (newest first) as stamped events, oldest first; malformed ones skipped. */
function newestFirst(entries: Range): Stamped<LoggedEvent>[] {
  const out: Stamped<LoggedEvent>[] = [];
  for (let i = entries.length - 1; i >= 0; i--) {
    const [id, fields] = entries[i];
    const parts = parseId(id);
    const entry = fields[0] === 'e' && typeof fields[1] === 'string' ? decodeEntry(fields[1]) : undefined;
    if (parts === undefined || entry === undefined) continue;
    out.push({ id, time: entry.t ?? parts.ms, event: entry.e });
  }
  return out;
}
