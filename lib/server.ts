/**
 * Admission and lifecycle: `ChatServer` turns peers (from any transport: `lib/tcp/`,
 * `lib/web/`) into sessions on one hub, enforces the connection limits, logs each connection's
 * end with its reason, and shuts everything down cleanly. How lines leave is `lib/outbox.ts`.
 */
import { randomBytes } from 'node:crypto';
import { Observable, SchedulerLike, Subscription, asyncScheduler, map, share } from 'rxjs';
import { Hub, MemoryHub } from './hub';
import { Line, Outbox } from './outbox';
import type { Peer } from './peer';
import { renderEvent } from './protocol';
import { boundSendQueue } from './send-queue';
import { CloseReason, Output, session } from './session';
import { Listener, listenTcp } from './tcp/listen';
import { Lang, Texts, texts as catalogues } from './texts';

export type { Peer } from './peer';

export interface ServerOptions {
  /** Interface to listen on. */
  readonly host?: string;
  /** TCP port; 0 picks a free one. */
  readonly port?: number;
  /** Silence, in ms, after which a user is kicked. */
  readonly idleTimeoutMs?: number;
  readonly lang?: Lang;
  /** Longest line accepted, in bytes, without its line ending. */
  readonly maxLineBytes?: number;
  /** Most output a peer may have pending before it is cut off (its "SendQ"). */
  readonly maxQueueBytes?: number;
  /** Connections beyond this many are refused with a notice. */
  readonly maxConnections?: number;
  /** Connections from one IP beyond this many are refused; 0: no limit. */
  readonly maxConnectionsPerIp?: number;
  /** Lines a second each peer may send (token bucket); 0 turns the limit off. */
  readonly rateLimit?: number;
  /** Lines a peer may send at once before the rate applies. */
  readonly rateBurst?: number;
  /** Presence and broadcast; in memory by default. `close()` closes it. */
  readonly hub?: Hub;
  readonly scheduler?: SchedulerLike;
  /** Where the operator's log lines go (one event each); nowhere by default. */
  readonly log?: (line: string) => void;
}

export const DEFAULTS = {
  host: '127.0.0.1',
  port: 8888,
  idleTimeoutMs: 60_000,
  lang: 'zh' as Lang,
  maxLineBytes: 4096,
  maxQueueBytes: 1024 * 1024,
  maxConnections: 10_000,
  maxConnectionsPerIp: 0,
  rateLimit: 20,
  rateBurst: 40,
};

export interface Address {
  readonly host: string;
  readonly port: number;
}

type Settings = Required<Omit<ServerOptions, 'hub' | 'log' | 'scheduler'>>;

export class ChatServer {
  readonly hub: Hub;
  readonly texts: Texts;
  /** This server's output path: every transport's peers flush through it. */
  readonly outbox = new Outbox();
  /** The hub's events rendered once for every session of this server (the hot path). */
  readonly broadcast$: Observable<Line>;
  readonly options: Readonly<Settings>;
  private readonly scheduler: SchedulerLike;
  private readonly log: (line: string) => void;
  private readonly peers = new Map<Peer, Subscription>();
  private readonly perIp = new Map<string, number>();
  private readonly listeners: Listener[] = [];
  private sessions = 0;
  // Session ids are unique on the hub even when several servers share it (one process, tests).
  private readonly idPrefix = randomBytes(4).toString('hex');
  private closing = false;

  constructor(options: ServerOptions = {}) {
    this.options = {
      host: options.host ?? DEFAULTS.host,
      port: options.port ?? DEFAULTS.port,
      idleTimeoutMs: options.idleTimeoutMs ?? DEFAULTS.idleTimeoutMs,
      lang: options.lang ?? DEFAULTS.lang,
      maxLineBytes: options.maxLineBytes ?? DEFAULTS.maxLineBytes,
      maxQueueBytes: options.maxQueueBytes ?? DEFAULTS.maxQueueBytes,
      maxConnections: options.maxConnections ?? DEFAULTS.maxConnections,
      maxConnectionsPerIp: options.maxConnectionsPerIp ?? DEFAULTS.maxConnectionsPerIp,
      rateLimit: options.rateLimit ?? DEFAULTS.rateLimit,
      rateBurst: options.rateBurst ?? DEFAULTS.rateBurst,
    };
    this.hub = options.hub ?? new MemoryHub();
    this.texts = catalogues[this.options.lang];
    this.scheduler = options.scheduler ?? asyncScheduler;
    this.log = options.log ?? (() => {});
    const t = this.texts;
    this.broadcast$ = this.hub.events$.pipe(
      map((event) => new Line(renderEvent(event, t))),
      share(),
    );
  }

