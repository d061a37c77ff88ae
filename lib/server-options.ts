/**
 * What a `ChatServer` is told: every option with what it means, the defaults, and what a server
 * runs with once the defaults are filled in (its settings, its operator log, its message log,
 * its accounts). The CLI's flags (lib/flags.ts) map onto these options one for one.
 */
import type { SchedulerLike } from 'rxjs';
import { MemoryAccounts } from './auth/accounts';
import { AccountsConfig, Auth } from './auth/auth';
import { MemoryLimiter } from './auth/limiter';
import { Passwords } from './auth/passwords';
import type { Hub } from './hub';
import { Logger, SILENT, lineLogger } from './logger';
import type { MessageLog } from './store/log';
import { MemoryLog } from './store/memory';
import type { Lang } from './texts';
import type { TrustedProxies } from './trust';

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

/** The plain settings, every one filled in (the objects a server is given stay options). */
export type Settings = Required<
  Omit<ServerOptions, 'hub' | 'log' | 'scheduler' | 'history' | 'logger' | 'proxyProtocol' | 'trustProxy' | 'proxyHeaderTimeoutMs' | 'accounts'>
>;

export function settingsOf(options: ServerOptions): Settings {
  return {
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
}

/** The operator's log the options ask for: `logger`, else `log`'s lines, else none. */
export function loggerOf(options: ServerOptions): Logger {
  return options.logger ?? (options.log ? lineLogger(options.log) : SILENT);
}

/** The message log the options ask for: theirs, none (`false`), or the newest 10,000 in memory. */
export function historyOf(options: ServerOptions): MessageLog | undefined {
  return options.history === false ? undefined : (options.history ?? new MemoryLog({ maxLines: 10_000 }));
}

/** The accounts the options ask for, each part they leave out in memory (the limiter clocked by `scheduler`); none with `false`. */
export function authOf(options: ServerOptions, scheduler: SchedulerLike, logger: Logger): Auth | undefined {
  if (options.accounts === false) return undefined;
  const config = options.accounts ?? {};
  return new Auth({
    store: config.store ?? new MemoryAccounts(),
    limiter: config.limiter ?? new MemoryLimiter({ scheduler }),
    passwords: new Passwords(config.kdf),
    allowPlaintext: config.allowPlaintext,
    maxOffline: config.maxOffline,
    log: (level, line, fields) => logger.log(level, line, fields),
  });
}

/** Where a port is bound. */
export interface Address {
  readonly host: string;
  readonly port: number;
}
