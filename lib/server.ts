/**
 * Admission, limits and shutdown: `ChatServer` turns peers (from any transport: `lib/tcp/`,
 * `lib/web/`) into sessions on one hub, counts every connection against the limits, and shuts
 * everything down cleanly. Beside it: its options (lib/server-options.ts), its broadcast stamped
 * and rendered once (lib/journal.ts), its running sessions (lib/sessions.ts), what it tells the
 * operator about connections (lib/connection-log.ts), its TCP and TLS ports (lib/tcp/ports.ts).
 */
import { randomBytes } from 'node:crypto';
import { Observable, SchedulerLike, asyncScheduler } from 'rxjs';
import { Auth, passwordsAllowed } from './auth/auth';
import { Admission, Refusal, Ticket } from './admission';
import { ConnectionLog } from './connection-log';
import { Hub, MemoryHub } from './hub';
import { Journal } from './journal';
import { ServerMetrics, Transport, clusterOf } from './metrics';
import { Chunk, Line, Outbox } from './outbox';
import { Pausable, ReadBudget, gate } from './overload';
import type { Peer } from './peer';
import type { Event } from './protocol';
import { Sessions } from './sessions';
import { Address, ServerOptions, Settings, authOf, historyOf, loggerOf, settingsOf } from './server-options';
import { Output, session } from './session';
import type { MessageLog } from './store/log';
import type { Listener } from './tcp/listen';
import type { ProxyProtocolOptions } from './tcp/proxy-protocol';
import { TlsPortOptions, openTcp, openTls, proxyProtocol } from './tcp/ports';
import { Texts, texts as catalogues } from './texts';
import type { TrustedProxies } from './trust';

export type { Peer } from './peer';
export { DEFAULTS, type Address, type ServerOptions } from './server-options';

export class ChatServer {
  readonly hub: Hub;
  readonly texts: Texts;
  readonly history: MessageLog | undefined;
  readonly options: Readonly<Settings>;
  /** This server's output path: every transport's peers flush through it, after the log commits. */
  readonly outbox: Outbox;
  /** The hub's events, stamped and rendered once for every session of this server (the hot path). */
  readonly broadcast$: Observable<Chunk>;
  /** An event as the line its recipients get (lib/journal.ts). */
  readonly line: (event: Event) => Line;
  /** This server's Prometheus metrics (its own registry); `lib/web/health.ts` serves them. */
  readonly metrics: ServerMetrics;
  /** Every accepted socket's place against the limits, all ports; the web edge admits through it too. */
  readonly admission: Admission;
  /** Input handled per turn (lib/overload.ts); undefined with `readBudgetMs: 0`. */
  readonly readBudget: ReadBudget | undefined;
  /** The proxies whose word on a client's address is taken; the web edge reads it too. */
  readonly trustProxy: TrustedProxies | undefined;
  /** Accounts, unless turned off. */
  readonly auth: Auth | undefined;
  private readonly journal: Journal;
  private readonly log: ConnectionLog;
  private readonly scheduler: SchedulerLike;
  private readonly proxy: ProxyProtocolOptions | undefined;
  private readonly sessions: Sessions;
  private readonly listeners: Listener[] = [];
  private sessionCount = 0;
  // Session ids are unique on the hub even when several servers share it (one process, tests).
  private readonly idPrefix = randomBytes(4).toString('hex');
  private closing = false;
  /** The TLS port the line protocol listens on, once it does: the plaintext-password notice names it. */
  private tlsPort: number | undefined;

  constructor(options: ServerOptions = {}) {
    this.options = settingsOf(options);
    this.hub = options.hub ?? new MemoryHub();
    this.texts = catalogues[this.options.lang];
    this.scheduler = options.scheduler ?? asyncScheduler;
    const logger = loggerOf(options);
    this.admission = new Admission(this.options);
    this.readBudget =
      this.options.readBudgetMs > 0
        ? new ReadBudget({ budgetMs: this.options.readBudgetMs, log: (line) => logger.log('warn', line, { event: 'overload' }) })
        : undefined;
    this.metrics = new ServerMetrics({ online: () => this.hub.size, cluster: clusterOf(this.hub) });
    this.log = new ConnectionLog(this.metrics, logger, this.options.maxQueueBytes);
    if (options.proxyProtocol && !options.trustProxy) throw new Error('proxyProtocol needs trustProxy: the proxies allowed to name clients');
    this.trustProxy = options.trustProxy;
    this.proxy = options.proxyProtocol && options.trustProxy ? proxyProtocol(options.trustProxy, options.proxyHeaderTimeoutMs, this.log) : undefined;
    this.history = historyOf(options);
    this.auth = authOf(options, this.scheduler, logger);
    const journal = (this.journal = new Journal({
      hub: this.hub,
      texts: this.texts,
      history: this.history,
      metrics: this.metrics,
      logger,
      scheduler: this.scheduler,
    }));
    this.outbox = journal.outbox;
    this.sessions = new Sessions(this.log, this.outbox, this.options.maxQueueBytes);
    this.broadcast$ = journal.broadcast$;
    this.line = journal.line;
  }

