/**
 * Command-line flags -> options, as a pure function of argv (the CLIs own process.*).
 * Every bad value yields one specific message, never an exception.
 */
import { parseArgs } from 'node:util';
import { OPS_FLAGS, OPS_USAGE, OpsConfig, parseOpsFlags } from './ops-flags';
import { DEFAULTS, ServerOptions } from './server';
import { DEFAULT_TLS_PORT } from './tcp/tls';
import { isLang, Lang, LANGS } from './texts';
import { parseWebOrigins } from './web';

export type Parsed<T> =
  { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string } | { readonly ok: 'help' } | { readonly ok: 'version' };

export type Spec = Record<string, { type: 'string' | 'boolean'; short?: string }>;

/** argv -> the flags' values, or parseArgs's complaint cut to its first sentence. */
export function parse(argv: readonly string[], spec: Spec): { values: Record<string, string | boolean | undefined> } | { error: string } {
  // `--port -5` is a bad value, not a missing one: hand it to the flag (as `--port=-5`) so that
  // the range check names it, instead of parseArgs calling it ambiguous.
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const flag = /^--([^=]+)$/.exec(argv[i]);
    if (flag && spec[flag[1]]?.type === 'string' && /^-\d/.test(argv[i + 1] ?? '')) args.push(`${argv[i]}=${argv[++i]}`);
    else args.push(argv[i]);
  }
  try {
    const { values } = parseArgs({ args, options: spec, strict: true, allowPositionals: false });
    return { values };
  } catch (err) {
    // parseArgs explains at length; the first sentence is the one the operator needs.
    return { error: (err as Error).message.split('\n')[0].replace(/\. To specify a positional argument.*$/s, '') };
  }
}

/** An integer in [min, max], or an error message naming the flag. */
export function integer(flag: string, raw: string, min: number, max: number): number | string {
  const n = /^-?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) return `--${flag} must be a whole number from ${min} to ${max}, got '${raw}'`;
  return n;
}

/** A number of seconds (fractions allowed) > 0, as milliseconds. */
export function seconds(flag: string, raw: string): number | string {
  const n = /^\d*\.?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!(n > 0) || !Number.isFinite(n) || n > 2_147_483) return `--${flag} must be a positive number of seconds, got '${raw}'`;
  return Math.round(n * 1000);
}

/** A language of the texts, or the error naming the flag (an object, since a Lang is a string too). */
export function lang(flag: string, raw: string): Lang | { readonly error: string } {
  return isLang(raw) ? raw : { error: `--${flag} must be one of ${LANGS.join(', ')}, got '${raw}'` };
}

/** What the server CLI runs: the chat server's options and its other edges. */
export interface ServerConfig {
  readonly server: ServerOptions;
  /** HTTP port of the web chat (page + WebSocket); 0 picks a free one. */
  readonly httpPort: number;
  /** False with --no-web: TCP only. */
  readonly web: boolean;
  /** --web-origin: further origins the web chat is served under (a DNS name, a TLS proxy). */
  readonly webOrigins?: readonly string[];
  /** redis://HOST:PORT to share presence and broadcast with other nodes; in memory when absent. */
  readonly redisUrl?: string;
  /** With --redis: a node silent on Redis this long is declared dead (its users offline, names freed). */
  readonly nodeTimeoutMs?: number;
  /** The durable message log (SQLite in `dir`), or false with --no-history. */
  readonly history: { readonly dir: string; readonly maxLines: number } | false;
  /** --allow-plaintext-auth: passwords accepted over plain connections from anywhere (unsafe). */
  readonly allowPlaintextAuth?: boolean;
  /** With --redis: the cluster's log is the Redis stream, of this bound; false with --no-history. */
  readonly streamLog?: { readonly maxLines: number } | false;
  /** With --redis: most events a node keeps while it cannot reach Redis. */
  readonly outageBuffer?: number;
  /** Logs, metrics, the env file (lib/ops-flags.ts). */
  readonly ops: OpsConfig;
  /** --tls-cert, --tls-key: the line protocol also over TLS on `port`, the web chat over HTTPS; `plain` false with --no-plain. */
  readonly tls?: { readonly certFile: string; readonly keyFile: string; readonly port: number; readonly plain: boolean };
}

