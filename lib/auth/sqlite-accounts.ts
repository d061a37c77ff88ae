/**
 * Accounts in the message log's SQLite file (`DIR/rx-im.sqlite`): two tables beside the log's,
 * on the log's own connection when there is one (the log holds the file in exclusive locking
 * mode, so a second connection could not write it), or on a connection of their own opened
 * the same way when the server keeps no log. Synchronous, like the log: a lookup or an insert
 * is microseconds, far below the password check that follows it.
 *
 *   accounts (key PK, name, hash, created, updated)      one row per registered name
 *   offline  (seq PK autoincrement, key, id, time, sender, text)   kept private messages
 *
 * A failing write (disk full) throws; the caller (`Auth`) turns it into a notice.
 */
import path from 'node:path';
import Database from 'better-sqlite3';
import { LOG_FILE } from '../store/sqlite';
import type { Account, AccountStore, OfflineMessage } from './accounts';

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS accounts (
    key TEXT PRIMARY KEY, name TEXT NOT NULL, hash TEXT NOT NULL,
    created INTEGER NOT NULL, updated INTEGER NOT NULL
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS offline (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL,
    id TEXT, time INTEGER NOT NULL, sender TEXT NOT NULL, text TEXT NOT NULL
  );
  CREATE INDEX IF NOT EXISTS offline_by_key ON offline (key, seq);
`;

interface OfflineRow {
  readonly id: string | null;
  readonly time: number;
  readonly sender: string;
  readonly text: string;
}

export class SqliteAccounts implements AccountStore {
  private readonly select: Database.Statement;
  private readonly insert: Database.Statement;
  private readonly update: Database.Statement;
  private readonly keepOne: (key: string, message: OfflineMessage, max: number) => void;
  private readonly takeAll: (key: string) => OfflineMessage[];

  /**
   * On an open connection (the log's: `SqliteLog.db`); creates the tables if missing. `owned`:
   * close() closes the connection too (it was opened for the accounts alone).
   */
  constructor(
    private readonly db: Database.Database,
    private readonly owned = false,
    private readonly now: () => number = Date.now,
  ) {
    db.exec(SCHEMA);
    this.select = db.prepare('SELECT key, name, hash FROM accounts WHERE key = ?');
    this.insert = db.prepare('INSERT OR IGNORE INTO accounts (key, name, hash, created, updated) VALUES (?, ?, ?, ?, ?)');
    this.update = db.prepare('UPDATE accounts SET hash = ?, updated = ? WHERE key = ?');
    const add = db.prepare('INSERT INTO offline (key, id, time, sender, text) VALUES (?, ?, ?, ?, ?)');
    const trim = db.prepare('DELETE FROM offline WHERE key = ? AND seq <= (SELECT seq FROM offline WHERE key = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)');
    const list = db.prepare('SELECT id, time, sender, text FROM offline WHERE key = ? ORDER BY seq');
    const clear = db.prepare('DELETE FROM offline WHERE key = ?');
    this.keepOne = db.transaction((key: string, m: OfflineMessage, max: number) => {
      add.run(key, m.id ?? null, m.time, m.from, m.text);
      trim.run(key, key, max);
    });
    this.takeAll = db.transaction((key: string) => {
      const rows = list.all(key) as OfflineRow[];
      if (rows.length > 0) clear.run(key);
      return rows.map((r): OfflineMessage =>
        r.id === null ? { time: r.time, from: r.sender, text: r.text } : { id: r.id, time: r.time, from: r.sender, text: r.text },
      );
    });
  }

  find(key: string): Account | undefined {
    return this.select.get(key) as Account | undefined;
  }

  create(account: Account): boolean {
    const now = this.now();
    return this.insert.run(account.key, account.name, account.hash, now, now).changes === 1;
  }

  setHash(key: string, hash: string): boolean {
    return this.update.run(hash, this.now(), key).changes === 1;
  }

  keep(key: string, message: OfflineMessage, max: number): void {
    this.keepOne(key, message, max);
  }

  take(key: string): OfflineMessage[] {
    return this.takeAll(key);
  }

  /** Closes the connection if it was opened for the accounts alone; the log closes its own. */
  close(): void {
    if (this.owned && this.db.open) this.db.close();
  }
}

/**
 * Opens the data directory's file for the accounts alone (the server keeps no log), with the
 * log's settings: exclusive lock, WAL, synchronous NORMAL. Throws one line naming the file.
 */
export function openSqliteAccounts(dir: string, busyTimeoutMs = 5000): SqliteAccounts {
  const file = path.join(path.resolve(dir), LOG_FILE);
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { timeout: busyTimeoutMs });
    db.pragma('locking_mode = EXCLUSIVE');
    if (db.pragma('journal_mode = WAL', { simple: true }) !== 'wal') throw new Error('cannot switch the file to WAL mode');
    db.pragma('synchronous = NORMAL');
    return new SqliteAccounts(db, true);
  } catch (error) {
    try {
      db?.close();
    } catch {
      // Already failing with the cause that matters.
    }
    throw new Error(`cannot open the accounts in ${file}: ${error instanceof Error ? error.message.replace(/\s+/g, ' ') : String(error)}`, { cause: error });
  }
}
