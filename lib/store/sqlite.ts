/**
 * The durable message log, embedded: one SQLite file, `DIR/rx-im.sqlite`, through better-sqlite3
 * (synchronous: a read or a turn's commit is tens of microseconds, see the figures in the report).
 *
 * Durability: WAL mode with `synchronous = NORMAL`. A commit() has handed its transaction to the
 * operating system when it returns, so a crash of the process (kill -9, an exception, OOM) loses
 * nothing committed. The WAL is fsynced only at checkpoints, so an OS crash or a power loss may
 * lose the transactions committed since the last checkpoint (at most SQLite's autocheckpoint of
 * 1000 pages, about 4 MB of log); the file itself stays consistent, and ids are not reused after
 * the restart as long as the clock has moved past the lost ones. `synchronous = FULL` would
 * fsync on every commit: the event loop would wait for the disk on every turn of the chat.
 *
 * The file is opened in exclusive locking mode: a second server on the same data directory
 * fails at start ("in use by another process") instead of interleaving ids; the sqlite3 shell
 * cannot read the file while the server runs either.
 *
 * Retention keeps at most `maxLines` rows: older rows are deleted after the commit that made
 * them too many, in steps of at most `retentionChunk` rows each on its own turn, so a backlog
 * never becomes one long DELETE during a chat burst.
 */
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Observable } from 'rxjs';
import { type Answer, mapAnswer } from '../hub';
import { After, IdClock, IdParts, LoggedEvent, MessageLog, Stamped, checkMaxLines, compareParts, countOf, formatId, isKnown, isLogged, parseId } from './log';
import type { Event } from '../protocol';

export const LOG_FILE = 'rx-im.sqlite';
const SCHEMA_VERSION = 1;

export interface SqliteLogOptions {
  /** The data directory; created if missing. */
  readonly dir: string;
  /** Rows kept; older ones are deleted in the background. */
  readonly maxLines: number;
  /** Told once, in one line, when the log degrades to no history (disk full, I/O error). */
  readonly onTrouble?: (message: string) => void;
  /** The clock ids are made from (ms since the epoch); default Date.now. */
  readonly now?: () => number;
  /**
   * Runs a step of background work later (a retention step, a long read's next page) and
   * returns its cancel; default: on the next turn (setImmediate).
   */
  readonly defer?: (step: () => void) => () => void;
  /**
   * Rows a read takes in one turn (default 500: well under a millisecond). A longer reply
   * (`history|`, `since|` with a large `--history-page`) reads its older pages on later turns.
   */
  readonly pageRows?: number;
  /** Rows deleted per retention step (default 1000: about a millisecond). */
  readonly retentionChunk?: number;
  /** How long opening waits for another process to let go of the file (default 5000 ms). */
  readonly busyTimeoutMs?: number;
  /** A cap on the file's size in pages (SQLite's max_page_count): tests fill the "disk" with it. */
  readonly maxPages?: number;
}

interface Row {
  readonly ms: number;
  readonly seq: number;
  readonly kind: string;
  readonly addr: string;
  readonly name: string;
  readonly text: string | null;
}

/** The newest stored events after a point, oldest first, and whether older ones precede them. */
interface StoredPage {
  readonly events: readonly Stamped<LoggedEvent>[];
  readonly more: boolean;
}

/** Where a paged read is: its pages so far (each oldest first, the newest page first), what it still wants. */
interface PagedRead {
  readonly pages: Stamped<LoggedEvent>[][];
  wanted: number;
  /** The oldest row read so far: the next page is older. */
  before: IdParts;
  /** A row older than the pages follows. */
  more: boolean;
}

/** After every id (ms is at most 15 digits, seq 9). */
const END: IdParts = { ms: Number.MAX_SAFE_INTEGER, seq: Number.MAX_SAFE_INTEGER };
/** Before every id. */
const START: IdParts = { ms: -1, seq: -1 };

interface Pending {
  readonly parts: IdParts;
  readonly stamped: Stamped<LoggedEvent>;
}