export const HISTORY_DEFAULTS = { dir: './data', maxLines: 100_000 };

export const DEFAULT_HTTP_PORT = 8080;

export const SERVER_USAGE = `Usage: rx-im-server [options]

A chat server: one line per message over TCP (nc, telnet, the rx-im or reference client).

Options:
  --host HOST                   interface to listen on (default ${DEFAULTS.host})
  --port PORT                   TCP port, 0 for any free one (default ${DEFAULTS.port})
  --idle-timeout SECONDS        kick a user silent this long; fractions allowed (default ${DEFAULTS.idleTimeoutMs / 1000})
  --lang zh|en                  language of every text users see (default ${DEFAULTS.lang})
  --max-line-bytes N            longest line accepted, in bytes (default ${DEFAULTS.maxLineBytes})
  --max-queue-bytes N           pending output a client may have before it is cut off (default ${DEFAULTS.maxQueueBytes})
  --max-connections N           refuse connections beyond this many (default ${DEFAULTS.maxConnections})
  --max-connections-per-ip N    refuse connections from one IP beyond this many, 0 = no limit (default ${DEFAULTS.maxConnectionsPerIp})
                                (both count every port's connections: chat, TLS, page requests, WebSockets)
  --max-web-connections N       of those, the most the web port may hold (default: half of --max-connections)
  --rate-limit N                lines a second each client may send, 0 = no limit (default ${DEFAULTS.rateLimit})
  --rate-burst N                lines a client may send at once before the rate applies (default ${DEFAULTS.rateBurst})
  --http-port PORT              port of the web chat (page and WebSocket), 0 for any free one (default ${DEFAULT_HTTP_PORT})
  --no-web                      no web chat: TCP only
  --web-origin URL[,URL...]     other origins the web chat is reached by (a DNS name, a TLS proxy), e.g. https://chat.example.org
  --tls-cert FILE               PEM certificate (a chain: the server's own first): the line protocol also over TLS on
                                --tls-port, and the web chat over HTTPS and WSS; needs --tls-key; SIGHUP reloads both files
  --tls-key FILE                PEM private key of --tls-cert, unencrypted (readable by the server alone)
  --tls-port PORT               TLS port of the line protocol, 0 for any free one (default ${DEFAULT_TLS_PORT})
  --no-plain                    no plain TCP port: the line protocol over TLS only (needs --tls-cert)
  --redis URL                   redis://HOST:PORT: run as one node of a chat shared through Redis
  --node-timeout SECONDS        with --redis: a node silent this long is declared dead, its users offline (default 6)
  --outage-buffer N             with --redis: events a node keeps while it cannot reach Redis, added to the log
                                when it can; past it the oldest are dropped (default 10000)
  --data-dir DIR                where the message log is kept (SQLite), created if missing (default ${HISTORY_DEFAULTS.dir};
                                not used with --redis: the cluster's log is a Redis stream)
  --no-history                  keep no message log: history| and since| find nothing
  --allow-plaintext-auth        accept passwords over plain (non-TLS) connections from other hosts: UNSAFE,
                                for a trusted network or a TLS proxy in front
  --history-max-lines N         events the log keeps; older ones are deleted (default ${HISTORY_DEFAULTS.maxLines})
  --history-page N              most events one history| or since| reply holds (default ${DEFAULTS.historyPage})
${OPS_USAGE}  -h, --help                    show this help
  --version                     print the version and exit

Every option can also come from the environment: RXIM_ and its name in upper snake case
(RXIM_PORT=9000, RXIM_REDIS=redis://10.0.0.5:6379, RXIM_NO_WEB=1); the command line wins.
`;

/** Every flag of the server (lib/env.ts gives each its RXIM_ variable). */
export const SERVER_FLAGS: Spec = {
  host: { type: 'string' },
  port: { type: 'string' },
  'idle-timeout': { type: 'string' },
  lang: { type: 'string' },
  'max-line-bytes': { type: 'string' },
  'max-queue-bytes': { type: 'string' },
  'max-connections': { type: 'string' },
  'max-connections-per-ip': { type: 'string' },
  'max-web-connections': { type: 'string' },
  'rate-limit': { type: 'string' },
  'rate-burst': { type: 'string' },
  'http-port': { type: 'string' },
  'no-web': { type: 'boolean' },
  'web-origin': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-port': { type: 'string' },
  'no-plain': { type: 'boolean' },
  redis: { type: 'string' },
  'node-timeout': { type: 'string' },
  'outage-buffer': { type: 'string' },
  'data-dir': { type: 'string' },
  'no-history': { type: 'boolean' },
  'allow-plaintext-auth': { type: 'boolean' },
  'history-max-lines': { type: 'string' },
  'history-page': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
  ...OPS_FLAGS,
};

