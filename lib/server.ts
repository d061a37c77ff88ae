/**
 * Admission and lifecycle: `ChatServer` turns peers (from any transport: `lib/tcp/`,
 * `lib/web/`) into sessions on one hub, enforces the connection limits, logs each connection's
 * end with its reason, and shuts everything down cleanly. How lines leave is `lib/outbox.ts`.
 */
import { randomBytes } from 'node:crypto';
import { Observable, SchedulerLike, Subject, Subscription, asyncScheduler, tap } from 'rxjs';
import { MemoryAccounts } from './auth/accounts';
import { AccountsConfig, Auth, passwordsAllowed } from './auth/auth';
import { MemoryLimiter } from './auth/limiter';
import { Passwords } from './auth/passwords';
import { Admission, Refusal, Ticket } from './admission';
import { Hub, MemoryHub } from './hub';
import { Framed, TOO_LONG } from './lines';
import { Logger, SILENT, lineLogger } from './logger';
import { ServerMetrics, Transport, clusterOf } from './metrics';
import { Line, Outbox } from './outbox';
import { Pausable, ReadBudget, gate } from './overload';
import type { Peer } from './peer';
import { Event, renderEvent } from './protocol';
import type { MessageLog } from './store/log';
import { MemoryLog } from './store/memory';
import { boundSendQueue } from './send-queue';
import { CloseReason, Output, session } from './session';
import { Listener, listenTcp } from './tcp/listen';
import type { ProxyProtocolOptions } from './tcp/proxy-protocol';
import { TlsCertificate, listenTls } from './tcp/tls';
import { Lang, Texts, texts as catalogues } from './texts';
import type { TrustedProxies } from './trust';

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
  /**
   * Connections beyond this many, every port together (chat, TLS, page requests, WebSockets),
   * are refused at accept (lib/admission.ts): a chat client with a notice, a web one at once.
   */
  readonly maxConnections?: number;
  /** Connections from one IP beyond this many, every port together, are refused; 0: no limit. */
  readonly maxConnectionsPerIp?: number;
  /** The web port's share of `maxConnections` (page requests and WebSockets); half of it by default. */
  readonly maxWebConnections?: number;
  /**
   * Input handled per turn of the event loop, in ms, before reading pauses until the next turn
   * (lib/overload.ts): an overloaded server slows its senders and stays responsive. 0: no bound.
   */
  readonly readBudgetMs?: number;
  /** Lines a second each peer may send (token bucket); 0 turns the limit off. */
  readonly rateLimit?: number;
  /** Lines a peer may send at once before the rate applies. */
  readonly rateBurst?: number;
  /** Presence and broadcast; in memory by default. `close()` closes it. */
  readonly hub?: Hub;
  /**
   * The message log: every join, leave and public message is stamped and committed to it
   * before any socket gets it. In memory (the newest 10,000) by default; the CLI gives SQLite;
   * `false`: no log at all (lines carry no id, `history|` finds nothing). `close()` does not
   * close it: whoever opened it does.
   */
  readonly history?: MessageLog | false;
  /** Most events one `history|` or `since|` reply holds. */
  readonly historyPage?: number;
  readonly scheduler?: SchedulerLike;
  /** Where the operator's log lines go (one event each); nowhere by default. */
  readonly log?: (line: string) => void;
  /** The operator's log with levels and fields (`lib/logger.ts`); takes the place of `log`. */
  readonly logger?: Logger;
  /**
   * The TCP port speaks the PROXY protocol (`lib/tcp/proxy-protocol.ts`): every connection
   * must come from `trustProxy` and open with a header naming the client. Needs `trustProxy`.
   */
  readonly proxyProtocol?: boolean;
  /** The proxies whose word on a client's address is taken (PROXY headers; the web's X-Forwarded-For). */
  readonly trustProxy?: TrustedProxies;
  /** With `proxyProtocol`: a connection without its header after this long is dropped. */
  readonly proxyHeaderTimeoutMs?: number;
  /**
   * Accounts (`register|`, `login|`, `passwd|`, `logout`; lib/auth/): in memory unless given a
   * store; `false`: none (those commands get a notice). `close()` does not close the store.
   */
  readonly accounts?: AccountsConfig | false;
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
  // Each turn ends with a flush of O(recipients) writes: at 10 ms, fanout to 1,000 clients lost
  // about half its throughput to them; at 25 ms nothing measurable, and turns stay short.
  readBudgetMs: 25,
  rateLimit: 20,
  rateBurst: 40,
  historyPage: 200,
};

export interface Address {
  readonly host: string;
  readonly port: number;
}

type Settings = Required<
  Omit<ServerOptions, 'hub' | 'log' | 'scheduler' | 'history' | 'logger' | 'proxyProtocol' | 'trustProxy' | 'proxyHeaderTimeoutMs' | 'accounts'>
