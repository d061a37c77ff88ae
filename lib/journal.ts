/**
 * The server's broadcast, stamped and rendered once: each hub event becomes one `Line` (with
 * the message log's id and time when it is a conversation line) shared by every session of
 * the server, and the log commits the turn's events just before the outbox writes them
 * (write-ahead). One `Journal` per `ChatServer`; lib/outbox.ts says how its lines leave.
 */
import { Observable, SchedulerLike, Subject, Subscription } from 'rxjs';
import type { Hub } from './hub';
import type { Logger } from './logger';
import type { ServerMetrics } from './metrics';
import { Chunk, Line, Outbox } from './outbox';
import { Event, renderEvent } from './protocol';
import type { MessageLog } from './store/log';
import type { Texts } from './texts';

export interface JournalOptions {
  readonly hub: Hub;
  readonly texts: Texts;
  /** Undefined: no log, lines carry no stamp. */
  readonly history: MessageLog | undefined;
  readonly metrics: ServerMetrics;
  readonly logger: Logger;
  /** The clock of a private message's time when there is no log. */
  readonly scheduler: SchedulerLike;
}

export class Journal {
  /** The server's output path: every transport's peers flush through it, after the log commits. */
  readonly outbox: Outbox;
  /**
   * The hub's events as their lines, for every session of the server (the hot path), in chunks:
   * the turn's lines in one `Chunk` while nothing else is written (lib/outbox.ts). A newcomer
   * gets the open chunk's view from its next line on (its own join, usually), then the rest.
   */
  readonly broadcast$: Observable<Chunk>;
  private readonly texts: Texts;
  private readonly history: MessageLog | undefined;
  private readonly metrics: ServerMetrics;
  private readonly scheduler: SchedulerLike;
  private readonly events: Subscription;
  private readonly chunks$ = new Subject<Chunk>();
  /** The chunk the turn's next line may join. */
  private chunk: Chunk | undefined;

  constructor(options: JournalOptions) {
    const { history, metrics, logger, texts } = options;
    this.texts = texts;
    this.history = history;
    this.metrics = metrics;
    this.scheduler = options.scheduler;
    const chunks$ = this.chunks$;
    this.broadcast$ = new Observable<Chunk>((subscriber) => {
      // A newcomer joins the open chunk from its next line on: a crowd arriving shares one.
      if (this.chunk?.canAppend(this.outbox.written)) subscriber.next(this.chunk.view());
      return chunks$.subscribe(subscriber);
    });
    // Write-ahead: the turn's events are committed in one transaction before its lines leave.
    this.outbox = new Outbox(() => {
      // Nothing joins a chunk once its bytes may be made.
      this.chunk?.close();
      metrics.flushing();
      if (!history) return;
      const wasDegraded = history.degraded;
      history.commit();
      if (!wasDegraded && history.degraded) {
        logger.log('error', 'history: the message log could not be written; running without history from now on', { component: 'history' });
        this.publish(new Line(texts.historyLost));
      }
    });
    // Subscribed here, not by the sessions: every event is logged, listened to or not.
    this.events = options.hub.events$.subscribe({
      next: (event) => this.publish(this.line(event)),
      // A hub's events$ does not fail (lib/hub.ts); if one did, its sessions would end with the error.
      error: (err: unknown) => chunks$.error(err),
      complete: () => chunks$.complete(),
    });
  }

  /** A line for everyone: into the open chunk while nothing else was written since it went out, else in a new one. */
  private publish(line: Line): void {
    if (this.chunk?.canAppend(this.outbox.written)) {
      this.chunk.append(line);
      return;
    }
    this.chunk = Chunk.of([line], this.outbox.written);
    this.chunks$.next(this.chunk);
  }

  /**
   * An event as the line its recipients get: conversation events (and private messages,
   * which are not stored) stamped with the log's id and time; notices as they are.
   */
  readonly line = (event: Event): Line => {
    const text = renderEvent(event, this.texts);
    // Its wait for the flush starts now; the flush comes even when nobody here receives it.
    this.metrics.arrived();
    this.outbox.wake();
    if (event.kind === 'cluster' || event.kind === 'nameLost' || !this.history) return new Line(text);
    // A shared hub's events come stamped by the cluster's stream (lib/redis/stream-log.ts).
    const { id, time } = ('stamp' in event ? event.stamp : undefined) ?? this.history.stamp(event);
    return new Line(text, { id, time });
  };

  /** A private message's place in the log, kept with it when it waits for an offline account. */
  readonly stampPrivate = (event: Extract<Event, { kind: 'private' }>): { readonly id?: string; readonly time: number } => {
    if (!this.history) return { time: this.scheduler.now() };
    const { id, time } = this.history.stamp(event);
    return { id, time };
  };

  /** Stops taking the hub's events and commits what the log holds. */
  close(): void {
    this.events.unsubscribe();
    this.history?.commit();
  }
}