export function parseServerFlags(argv: readonly string[]): Parsed<ServerConfig> {
  const parsed = parse(argv, SERVER_FLAGS);
  if ('error' in parsed) return { ok: false, error: parsed.error };
  const v = parsed.values;
  if (v.help) return { ok: 'help' };
  if (v.version) return { ok: 'version' };
  const options: { -readonly [K in keyof ServerOptions]: ServerOptions[K] } = {};
  const str = (name: string) => v[name] as string | undefined;

  if (str('host') !== undefined) {
    if (str('host') === '') return { ok: false, error: '--host must not be empty' };
    options.host = str('host');
  }
  const numeric: [string, keyof ServerOptions, number, number][] = [
    ['port', 'port', 0, 65535],
    ['max-line-bytes', 'maxLineBytes', 16, 16 * 1024 * 1024],
    ['max-queue-bytes', 'maxQueueBytes', 1024, 1024 * 1024 * 1024],
    ['max-connections', 'maxConnections', 1, 1_000_000],
    ['max-connections-per-ip', 'maxConnectionsPerIp', 0, 1_000_000],
    ['max-web-connections', 'maxWebConnections', 1, 1_000_000],
    ['rate-burst', 'rateBurst', 1, 1_000_000],
    ['history-page', 'historyPage', 1, 100_000],
  ];
  for (const [flag, key, min, max] of numeric) {
    const raw = str(flag);
    if (raw === undefined) continue;
    const n = integer(flag, raw, min, max);
    if (typeof n === 'string') return { ok: false, error: n };
    (options as Record<string, unknown>)[key] = n;
  }
  const idle = str('idle-timeout');
  if (idle !== undefined) {
    const ms = seconds('idle-timeout', idle);
    if (typeof ms === 'string') return { ok: false, error: ms };
    options.idleTimeoutMs = ms;
  }
  const rawLang = str('lang');
  if (rawLang !== undefined) {
    const l = lang('lang', rawLang);
    if (typeof l === 'object') return { ok: false, error: l.error };
    options.lang = l;
  }
  const rate = str('rate-limit');
  if (rate !== undefined) {
    const n = /^\d*\.?\d+$/.test(rate.trim()) ? Number(rate) : NaN;
    if (!(n >= 0) || n > 1_000_000) return { ok: false, error: `--rate-limit must be a number of lines a second from 0 (no limit) to 1000000, got '${rate}'` };
    options.rateLimit = n;
  }
  let httpPort = DEFAULT_HTTP_PORT;
  const http = str('http-port');
  if (http !== undefined) {
    const n = integer('http-port', http, 0, 65535);
    if (typeof n === 'string') return { ok: false, error: n };
    httpPort = n;
  }
  const redisUrl = str('redis');
  if (redisUrl !== undefined && !/^rediss?:\/\/[^\s]+$/.test(redisUrl)) {
    return { ok: false, error: `--redis must be a URL like redis://127.0.0.1:6379, got '${redisUrl}'` };
  }
  let webOrigins: string[] | undefined;
  const rawOrigins = str('web-origin');
  if (rawOrigins !== undefined) {
    const parsedOrigins = parseWebOrigins(rawOrigins);
    if (!Array.isArray(parsedOrigins))
      return { ok: false, error: `--web-origin must be origins like https://chat.example.org, separated by commas; got '${parsedOrigins.bad}'` };
    if (v['no-web']) return { ok: false, error: '--web-origin needs the web chat: drop --no-web' };
    webOrigins = parsedOrigins;
  }
  let nodeTimeoutMs: number | undefined;
  const nodeTimeout = str('node-timeout');
  if (nodeTimeout !== undefined) {
    const ms = seconds('node-timeout', nodeTimeout);
    if (typeof ms === 'string') return { ok: false, error: ms };
    if (redisUrl === undefined) return { ok: false, error: '--node-timeout needs --redis' };
    nodeTimeoutMs = ms;
  }
  let outageBuffer: number | undefined;
  const rawBuffer = str('outage-buffer');
  if (rawBuffer !== undefined) {
    const n = integer('outage-buffer', rawBuffer, 1, 10_000_000);
    if (typeof n === 'string') return { ok: false, error: n };
    if (redisUrl === undefined) return { ok: false, error: '--outage-buffer needs --redis' };
    outageBuffer = n;
  }
  let streamLog: ServerConfig['streamLog'] = false;
  if (redisUrl !== undefined && !v['no-history']) {
    const rawMax = str('history-max-lines');
    const n = rawMax === undefined ? HISTORY_DEFAULTS.maxLines : integer('history-max-lines', rawMax, 1, 1_000_000_000);
    if (typeof n === 'string') return { ok: false, error: n };
    streamLog = { maxLines: n };
  }
  let history: ServerConfig['history'] = false;
  if (v['no-history']) {
    if (str('data-dir') !== undefined || str('history-max-lines') !== undefined)
      return { ok: false, error: '--no-history cannot be combined with --data-dir or --history-max-lines' };
  } else if (redisUrl === undefined || str('data-dir') !== undefined) {
    // With --redis, a node keeps a log only when given a data dir of its own (until the log
    // moves to Redis): two nodes on one machine must not share ./data.
    const dir = str('data-dir') ?? HISTORY_DEFAULTS.dir;
    if (dir === '') return { ok: false, error: '--data-dir must not be empty' };
    let maxLines = HISTORY_DEFAULTS.maxLines;
    const rawMax = str('history-max-lines');
    if (rawMax !== undefined) {
      const n = integer('history-max-lines', rawMax, 1, 1_000_000_000);
      if (typeof n === 'string') return { ok: false, error: n };
      maxLines = n;
    }
    history = { dir, maxLines };
  }
  let tls: ServerConfig['tls'];
  const [certFile, keyFile, rawTlsPort] = [str('tls-cert'), str('tls-key'), str('tls-port')];
  if (certFile !== undefined || keyFile !== undefined) {
    if (certFile === undefined || keyFile === undefined)
      return { ok: false, error: certFile === undefined ? '--tls-key needs --tls-cert' : '--tls-cert needs --tls-key' };
    if (certFile === '' || keyFile === '') return { ok: false, error: '--tls-cert and --tls-key must not be empty' };
    const tlsPort = rawTlsPort === undefined ? DEFAULT_TLS_PORT : integer('tls-port', rawTlsPort, 0, 65535);
    if (typeof tlsPort === 'string') return { ok: false, error: tlsPort };
    const plainPort = options.port ?? DEFAULTS.port;
    if (tlsPort !== 0 && ((!v['no-plain'] && tlsPort === plainPort) || (!v['no-web'] && tlsPort === httpPort))) {
      return { ok: false, error: `--tls-port ${tlsPort} is taken by ${tlsPort === httpPort && !v['no-web'] ? '--http-port' : '--port'}: give each its own` };
    }
    tls = { certFile, keyFile, port: tlsPort, plain: !v['no-plain'] };
  } else if (rawTlsPort !== undefined || v['no-plain']) {
    return { ok: false, error: `${rawTlsPort !== undefined ? '--tls-port' : '--no-plain'} needs --tls-cert and --tls-key` };
  }
  const ops = parseOpsFlags(v);
  if ('error' in ops) return { ok: false, error: ops.error };
  return {
    ok: true,
    value: {
      server: { ...options, ...ops.server },
      httpPort,
      web: !v['no-web'],
      ...(webOrigins ? { webOrigins } : {}),
      redisUrl,
      nodeTimeoutMs,
      ...(redisUrl !== undefined ? { streamLog, ...(outageBuffer !== undefined ? { outageBuffer } : {}) } : {}),
      history,
      ops: ops.ops,
      ...(tls ? { tls } : {}),
      ...(v['allow-plaintext-auth'] ? { allowPlaintextAuth: true } : {}),
    },
  };
}