const onNextTurn = (step: () => void): (() => void) => {
  const handle = setImmediate(step);
  return () => clearImmediate(handle);
};

/**
 * Opens (creating if needed) the log in `options.dir`. Throws an Error whose message is one line
 * naming the path and the cause when the directory cannot be used or the file is not a sound
 * rx-im log, for the CLI to print before it exits 1.
 */
export function openSqliteLog(options: SqliteLogOptions): SqliteLog {
  checkMaxLines(options.maxLines);
  const dir = path.resolve(options.dir);
  prepareDirectory(dir);
  const file = path.join(dir, LOG_FILE);
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { timeout: options.busyTimeoutMs ?? 5000 });
    // Exclusive before WAL: the WAL index then lives in this process's heap (no -shm file).
    db.pragma('locking_mode = EXCLUSIVE');
    if (db.pragma('journal_mode = WAL', { simple: true }) !== 'wal') throw new Error('cannot switch the file to WAL mode');
    db.pragma('synchronous = NORMAL');
    if (options.maxPages !== undefined) db.pragma(`max_page_count = ${Math.floor(options.maxPages)}`);
    const check = db.pragma('quick_check(1)', { simple: true });
    if (check !== 'ok') throw new Error(`the file is corrupt: ${String(check)}`);
    const version = Number(db.pragma('user_version', { simple: true }));
    if (version > SCHEMA_VERSION) throw new Error(`written by a newer rx-im (schema ${version}, this one reads ${SCHEMA_VERSION})`);
    db.exec(`
      CREATE TABLE IF NOT EXISTS events (
        ms INTEGER NOT NULL, seq INTEGER NOT NULL,
        kind TEXT NOT NULL, addr TEXT NOT NULL, name TEXT NOT NULL, text TEXT,
        PRIMARY KEY (ms, seq)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, ms INTEGER NOT NULL, seq INTEGER NOT NULL) WITHOUT ROWID;
      PRAGMA user_version = ${SCHEMA_VERSION};
    `);
    return new SqliteLog(db, file, options);
  } catch (error) {
    try {
      db?.close();
    } catch {
      // Already failing with the cause that matters.
    }
    throw new Error(`cannot open the message log ${file}: ${sqliteProblem(error)}`, { cause: error });
  }
}

export class SqliteLog implements MessageLog {
  private readonly maxLines: number;
  private readonly chunk: number;
  private readonly onTrouble: (message: string) => void;
  private readonly defer: (step: () => void) => () => void;
  private readonly clock: IdClock;
  private readonly insert: Database.Statement;
  private readonly newestBetween: Database.Statement;
  private readonly pageRows: number;
  private readonly nth: Database.Statement;
  private readonly deleteUpTo: Database.Statement;
  private readonly setHorizon: Database.Statement;
  private readonly write: (pending: readonly Pending[]) => void;
  private readonly trim: (count: number) => number;
  private pending: Pending[] = [];
  /** Every logged event after this id is held (see isKnown). */
  private horizon: IdParts;
  private rows: number;
  private cancelRetention: (() => void) | undefined;
  private failed = false;
  private closed = false;