>;

export class ChatServer {
  readonly hub: Hub;
  readonly texts: Texts;
  readonly history: MessageLog | undefined;
  /** This server's output path: every transport's peers flush through it, after the log commits. */
  readonly outbox: Outbox;
  /** The hub's events, stamped and rendered once for every session of this server (the hot path). */
  readonly broadcast$: Observable<Line>;
  private readonly events: Subscription;
  readonly options: Readonly<Settings>;
  private readonly scheduler: SchedulerLike;
  /** This server's Prometheus metrics (its own registry); `lib/web/health.ts` serves them. */
  readonly metrics: ServerMetrics;
  private readonly logger: Logger;
  /** The proxies whose word on a client's address is taken; the web edge reads it too. */
  readonly trustProxy: TrustedProxies | undefined;
  private readonly proxy: ProxyProtocolOptions | undefined;
  /** Each session's subscription, and its end's bookkeeping (logged once, however it ends). */
  private readonly peers = new Map<Peer, { readonly subscription: Subscription; readonly finish: () => void }>();
  /** Every accepted socket's place against the limits, all ports; the web edge admits through it too. */
  readonly admission: Admission;
  /** Input handled per turn (lib/overload.ts); undefined with `readBudgetMs: 0`. */
  readonly readBudget: ReadBudget | undefined;
  private readonly listeners: Listener[] = [];
  private sessions = 0;
  // Session ids are unique on the hub even when several servers share it (one process, tests).
  private readonly idPrefix = randomBytes(4).toString('hex');
  private closing = false;
  /** Accounts, unless turned off. */
  readonly auth: Auth | undefined;
  /** The TLS port the line protocol listens on, once it does: the plaintext-password notice names it. */
  private tlsPort: number | undefined;

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
      maxWebConnections: options.maxWebConnections ?? Math.ceil((options.maxConnections ?? DEFAULTS.maxConnections) / 2),
      readBudgetMs: options.readBudgetMs ?? DEFAULTS.readBudgetMs,
      rateLimit: options.rateLimit ?? DEFAULTS.rateLimit,
      rateBurst: options.rateBurst ?? DEFAULTS.rateBurst,
      historyPage: options.historyPage ?? DEFAULTS.historyPage,
    };
    this.hub = options.hub ?? new MemoryHub();
    this.texts = catalogues[this.options.lang];
    this.scheduler = options.scheduler ?? asyncScheduler;
    const logger = (this.logger = options.logger ?? (options.log ? lineLogger(options.log) : SILENT));
    this.admission = new Admission(this.options);
    this.readBudget =
      this.options.readBudgetMs > 0
        ? new ReadBudget({ budgetMs: this.options.readBudgetMs, log: (line) => logger.log('warn', line, { event: 'overload' }) })
        : undefined;
    this.metrics = new ServerMetrics({ online: () => this.hub.size, cluster: clusterOf(this.hub) });
    if (options.proxyProtocol && !options.trustProxy) throw new Error('proxyProtocol needs trustProxy: the proxies allowed to name clients');
    this.trustProxy = options.trustProxy;
    this.proxy = options.proxyProtocol && options.trustProxy ? this.proxyOptions(options.trustProxy, options.proxyHeaderTimeoutMs) : undefined;
    const history = (this.history = options.history === false ? undefined : (options.history ?? new MemoryLog({ maxLines: 10_000 })));
    const accounts = options.accounts === false ? undefined : (options.accounts ?? {});
    this.auth = accounts && this.authFrom(accounts);
    const broadcast = new Subject<Line>();
    this.broadcast$ = broadcast.asObservable();
    // Write-ahead: the turn's events are committed in one transaction before its lines leave.
    this.outbox = new Outbox(() => {
      this.metrics.flushing();
      if (!history) return;
      const wasDegraded = history.degraded;
      history.commit();
      if (!wasDegraded && history.degraded) {
        logger.log('error', 'history: the message log could not be written; running without history from now on', { component: 'history' });
        broadcast.next(new Line(this.texts.historyLost));
      }
    });
    // Subscribed here, not by the sessions: every event is logged, listened to or not.
    this.events = this.hub.events$.subscribe({
      next: (event) => broadcast.next(this.line(event)),
      complete: () => broadcast.complete(),
    });
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
    this.outbox.wake();
    return new Line(text, { id, time });
  };

  /** How many peers are connected now. */
  get connections(): number {
    return this.peers.size;
  }

  /** Connections reset by their client before the server accepted them (nothing to announce; counted, not logged one by one). */
  get resetBeforeAccept(): number {
    return this.admission.resetBeforeAccept;
  }

  /** A socket of the web port refused at accept (lib/web/limits.ts): counted, logged at debug only, since a flood is thousands. */
  refusedWeb(addr: string, why: Refusal): void {
    this.metrics.disconnects.refused++;
    this.logger.log('debug', `refused ${addr}: ${why}`, { event: 'refused', addr, transport: 'ws', reason: why });
  }

  /**
   * Starts a session for a peer: the one entry point for every transport (`transport` labels
   * its metrics). `ticket`: the place its socket took when the transport accepted it
   * (lib/admission.ts); a peer without one (an embedder's, a test's) takes its place here.
   */
  accept(peer: Peer, transport: Transport = 'tcp', ticket?: Ticket): void {
    const { maxQueueBytes } = this.options;
    const place = ticket ?? this.admission.admit('chat', peer.ip);
    // A place taken for a proxy's connection counts under the client's IP once it is named.
    const because = place.refused ?? (this.closing ? 'shutdown' : this.admission.name(place, peer.ip));
    const { addr } = peer;
    if (because !== undefined) {
      const refusal = because === 'shutdown' ? this.texts.shutdown : because === 'per_ip' ? this.texts.tooManyFromAddress : this.texts.serverFull;
      this.metrics.disconnects.refused++;
      this.logger.log('info', `refused ${addr}: ${refusal}`, { event: 'refused', addr, transport, reason: because });
      if (!ticket) this.admission.release(place);
      peer.write(new Line(refusal).encoded);
      peer.end();
      return;
    }
    if (!ticket) peer.onClose(() => this.admission.release(place));
    this.metrics.open[transport]++;
    this.metrics.opened[transport]++;
    this.logger.log('info', `connected ${addr}`, { event: 'connected', addr, transport });
    // Counted per line read (a sender's, not per recipient); a rate drop is seen by its notice.

    let reason: CloseReason | 'left' | 'error' = 'left';
    // Past the turn's read budget, its input waits (lib/overload.ts); a transport that cannot pause is never held.
    const counted$ = peer.lines$.pipe(tap((line) => this.countLine(line)));
    const input$ = this.readBudget && peer.pause && peer.resume ? counted$.pipe(gate(this.readBudget, peer as Pausable)) : counted$;
    const output$ = session(input$, {
      hub: this.hub,
      texts: this.texts,
      addr: peer.addr,
      id: `${this.idPrefix}-${++this.sessions}`,
      broadcast$: this.broadcast$,
      render: this.line,
      history: this.history && { log: this.history, page: this.options.historyPage },
      idleMs: this.options.idleTimeoutMs,
      maxLineBytes: this.options.maxLineBytes,
      rateLimit: this.options.rateLimit,
      rateBurst: this.options.rateBurst,
      scheduler: this.scheduler,
      onDrop: this.countRateDrop,
      accounts: this.auth && {
        auth: this.auth,
        ip: peer.ip,
        passwordsAllowed: passwordsAllowed(peer, this.auth.allowPlaintext),
        tlsPort: () => this.tlsPort,
        stamp: this.stampPrivate,
      },
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
        this.logger.log('warn', `error ${addr}: ${err.message}`, { event: 'error', addr, transport, error: err.message });
        peer.destroy();
      },
      complete: () => peer.end(),
    });
    // Logged once, when the transport closes, or at shutdown when the server ends it (the
    // process may exit before every transport reports its close).
    const finish = () => {
      if (!this.peers.delete(peer)) return;
      const why = reason === 'left' && this.closing ? 'shutdown' : reason;
      this.metrics.open[transport]--;
      this.metrics.disconnects[why]++;
      const line = why === 'left' ? `disconnected ${addr}` : `disconnected ${addr} (${describe(why, maxQueueBytes)})`;
      this.logger.log('info', line, { event: 'disconnected', addr, transport, reason: why });
    };
    this.peers.set(peer, { subscription, finish });
    peer.onClose(() => {
      subscription.unsubscribe();
      finish();
    });
  }

  /** A private message's place in the log, kept with it when it waits for an offline account. */
  private readonly countRateDrop = (): void => {
    this.metrics.dropped.rate++;
  };

  private readonly stampPrivate = (event: Extract<Event, { kind: 'private' }>): { readonly id?: string; readonly time: number } => {
    if (!this.history) return { time: this.scheduler.now() };
    const { id, time } = this.history.stamp(event);
    return { id, time };
  };

  private authFrom(config: AccountsConfig): Auth {
    return new Auth({
      store: config.store ?? new MemoryAccounts(),
      limiter: config.limiter ?? new MemoryLimiter({ scheduler: this.scheduler }),
      passwords: new Passwords(config.kdf),
      allowPlaintext: config.allowPlaintext,
      maxOffline: config.maxOffline,
      log: (level, line, fields) => this.logger.log(level, line, fields),
    });
  }

  private readonly countLine = (line: Framed): void => {
    this.metrics.received++;
    if (line === TOO_LONG) this.metrics.dropped.too_long++;
  };

  private proxyOptions(trusted: TrustedProxies, timeoutMs: number | undefined): ProxyProtocolOptions {
    return {
      trusted,
      timeoutMs,
      // A health check that connects and closes is no refusal worth counting or seeing at info.
      refused: (addr, why, quiet) => {
        if (!quiet) this.metrics.disconnects.refused++;
        this.logger.log(quiet ? 'debug' : 'warn', `refused ${addr}: ${why}`, {
          event: 'refused',
          addr,
          transport: 'tcp',
          reason: 'proxy_protocol',
          error: why,
        });
      },
    };
  }

  /** Accepting connections: not shutting down (`/healthz`). */
  get accepting(): boolean {
    return !this.closing;
  }

  /** Listens for TCP clients; resolves with the address actually bound (port 0 picks one). */
  async listen(): Promise<Address> {
    const { host, port, maxLineBytes } = this.options;
    const listener = await listenTcp(
      (peer, ticket) => this.accept(peer, 'tcp', ticket),
      // Behind the PROXY protocol the socket's address is the proxy's: counted under the client's once its header names it.
      {
        host,
        port,
        maxLineBytes,
        outbox: this.outbox,
        metrics: this.metrics,
        proxy: this.proxy,
        admit: (socket) => this.admission.admitSocket(socket, 'chat', !this.proxy),
      },
      (line) => this.logger.log('error', line),
    );
    this.listeners.push(listener);
    return { host: listener.host, port: listener.port };
  }

  /**
   * Listens for TLS clients of the line protocol on `port` (0 picks one) of the same host: the
   * same sessions, limits and idle kick as `listen()`; `certificate.reload()` reaches it.
   */
  async listenTls(options: { readonly certificate: TlsCertificate; readonly port: number; readonly handshakeTimeoutMs?: number }): Promise<Address> {
    const { host, maxLineBytes } = this.options;
    const handshakeFailed = (addr: string, why: string) =>
      this.logger.log('info', `tls handshake failed ${addr}: ${why}`, { event: 'tls_handshake_failed', addr, transport: 'tls', error: why });
    const listener = await listenTls(
      (peer) => this.accept(peer, 'tls'),
      { ...options, host, maxLineBytes, outbox: this.outbox, metrics: this.metrics, handshakeFailed },
      (line) => this.logger.log('error', line),
    );
    this.listeners.push(listener);
    this.tlsPort ??= listener.port;
    return { host: listener.host, port: listener.port };
  }

  /**
   * Shuts down: every client gets the shutdown notice and is disconnected; resolves once all
   * are gone (or after `graceMs`, when the stragglers are destroyed).
   */
  async close(graceMs = 1000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.admission.close();
    const stopped = Promise.all(this.listeners.map((listener) => listener.close()));
    const peers = [...this.peers.keys()];
    const notice = new Line(this.texts.shutdown).encoded;
    // The notice goes ahead of everything not yet handed to the kernel: a backlog (an
    // overloaded server's) neither delays it nor outlasts the grace period.
    for (const peer of peers) {
      peer.discard?.();
      peer.write(notice);
    }
    // Closed before the sessions end, so that their leaves are not broadcast to each other.
    const hubClosed = this.hub.close();
    // Every session ends, and is logged, before any transport flushes: a flush releases input
    // the read budget held, which must find no session left to feed.
    for (const peer of peers) {
      const entry = this.peers.get(peer);
      entry?.subscription.unsubscribe();
      entry?.finish();
    }
    const open = new Set(peers);
    const gone = Promise.all(
      peers.map(
        (peer) =>
          new Promise<void>((resolve) =>
            peer.onClose(() => {
              open.delete(peer);
              resolve();
            }),
          ),
      ),
    );
    for (const peer of peers) peer.end();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, graceMs)));
    await Promise.race([gone, late]);
    clearTimeout(timer);
    for (const peer of open) peer.destroy();
    await Promise.all([stopped, hubClosed]);
    this.events.unsubscribe();
    this.history?.commit();
    const resets = this.admission.resetBeforeAccept;
    // Nothing to say for a server that never had a client (a CLI that failed to start).
    if (peers.length > 0 || resets > 0) {
      const line = `shutdown: ${peers.length} sessions ended (${peers.length - open.size} closed in time); ${resets} connections were reset before they were accepted`;
      this.logger.log('info', line, { event: 'shutdown', sessions: peers.length, destroyed: open.size, reset_before_accept: resets });
    }
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
