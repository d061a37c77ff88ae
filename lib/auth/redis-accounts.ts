/**
 * Accounts and the brute-force limit in Redis (`--redis`): every node reads and writes the same
 * accounts, so an account registered on node 1 logs in on node 2, and the limit counts every
 * node's failures. One connection of their own (the hub's are busy with presence and the log),
 * failing fast while Redis is away: the user is told "unavailable", nothing waits or queues.
 *
 * The data, under prefix `p` (the hub's, so one chat's keys stay together):
 *   p:accounts          hash  nameKey -> JSON {name, hash}     (HSETNX: one step to create)
 *   p:offline:KEY       list  JSON {id?, time, from, text}, oldest first, trimmed to the newest max
 *   p:limit:KEY         zset  attempt token -> ms; expires with the window
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { Observable, defer, from, map } from 'rxjs';
import type { Account, AccountStore, OfflineMessage } from './accounts';
import { AttemptLimiter, AttemptResult, LIMIT_DEFAULTS, LimitOptions, Attempt } from './limiter';

/** ARGV: field, new hash. Replaces one account's hash; 0 when there is no such account. */
const SET_HASH = `
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if not raw then return 0 end
local a = cjson.decode(raw)
a.hash = ARGV[2]
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(a))
return 1
`;

/** KEYS: the list. Returns every kept message and deletes them, in one step. */
const TAKE = `
local all = redis.call('LRANGE', KEYS[1], 0, -1)
redis.call('DEL', KEYS[1])
return all
`;

/**
 * KEYS: the limit sets; ARGV: now, window ms, max, token. Forgets attempts older than the window;
 * refused (returns ms to wait) if any key is full, else adds the attempt to every key (returns 0).
 */
const ATTEMPT = `
local now, window, max = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local wait = 0
for _, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= max then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    local left = tonumber(oldest[2]) + window - now
    if left > wait then wait = left end
  end
end
if wait > 0 then return wait end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[4])
  redis.call('PEXPIRE', key, window)
end
return 0
`;

export interface RedisAccountsOptions {
  readonly url: string;
  /** Of every key: the hub's prefix (`rx-im` by default). */
  readonly prefix?: string;
  /** A command unanswered this long fails (the user is told to try later). */
  readonly commandTimeoutMs?: number;
  /** Clock of the limiter (ms since the epoch); Date.now by default. Nodes' clocks should agree. */
  readonly now?: () => number;
  readonly limit?: Partial<LimitOptions>;
}

function decodeAccount(key: string, raw: string | null): Account | undefined {
  if (raw === null) return undefined;
  const value = JSON.parse(raw) as { name?: unknown; hash?: unknown };
  return typeof value.name === 'string' && typeof value.hash === 'string' ? { key, name: value.name, hash: value.hash } : undefined;
}

function decodeMessage(raw: unknown): OfflineMessage[] {
  if (typeof raw !== 'string') return [];
  const m = JSON.parse(raw) as Partial<Record<keyof OfflineMessage, unknown>>;
  if (typeof m.time !== 'number' || typeof m.from !== 'string' || typeof m.text !== 'string') return [];
  return [typeof m.id === 'string' ? { id: m.id, time: m.time, from: m.from, text: m.text } : { time: m.time, from: m.from, text: m.text }];
}

/** The store and the limiter on one connection. */
export class RedisAccounts implements AccountStore, AttemptLimiter {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly now: () => number;
  private readonly limit: LimitOptions;
  private tokens = 0;
  /** Tokens unique across nodes: one node's success must not forgive another node's attempt. */
  private readonly tokenPrefix = randomBytes(6).toString('hex');

  constructor(options: RedisAccountsOptions) {
    this.prefix = options.prefix ?? 'rx-im';
    this.now = options.now ?? Date.now;
    this.limit = { ...LIMIT_DEFAULTS, ...options.limit };
    this.redis = new Redis(options.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs ?? 2000,
      retryStrategy: () => 500,
    });
    // Failures reach the callers as rejected commands; the connection itself retries quietly.
    this.redis.on('error', () => undefined);
  }

  /** Connects; rejects when Redis cannot be reached. */
  async start(): Promise<void> {
    await this.redis.connect();
  }

  async close(): Promise<void> {
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }

  find(key: string): Observable<Account | undefined> {
    return ask(() => this.redis.hget(this.key('accounts'), key)).pipe(map((raw) => decodeAccount(key, raw)));
  }

  create(account: Account): Observable<boolean> {
    return ask(() => this.redis.hsetnx(this.key('accounts'), account.key, JSON.stringify({ name: account.name, hash: account.hash }))).pipe(
      map((n) => n === 1),
    );
  }

  setHash(key: string, hash: string): Observable<boolean> {
    return ask(() => this.redis.eval(SET_HASH, 1, this.key('accounts'), key, hash)).pipe(map((n) => n === 1));
  }

  keep(key: string, message: OfflineMessage, max: number): Observable<void> {
    const list = this.key(`offline:${key}`);
    return ask(() => this.redis.multi().rpush(list, JSON.stringify(message)).ltrim(list, -max, -1).exec()).pipe(
      map((replies) => {
        const error = replies?.find(([e]) => e !== null)?.[0];
        if (error) throw error;
      }),
    );
  }

  take(key: string): Observable<readonly OfflineMessage[]> {
    return ask(() => this.redis.eval(TAKE, 1, this.key(`offline:${key}`))).pipe(map((all) => (Array.isArray(all) ? all.flatMap(decodeMessage) : [])));
  }

  attempt(keys: readonly string[]): Observable<AttemptResult> {
    const token = `${this.tokenPrefix}-${++this.tokens}`;
    const sets = keys.map((k) => this.key(`limit:${k}`));
    return ask(() => this.redis.eval(ATTEMPT, sets.length, ...sets, this.now(), this.limit.windowMs, this.limit.max, token)).pipe(
      map((wait): AttemptResult => (Number(wait) > 0 ? { ok: false, retryAfterMs: Number(wait) } : { ok: true, attempt: { keys: [...keys], token } })),
    );
  }

  forgive(attempt: Attempt): void {
    const multi = this.redis.multi();
    for (const k of attempt.keys) multi.zrem(this.key(`limit:${k}`), attempt.token);
    // Best effort: a forgiveness lost to an outage only counts one success as a failure.
    multi.exec().catch(() => undefined);
  }

  private key(name: string): string {
    return `${this.prefix}:${name}`;
  }
}

/** One Redis command as a cold Observable (sent when subscribed, once). */
function ask<T>(command: () => Promise<T>): Observable<T> {
  return defer(() => from(command()));
}