  /** How many peers are connected now. */
  get connections(): number {
    return this.sessions.size;
  }

  /** Connections reset by their client before the server accepted them (nothing to announce; counted, not logged one by one). */
  get resetBeforeAccept(): number {
    return this.admission.resetBeforeAccept;
  }

  /** A socket of the web port refused at accept (lib/web/limits.ts): counted, logged at debug only, since a flood is thousands. */
  refusedWeb(addr: string, why: Refusal): void {
    this.log.refusedWeb(addr, why);
  }

  /**
   * Starts a session for a peer: the one entry point for every transport (`transport` labels
   * its metrics). `ticket`: the place its socket took when the transport accepted it
   * (lib/admission.ts); a peer without one (an embedder's, a test's) takes its place here.
   */
  accept(peer: Peer, transport: Transport = 'tcp', ticket?: Ticket): void {
    const place = ticket ?? this.admission.admit('chat', peer.ip);
    // A place taken for a proxy's connection counts under the client's IP once it is named.
    const because = place.refused ?? (this.closing ? 'shutdown' : this.admission.name(place, peer.ip));
    const { addr } = peer;
    if (because !== undefined) {
      const refusal = because === 'shutdown' ? this.texts.shutdown : because === 'per_ip' ? this.texts.tooManyFromAddress : this.texts.serverFull;
      this.log.refused(addr, transport, because, refusal);
      if (!ticket) this.admission.release(place);
      peer.write(new Line(refusal).encoded);
      peer.end();
      return;
    }
    if (!ticket) peer.onClose(() => this.admission.release(place));
    this.sessions.start(peer, transport, this.sessionOf(peer));
  }

  /** A peer's session: its lines counted as read (one per line, a sender's, not per recipient), held past the turn's read budget. */
  private sessionOf(peer: Peer): Observable<Output> {
    // Past the turn's read budget, its input waits (lib/overload.ts); a transport that cannot pause is never held.
    const input$ = this.readBudget && peer.pause && peer.resume ? peer.lines$.pipe(gate(this.readBudget, peer as Pausable)) : peer.lines$;
    return session(input$, {
      hub: this.hub,
      texts: this.texts,
      addr: peer.addr,
      id: `${this.idPrefix}-${++this.sessionCount}`,
      broadcast$: this.broadcast$,
      render: this.line,
      history: this.history && { log: this.history, page: this.options.historyPage },
      idleMs: this.options.idleTimeoutMs,
      maxLineBytes: this.options.maxLineBytes,
      rateLimit: this.options.rateLimit,
      rateBurst: this.options.rateBurst,
      scheduler: this.scheduler,
      onRead: this.log.read,
      onDrop: this.log.rateDropped,
      accounts: this.auth && {
        auth: this.auth,
        ip: peer.ip,
        passwordsAllowed: passwordsAllowed(peer, this.auth.allowPlaintext),
        tlsPort: this.tlsPortNow,
        stamp: this.journal.stampPrivate,
      },
    });
  }

  /** The TLS port, when the plaintext-password notice is written (one function for every session). */
  private readonly tlsPortNow = (): number | undefined => this.tlsPort;

  /** Accepting connections: not shutting down (`/healthz`). */
  get accepting(): boolean {
    return !this.closing;
  }

  /** Listens for TCP clients; resolves with the address actually bound (port 0 picks one). */
  async listen(): Promise<Address> {
    const listener = await openTcp(this, this.log, this.proxy);
    this.listeners.push(listener);
    return { host: listener.host, port: listener.port };
  }

  /**
   * Listens for TLS clients of the line protocol on `port` (0 picks one) of the same host: the
   * same sessions, limits and idle kick as `listen()`; `certificate.reload()` reaches it.
   */
  async listenTls(options: TlsPortOptions): Promise<Address> {
    const listener = await openTls(this, this.log, options);
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
    const peers = this.sessions.stop();
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
    this.sessions.end(peers);
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
    this.journal.close();
    const resets = this.admission.resetBeforeAccept;
    // Nothing to say for a server that never had a client (a CLI that failed to start).
    if (peers.length > 0 || resets > 0) this.log.shutdown(peers.length, open.size, resets);
  }
}