  /** How many peers are connected now. */
  get connections(): number {
    return this.peers.size;
  }

  /** Starts a session for a peer: the one entry point for every transport. */
  accept(peer: Peer): void {
    const { maxConnections, maxConnectionsPerIp, maxQueueBytes } = this.options;
    const fromIp = this.perIp.get(peer.ip) ?? 0;
    const refusal =
      this.closing ? this.texts.shutdown
      : this.peers.size >= maxConnections ? this.texts.serverFull
      : maxConnectionsPerIp > 0 && fromIp >= maxConnectionsPerIp ? this.texts.tooManyFromAddress
      : undefined;
    if (refusal !== undefined) {
      this.log(`refused ${peer.addr}: ${refusal}`);
      peer.write(new Line(refusal).encoded);
      peer.end();
      return;
    }
    this.perIp.set(peer.ip, fromIp + 1);
    this.log(`connected ${peer.addr}`);

    let reason: CloseReason | 'left' | 'error' = 'left';
    const output$ = session(peer.lines$, {
      hub: this.hub,
      texts: this.texts,
      addr: peer.addr,
      id: `${this.idPrefix}-${++this.sessions}`,
      broadcast$: this.broadcast$,
      idleMs: this.options.idleTimeoutMs,
      maxLineBytes: this.options.maxLineBytes,
      rateLimit: this.options.rateLimit,
      rateBurst: this.options.rateBurst,
      scheduler: this.scheduler,
    }).pipe(boundSendQueue(() => peer.queued(), maxQueueBytes));
    const subscription = output$.subscribe({
      next: (out: Output) => {
        if (this.closing) return; // only the shutdown notice goes out now
        if (out instanceof Line) peer.write(out.encoded);
        else if (typeof out === 'string') peer.write(new Line(out).encoded);
        else {
          reason = out.close;
          // A peer over its send queue would take ages to flush: drop it now.
          if (reason === 'sendq') peer.destroy();
        }
      },
      error: (err: Error) => {
        reason = 'error';
        this.log(`error ${peer.addr}: ${err.message}`);
        peer.destroy();
      },
      complete: () => peer.end(),
    });
    this.peers.set(peer, subscription);
    peer.onClose(() => {
      subscription.unsubscribe();
      if (!this.peers.delete(peer)) return;
      const left = (this.perIp.get(peer.ip) ?? 1) - 1;
      if (left > 0) this.perIp.set(peer.ip, left);
      else this.perIp.delete(peer.ip);
      const why = reason === 'left' && this.closing ? 'shutdown' : reason;
      this.log(why === 'left' ? `disconnected ${peer.addr}` : `disconnected ${peer.addr} (${describe(why, maxQueueBytes)})`);
    });
  }

  /** Listens for TCP clients; resolves with the address actually bound (port 0 picks one). */
  async listen(): Promise<Address> {
    const { host, port, maxLineBytes } = this.options;
    const listener = await listenTcp((peer) => this.accept(peer), { host, port, maxLineBytes, outbox: this.outbox }, this.log);
    this.listeners.push(listener);
    return { host: listener.host, port: listener.port };
  }

  /**
   * Shuts down: every client gets the shutdown notice and is disconnected; resolves once all
   * are gone (or after `graceMs`, when the stragglers are destroyed).
   */
  async close(graceMs = 1000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const stopped = Promise.all(this.listeners.map((listener) => listener.close()));
    const peers = [...this.peers.keys()];
    const notice = new Line(this.texts.shutdown).encoded;
    for (const peer of peers) peer.write(notice);
    // Closed before the sessions end, so that their leaves are not broadcast to each other.
    const hubClosed = this.hub.close();
    for (const peer of peers) {
      this.peers.get(peer)?.unsubscribe();
      peer.end();
    }
    const gone = Promise.all(peers.map((peer) => new Promise<void>((resolve) => peer.onClose(resolve))));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([gone, late]);
    clearTimeout(timer);
    for (const peer of this.peers.keys()) peer.destroy();
    await Promise.all([stopped, hubClosed]);
  }
}

function describe(reason: CloseReason | 'error', maxQueueBytes: number): string {
  switch (reason) {
    case 'idle':
      return 'kicked: idle';
    case 'flood':
      return 'kicked: flooding';
    case 'sendq':
      return `cut off: send queue over ${maxQueueBytes} bytes`;
    case 'shutdown':
      return 'server shutdown';
    case 'error':
      return 'transport error';
  }
}
