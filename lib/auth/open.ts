/**
 * Where a server's accounts live, as the CLI decides it: in Redis with `--redis` (every node
 * sees every account), else in the message log's SQLite file on the log's connection, else
 * (no data directory: `--no-history`) in memory, said once in the log since they are lost at
 * restart.
 */
import type { MessageLog } from '../store/log';
import { SqliteLog } from '../store/sqlite';
import type { AccountsConfig } from './auth';
import { RedisAccounts } from './redis-accounts';
import { SqliteAccounts } from './sqlite-accounts';

export interface OpenedAccounts {
  readonly config: AccountsConfig;
  /** Where they are, for the start-up log line. */
  readonly where: string;
  close(): Promise<void>;
}

export interface OpenAccountsOptions {
  readonly redisUrl?: string;
  readonly history: MessageLog | false;
  readonly allowPlaintext?: boolean;
}

/** Rejects (one line) when Redis cannot be reached at start. */
export async function openAccounts(options: OpenAccountsOptions): Promise<OpenedAccounts> {
  const allowPlaintext = options.allowPlaintext ?? false;
  if (options.redisUrl !== undefined) {
    const redis = new RedisAccounts({ url: options.redisUrl });
    try {
      await redis.start();
    } catch (error) {
      await redis.close();
      throw new Error(`cannot use Redis at ${options.redisUrl} for the accounts: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
    return { config: { store: redis, limiter: redis, allowPlaintext }, where: 'accounts in Redis', close: () => redis.close() };
  }
  if (options.history instanceof SqliteLog) {
    return {
      config: { store: new SqliteAccounts(options.history.db), allowPlaintext },
      where: 'accounts in the SQLite file of the message log',
      close: async () => {},
    };
  }
  return { config: { allowPlaintext }, where: 'accounts in memory only (no data directory): registrations are lost at restart', close: async () => {} };
}