  /** Use openSqliteLog: it checks the directory and turns failures into one clear line. */
  constructor(
    /** The connection: the accounts (lib/auth/sqlite-accounts.ts) share it, as the file is locked exclusively. */
    readonly db: Database.Database,
    private readonly file: string,
    options: SqliteLogOptions,
  ) {
    this.maxLines = options.maxLines;
    this.chunk = Math.max(1, Math.floor(options.retentionChunk ?? 1000));
    this.onTrouble = options.onTrouble ?? (() => {});
    this.defer = options.defer ?? onNextTurn;
    this.pageRows = Math.max(1, Math.floor(options.pageRows ?? 500));
    const now = options.now ?? Date.now;

    const start = Math.floor(now());
    const fresh = db.prepare(`INSERT OR IGNORE INTO meta (key, ms, seq) VALUES ('horizon', ?, -1)`).run(start).changes === 1;
    this.horizon = db.prepare(`SELECT ms, seq FROM meta WHERE key = 'horizon'`).get() as IdParts;
    const top = db.prepare('SELECT ms, seq FROM events ORDER BY ms DESC, seq DESC LIMIT 1').get() as IdParts | undefined;
    this.rows = (db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n;
    // Strictly after every id stored, and after the horizon: private ids given out before a
    // crash were never stored, and they are only guaranteed below the next millisecond.
    const stored = top !== undefined && compareParts(top, this.horizon) > 0 ? top : this.horizon;
    const first = !fresh && stored.ms + 1 > start ? stored.ms + 1 : start;
    this.clock = new IdClock(now, { ms: first, seq: -1 });

    this.insert = db.prepare('INSERT INTO events (ms, seq, kind, addr, name, text) VALUES (?, ?, ?, ?, ?, ?)');
    this.newestBetween = db.prepare(
      'SELECT ms, seq, kind, addr, name, text FROM events WHERE (ms, seq) > (?, ?) AND (ms, seq) < (?, ?) ORDER BY ms DESC, seq DESC LIMIT ?',
    );
    this.nth = db.prepare('SELECT ms, seq FROM events ORDER BY ms, seq LIMIT 1 OFFSET ?');
    this.deleteUpTo = db.prepare('DELETE FROM events WHERE (ms, seq) <= (?, ?)');
    this.setHorizon = db.prepare(`UPDATE meta SET ms = ?, seq = ? WHERE key = 'horizon'`);
    this.write = db.transaction((pending: readonly Pending[]) => {
      for (const { parts, stamped } of pending) {
        const e = stamped.event;
        this.insert.run(parts.ms, parts.seq, e.kind, e.addr, e.name, e.kind === 'say' ? e.text : null);
      }
    });
    this.trim = db.transaction((count: number): number => {
      const boundary = this.nth.get(count - 1) as IdParts | undefined;
      if (boundary === undefined) return 0;
      const deleted = this.deleteUpTo.run(boundary.ms, boundary.seq).changes;
      this.setHorizon.run(boundary.ms, boundary.seq);
      this.horizon = { ms: boundary.ms, seq: boundary.seq };
      return deleted;
    });
    // A log reopened with a smaller maxLines starts trimming at once, in the background.
    this.scheduleRetention();
  }

  get degraded(): boolean {
    return this.failed;
  }

  stamp<E extends Event>(event: E): Stamped<E> {
    const parts = this.clock.next();
    const stamped: Stamped<E> = { id: formatId(parts), time: parts.ms, event };
    // The cast restates what isLogged just established about stamped.event.
    if (isLogged(event) && this.usable()) this.pending.push({ parts, stamped: stamped as Stamped<LoggedEvent> });
    return stamped;
  }

  commit(): void {
    if (this.pending.length === 0 || !this.usable()) return;
    const pending = this.pending;
    this.pending = [];
    try {
      this.write(pending);
    } catch (error) {
      this.degrade('writing', error);
      return;
    }
    this.rows += pending.length;
    this.scheduleRetention();
  }

  last(n: number): Answer<readonly Stamped<LoggedEvent>[]> {
    if (!this.usable()) return [];
    const count = countOf(n);
    const fromPending = this.pending.slice(Math.max(0, this.pending.length - count)).map((p) => p.stamped);
    const need = count - fromPending.length;
    if (need === 0) return fromPending;
    return mapAnswer(this.stored(need, START), (page) => (page === undefined ? [] : [...page.events, ...fromPending]));
  }

  after(id: string, limit: number): Answer<After> {
    if (!this.usable()) return { known: false, events: [] };
    const parts = parseId(id);
    if (parts === undefined || !isKnown(parts, this.horizon, this.clock.last))
      return mapAnswer(this.last(limit), (events): After => ({ known: false, events }));
    const count = countOf(limit);
    // Pending events are all newer than every stored one: take the newest from them first.
    let from = this.pending.length;
    while (from > 0 && compareParts(this.pending[from - 1].parts, parts) > 0) from--;
    const newer = this.pending.slice(from).map((p) => p.stamped);
    if (newer.length > count) return { known: true, events: newer.slice(newer.length - count), truncated: true };
    return mapAnswer(this.stored(count - newer.length, parts), (page): After => {
      if (page === undefined) return { known: false, events: [] };
      const events = [...page.events, ...newer];
      // Retention passed the id while the older pages were read: there may be a gap after it.
      if (!isKnown(parts, this.horizon, this.clock.last)) return { known: false, events };
      return { known: true, events, truncated: page.more };
    });
  }

  /**
   * The newest `need` stored events after `after`, oldest first, and whether older ones
   * precede them. The newest page is read now; when the answer is longer, each older page on
   * a later turn (`defer`), so that a reply of 10,000 events never holds the event loop for its
   * whole read: the answer is then an Observable, each subscription reading on from the first
   * page by itself. The events are those stored when it was asked: a page only reads rows
   * older than the last one. Undefined when a read fails (the log degrades) or the log closes
   * meanwhile.
   */
  private stored(need: number, after: IdParts): Answer<StoredPage | undefined> {
    // One page older than the read's `before`: true when the answer is complete, undefined when the read failed.
    const step = (read: PagedRead): boolean | undefined => {
      const take = Math.min(read.wanted, this.pageRows);
      // One row more than needed says whether more follow.
      const rows = this.read(() => this.newestBetween.all(after.ms, after.seq, read.before.ms, read.before.seq, take + 1) as Row[]);
      if (rows === undefined) return undefined;
      const kept = rows.length > take ? rows.slice(0, take) : rows;
      read.pages.push(toStamped(kept));
      read.wanted -= kept.length;
      read.more = rows.length > take;
      if (!read.more || read.wanted === 0) return true;
      read.before = kept[kept.length - 1];
      return false;
    };
    const answer = (read: PagedRead): StoredPage => ({ events: [...read.pages].reverse().flat(), more: read.more });
    const first: PagedRead = { pages: [], wanted: need, before: END, more: false };
    const done = step(first);
    if (done === undefined) return undefined;
    if (done) return answer(first);
    return new Observable<StoredPage | undefined>((subscriber) => {
      // Each subscription reads on from the first page on its own.
      const read: PagedRead = { ...first, pages: [...first.pages] };
      let cancel: (() => void) | undefined;
      const next = (): void => {
        cancel = undefined;
        const complete = this.usable() ? step(read) : undefined;
        if (complete === false) {
          cancel = this.defer(next);
          return;
        }
        subscriber.next(complete === undefined ? undefined : answer(read));
        subscriber.complete();
      };
      cancel = this.defer(next);
      return () => cancel?.();
    });
  }

  /** Runs every retention step now (tests; a shutdown that wants a trimmed file). */
  flushRetention(): void {
    this.cancelRetention?.();
    this.cancelRetention = undefined;
    // Each step deletes at least one row or ends: bounded by the rows over the limit.
    for (let steps = this.rows; steps >= 0 && this.retentionStep(); steps--);
  }

  /** Commits what is pending, stops retention and closes the file. */
  close(): void {
    if (this.closed) return;
    this.commit();
    this.closed = true;
    this.pending = [];
    this.cancelRetention?.();
    this.cancelRetention = undefined;
    try {
      this.db.close();
    } catch (error) {
      this.degrade('closing', error);
    }
  }

  private usable(): boolean {
    return !this.failed && !this.closed;
  }

  private scheduleRetention(): void {
    if (this.cancelRetention !== undefined || this.rows <= this.maxLines || !this.usable()) return;
    this.cancelRetention = this.defer(() => {
      this.cancelRetention = undefined;
      if (this.retentionStep()) this.scheduleRetention();
    });
  }

  /** Deletes up to one chunk of the oldest rows; true when it deleted some and the log is sound. */
  private retentionStep(): boolean {
    const excess = this.rows - this.maxLines;
    if (excess <= 0 || !this.usable()) return false;
    try {
      const deleted = this.trim(Math.min(excess, this.chunk));
      this.rows -= deleted;
      return deleted > 0;
    } catch (error) {
      this.degrade('deleting old events', error);
      return false;
    }
  }

  private read<T>(query: () => T): T | undefined {
    try {
      return query();
    } catch (error) {
      this.degrade('reading', error);
      return undefined;
    }
  }

  private degrade(doing: string, error: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.pending = [];
    this.cancelRetention?.();
    this.cancelRetention = undefined;
    try {
      this.onTrouble(`the message log ${this.file} failed ${doing}, history is off until a restart: ${sqliteProblem(error)}`);
    } catch {
      // The chat side never sees the log throw, even through its own trouble handler.
    }
  }
}

/** Newest-first rows -> events oldest first. */
function toStamped(rows: readonly Row[]): Stamped<LoggedEvent>[] {
  const out: Stamped<LoggedEvent>[] = [];
  for (let i = rows.length - 1; i >= 0; i--) {
    const r = rows[i];
    const time = r.ms;
    const id = formatId(r);
    if (r.kind === 'say') out.push({ id, time, event: { kind: 'say', addr: r.addr, name: r.name, text: r.text ?? '' } });
    else if (r.kind === 'online' || r.kind === 'offline') out.push({ id, time, event: { kind: r.kind, addr: r.addr, name: r.name } });
    // Another kind can only come from a newer schema, which opening refuses: nothing to show.
  }
  return out;
}

/** Creates the directory if needed and checks that it is one and writable; throws one clear line. */
function prepareDirectory(dir: string): void {
  const fail = (cause: string): never => {
    throw new Error(`cannot open the message log in ${dir}: ${cause}`);
  };
  try {
    fs.mkdirSync(dir, { recursive: true });
  } catch (error) {
    const code = errorCode(error);
    if (code === 'EEXIST') fail('it is a file, not a directory (EEXIST)');
    if (code === 'ENOTDIR') fail('a part of the path is a file, not a directory (ENOTDIR)');
    // A recursive mkdir can say ENOENT where the real cause is the nearest existing parent.
    const parent = nearestExisting(dir);
    const denied = code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? code : parent === undefined ? undefined : writeProblem(parent);
    if (denied !== undefined) fail(`cannot create the directory: ${parent ?? 'its parent'} is not writable (${denied})`);
    fail(`cannot create the directory: ${oneLine(error)}`);
  }
  let isDirectory = false;
  try {
    isDirectory = fs.statSync(dir).isDirectory();
    if (isDirectory) fs.accessSync(dir, fs.constants.W_OK);
  } catch (error) {
    const code = errorCode(error);
    fail(code === 'EROFS' ? 'directory is not writable: read-only file system (EROFS)' : `directory is not writable (${code ?? oneLine(error)})`);
  }
  if (!isDirectory) fail('it is a file, not a directory');
}

function nearestExisting(dir: string): string | undefined {
  for (let at = path.dirname(dir), steps = 0; steps < 256; at = path.dirname(at), steps++) {
    if (fs.existsSync(at)) return at;
    if (path.dirname(at) === at) return undefined;
  }
  return undefined;
}

function writeProblem(dir: string): string | undefined {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
    return undefined;
  } catch (error) {
    return errorCode(error) ?? oneLine(error);
  }
}

/** A SQLite (or other) failure as a short phrase with its code. */
function sqliteProblem(error: unknown): string {
  const code = errorCode(error);
  if (code === 'SQLITE_NOTADB') return 'not an SQLite database: the file is corrupt or is something else (SQLITE_NOTADB)';
  if (code?.startsWith('SQLITE_CORRUPT')) return `the file is corrupt (${code})`;
  if (code?.startsWith('SQLITE_BUSY')) return `in use by another process (${code})`;
  return code?.startsWith('SQLITE_') ? `${oneLine(error)} (${code})` : oneLine(error);
}

function errorCode(error: unknown): string | undefined {
  const code: unknown = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

function oneLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).replace(/\s+/g, ' ').trim();
}
