/**
 * The SQLite message log, on real files in a temp dir: the MessageLog contract, then what only a
 * durable log does: reopen, a SIGKILLed writer, bad directories and files, a full disk,
 * background retention in chunks.
 */
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import test, { ExecutionContext } from 'ava';
import Database from 'better-sqlite3';
import { isObservable } from 'rxjs';
import type { Answer } from '../../lib/hub';
import { After, compareIds, parseId } from '../../lib/store/log';
import { LOG_FILE, SqliteLog, SqliteLogOptions, openSqliteLog } from '../../lib/store/sqlite';
import { logContract, manualClock, readingNow, say, sayMany, whisper } from './log-contract';

function tempDir(t: ExecutionContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rx-im-log-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A read's answer, known now (one page: these logs read at most 500 rows, or all at once). */
function now<T>(answer: Answer<T>): T {
  if (isObservable(answer)) throw new Error('answered later');
  return answer;
}

/** Retention steps queued by hand instead of on the next turn. */
function manualDefer() {
  const steps: (() => void)[] = [];
  const defer = (step: () => void) => {
    steps.push(step);
    return () => steps.splice(steps.indexOf(step) >>> 0, 1);
  };
  return { steps, defer, runOne: () => steps.shift()?.() };
}

function open(t: ExecutionContext, options: SqliteLogOptions): SqliteLog {
  const log = openSqliteLog(options);
  t.teardown(() => log.close());
  return log;
}

/** The rows in the file, read with a connection of the test's own (the log must be closed). */
function storedIds(dir: string): string[] {
  const db = new Database(path.join(dir, LOG_FILE), { readonly: true });
  try {
    return (db.prepare('SELECT ms, seq FROM events ORDER BY ms, seq').all() as { ms: number; seq: number }[]).map((r) => `${r.ms}-${r.seq}`);
  } finally {
    db.close();
  }
}

// Once as it runs (500 rows a turn: every contract read is one page), once reading 2 rows a
// turn (every longer read in pages, the older ones on later turns).
for (const pageRows of [undefined, 2]) {
  logContract(pageRows ? `SqliteLog, ${pageRows} rows a turn` : 'SqliteLog', (t, options) => {
    const { steps, defer } = manualDefer();
    const log = open(t, { dir: tempDir(t), defer, pageRows, ...options });
    // A read's next page is the step it deferred last (retention's wait for settle()).
    const runNewest = () => {
      const step = steps.pop();
      step?.();
      return step !== undefined;
    };
    return { log: readingNow(log, runNewest), settle: () => log.flushRetention() };
  });
}

test('SqliteLog: creates the directory, the file in WAL mode, and a reopen finds everything and continues the ids', (t) => {
  const dir = path.join(tempDir(t), 'nested', 'data');
  const clock = manualClock(1_000_000);
  const first = openSqliteLog({ dir, maxLines: 100, now: clock.now });
  const m = sayMany(first, 5);
  first.stamp(whisper('not stored'));
  first.commit();
  first.close();
  t.true(fs.statSync(path.join(dir, LOG_FILE)).isFile());
  const db = new Database(path.join(dir, LOG_FILE), { readonly: true });
  t.is(db.pragma('journal_mode', { simple: true }), 'wal');
  db.close();

  // The clock is behind the stored ids (another machine, a clock set back): ids still go on.
  clock.set(999_000);
  const second = open(t, { dir, maxLines: 100, now: clock.now });
  t.deepEqual(now(second.last(100)), m);
  const n = second.stamp(say('after the reopen'));
  t.true(compareIds(m[4].id, n.id) < 0);
  t.is(n.id, '1000001-0', 'from the millisecond after the last stored one');
  t.deepEqual(now(second.after(m[2].id, 100)), { known: true, events: [m[3], m[4], n], truncated: false });
});

test('SqliteLog: close() commits what is pending; an id given out before a restart (private) stays known after it', (t) => {
  const dir = tempDir(t);
  const clock = manualClock(5000);
  const first = openSqliteLog({ dir, maxLines: 100, now: clock.now });
  const a = first.stamp(say('a'));
  clock.set(6000);
  const p = first.stamp(whisper('p'));
  first.close();
  clock.set(7000);
  const second = open(t, { dir, maxLines: 100, now: clock.now });
  const b = second.stamp(say('b'));
  t.deepEqual(now(second.last(10)), [a, b]);
  t.deepEqual(now(second.after(p.id, 10)), { known: true, events: [b], truncated: false });
  t.deepEqual(now(second.after('4999-0', 10)), { known: false, events: [a, b] }, 'before the log began');
});

test('SqliteLog: a reopen keeps retention: what expired stays unknown, and a smaller bound trims in the background', (t) => {
  const dir = tempDir(t);
  const clock = manualClock(1000);
  const first = openSqliteLog({ dir, maxLines: 5, now: clock.now, defer: manualDefer().defer });
  const m = sayMany(first, 8);
  first.commit();
  first.flushRetention();
  first.close();
  t.deepEqual(
    storedIds(dir),
    m.slice(3).map((s) => s.id),
  );

  const { defer, steps, runOne } = manualDefer();
  const second = open(t, { dir, maxLines: 2, now: clock.now, defer, retentionChunk: 2 });
  t.false(now(second.after(m[1].id, 10)).known, 'expired before the restart');
  t.true(now(second.after(m[2].id, 10)).known, 'the last deleted before the restart');
  t.is(steps.length, 1, 'the trim to the new bound is queued at open, not done then');
  t.is(now(second.last(10)).length, 5);
  runOne();
  t.deepEqual(now(second.last(10)), m.slice(5));
  runOne();
  t.deepEqual(now(second.last(10)), m.slice(6));
  t.is(steps.length, 0);
});

test('SqliteLog: retention deletes in chunks, one step a turn, one step queued at a time', (t) => {
  const { defer, steps, runOne } = manualDefer();
  const log = open(t, { dir: tempDir(t), maxLines: 5, now: manualClock(1000).now, defer, retentionChunk: 3 });
  const m = sayMany(log, 12);
  log.commit();
  t.is(steps.length, 1);
  t.is(now(log.last(100)).length, 12, 'nothing deleted during the commit');
  log.stamp(say('x'));
  log.commit();
  t.is(steps.length, 1, 'a second commit does not queue a second step');
  const sizes: number[] = [];
  for (let i = 0; i < 10 && steps.length > 0; i++) {
    runOne();
    sizes.push(now(log.last(100)).length);
  }
  t.deepEqual(sizes, [10, 7, 5]);
  t.deepEqual(now(log.last(100)).slice(0, 4), m.slice(8));
});

test('SqliteLog: a read longer than a page reads its older pages on later turns, and answers what one read would', (t) => {
  const manual = manualDefer();
  const clock = manualClock(1000);
  const log = open(t, { dir: tempDir(t), maxLines: 1000, now: clock.now, defer: manual.defer, pageRows: 3 });
  const m = sayMany(log, 20);
  log.commit();
  const pending = sayMany(log, 2, 'p');
  const all = [...m, ...pending];
  /** Runs a read's deferred pages; how many turns it took. */
  const drive = <T>(answer: Answer<T>): { value: T; turns: number } => {
    if (!isObservable(answer)) return { value: answer, turns: 0 };
    let got: { value: T } | undefined;
    t.teardown(() => subscription.unsubscribe());
    const subscription = answer.subscribe((value) => (got = { value }));
    let turns = 0;
    while (got === undefined && manual.steps.length > 0) {
      t.is(manual.steps.length, 1, 'one page a turn');
      manual.runOne();
      turns++;
    }
    if (got === undefined) throw new Error('the read never answered');
    return { value: got.value, turns };
  };
  for (const limit of [0, 1, 2, 3, 4, 6, 7, 19, 20, 21, 22, 23, 50]) {
    for (const from of [0, 4, 17, 19, 20]) {
      const following = all.slice(from + 1);
      const need = Math.max(0, Math.min(limit, following.length) - pending.slice(Math.max(0, from - 19)).length);
      const { value, turns } = drive(log.after(all[from].id, limit));
      t.deepEqual(
        value,
        { known: true, events: following.slice(Math.max(0, following.length - limit)), truncated: following.length > limit },
        `after ${from}, ${limit}`,
      );
      t.is(turns, Math.max(0, Math.ceil(need / 3) - 1), `after ${from}, ${limit}: ${need} stored rows, 3 a turn`);
    }
    t.deepEqual(drive(log.last(limit)).value, all.slice(Math.max(0, all.length - limit)), `last ${limit}`);
  }
  const unknown = drive(log.after('1-0', 10));
  t.deepEqual(unknown.value, { known: false, events: all.slice(-10) }, 'an unknown id: the newest page');
  t.is(unknown.turns, 2, 'read in pages too (8 stored rows, 3 a turn)');
});

test('SqliteLog: a paged read answers the log as it was asked, to each subscription; closing the log meanwhile answers nothing; unsubscribing cancels it', (t) => {
  const manual = manualDefer();
  const clock = manualClock(1000);
  const log = open(t, { dir: tempDir(t), maxLines: 1000, now: clock.now, defer: manual.defer, pageRows: 2 });
  const m = sayMany(log, 10);
  log.commit();
  const answer = log.after(m[0].id, 100);
  if (!isObservable(answer)) return t.fail('nine stored events, two a turn: answered later');
  const seen: After[] = [];
  const subscription = answer.subscribe((found) => seen.push(found));
  t.teardown(() => subscription.unsubscribe());
  // Said and committed between the pages: newer than what was asked for, not in the answer.
  const later = sayMany(log, 3, 'later');
  log.commit();
  while (manual.steps.length > 0) manual.runOne();
  t.deepEqual(seen, [{ known: true, events: m.slice(1), truncated: false }]);
  const reading = readingNow(log, () => manual.steps.length > 0 && (manual.runOne(), true));
  t.deepEqual(reading.after(m[8].id, 100), { known: true, events: [m[9], ...later], truncated: false }, 'and the next read has them');

  // Subscribed again, after the first answered: the same answer, read again from the first page.
  const again: After[] = [];
  const second = answer.subscribe((found) => again.push(found));
  t.teardown(() => second.unsubscribe());
  while (manual.steps.length > 0) manual.runOne();
  t.deepEqual(again, [{ known: true, events: m.slice(1), truncated: false }]);

  const cancelled = log.last(13);
  if (!isObservable(cancelled)) return t.fail('answered later');
  cancelled.subscribe(() => t.fail('unsubscribed: no answer')).unsubscribe();
  t.is(manual.steps.length, 0, 'its next page is no longer queued');

  const closing = log.after(m[0].id, 100);
  if (!isObservable(closing)) return t.fail('answered later');
  const answers: After[] = [];
  const closingSubscription = closing.subscribe((found) => answers.push(found));
  t.teardown(() => closingSubscription.unsubscribe());
  log.close();
  while (manual.steps.length > 0) manual.runOne();
  t.deepEqual(answers, [{ known: false, events: [] }]);
});

test('SqliteLog: retention that passes the id while a since read is paged answers unknown (there may be a gap)', (t) => {
  const manual = manualDefer();
  const clock = manualClock(1000);
  const log = open(t, { dir: tempDir(t), maxLines: 6, now: clock.now, defer: manual.defer, pageRows: 2, retentionChunk: 100 });
  const m = sayMany(log, 6);
  log.commit();
  const answer = log.after(m[0].id, 100);
  if (!isObservable(answer)) return t.fail('answered later');
  const seen: After[] = [];
  const subscription = answer.subscribe((found) => seen.push(found));
  t.teardown(() => subscription.unsubscribe());
  sayMany(log, 3, 'more');
  log.commit(); // 9 rows over a bound of 6: a retention step is queued after the read's page
  log.flushRetention(); // m0..m2 deleted: the id m0 is no longer known
  while (manual.steps.length > 0) manual.runOne();
  t.is(seen.length, 1);
  t.false(seen[0].known);
});

test('SqliteLog: retention on the default scheduler runs on later turns of the event loop', async (t) => {
  const log = open(t, { dir: tempDir(t), maxLines: 10, retentionChunk: 7 });
  sayMany(log, 40);
  log.commit();
  t.is(now(log.last(100)).length, 40);
  await new Promise((resolve) => setImmediate(resolve));
  t.is(now(log.last(100)).length, 33, 'one chunk on the next turn');
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
  t.is(now(log.last(100)).length, 10);
});

test('SqliteLog: a writer killed with SIGKILL loses nothing it committed, and ids continue after its last', async (t) => {
  const dir = tempDir(t);
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', path.join(__dirname, 'crash-child.ts'), dir], {
    cwd: path.join(__dirname, '..', '..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const reported: string[] = [];
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the child reported ${reported.length} commits in 30 s: ${stderr}`)), 30_000);
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) reported.push(line.replace('committed ', ''));
      // Killed in the middle of its work: it commits again on the very next turn.
      if (reported.length >= 200) {
        clearTimeout(timer);
        child.kill('SIGKILL');
        resolve();
      }
    });
    child.on('exit', () => reject(new Error(`the child exited early: ${stderr}`)));
  });
  t.is(await exited, 'SIGKILL');
  t.true(fs.existsSync(path.join(dir, `${LOG_FILE}-wal`)), 'killed before any checkpoint could remove its WAL');

  const log = open(t, { dir, maxLines: 1_000_000, pageRows: Number.MAX_SAFE_INTEGER });
  const stored = new Set(now(log.last(1_000_000)).map((s) => s.id));
  const missing = reported.filter((id) => !stored.has(id));
  t.deepEqual(missing, [], 'every id reported committed is in the log');
  const newest = now(log.last(1))[0].id;
  t.true(compareIds(reported[reported.length - 1], newest) <= 0);
  const next = log.stamp(say('after the crash'));
  t.true(compareIds(newest, next.id) < 0);
  t.true(parseId(next.id)!.ms > parseId(newest)!.ms, 'from a later millisecond: the private ids it gave out are not reused');
});

test('SqliteLog: a path that is a file, or under a file, is one clear line naming it', (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'plain-file');
  fs.writeFileSync(file, 'x');
  t.throws(() => openSqliteLog({ dir: file, maxLines: 10 }), { message: `cannot open the message log in ${file}: it is a file, not a directory (EEXIST)` });
  t.throws(() => openSqliteLog({ dir: path.join(file, 'data'), maxLines: 10 }), {
    message: `cannot open the message log in ${path.join(file, 'data')}: a part of the path is a file, not a directory (ENOTDIR)`,
  });
});

test('SqliteLog: a file of garbage is one clear line naming the file, and the file is left as it was', (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, LOG_FILE);
  const garbage = Buffer.from('this is not a database at all, just some text that someone put here\n'.repeat(100));
  fs.writeFileSync(file, garbage);
  const error = t.throws(() => openSqliteLog({ dir, maxLines: 10 }));
  t.is(error?.message, `cannot open the message log ${file}: not an SQLite database: the file is corrupt or is something else (SQLITE_NOTADB)`);
  t.deepEqual(fs.readFileSync(file), garbage);
});

test('SqliteLog: a log whose pages were damaged is refused at open in one line', (t) => {
  const dir = tempDir(t);
  const first = openSqliteLog({ dir, maxLines: 100_000, now: manualClock(1000).now });
  for (let turn = 0; turn < 50; turn++) {
    sayMany(first, 100, `${turn}.`);
    first.commit();
  }
  first.close();
  const file = path.join(dir, LOG_FILE);
  const bytes = fs.readFileSync(file);
  t.true(bytes.length > 8 * 4096);
  // Pages 3 to 6 (past the header and the schema) overwritten with garbage.
  bytes.fill(0x5a, 2 * 4096, 6 * 4096);
  fs.writeFileSync(file, bytes);
  const error = t.throws(() => openSqliteLog({ dir, maxLines: 100_000 }));
  t.regex(error?.message ?? '', new RegExp(`^cannot open the message log ${file}: .*corrupt`));
  t.false(error?.message.includes('\n'));
});

test('SqliteLog: a second log on the same directory is refused while the first holds it', (t) => {
  const dir = tempDir(t);
  open(t, { dir, maxLines: 10 }).stamp(say('x'));
  t.throws(() => openSqliteLog({ dir, maxLines: 10, busyTimeoutMs: 0 }), {
    message: `cannot open the message log ${path.join(dir, LOG_FILE)}: in use by another process (SQLITE_BUSY)`,
  });
});

test('SqliteLog: a full disk (size cap) degrades the log once: onTrouble told once, history empty, stamping goes on, nothing throws', (t) => {
  const dir = tempDir(t);
  const clock = manualClock(1000);
  const troubles: string[] = [];
  const log = openSqliteLog({ dir, maxLines: 1_000_000, now: clock.now, maxPages: 40, onTrouble: (m) => troubles.push(m) });
  const committed: string[] = [];
  const big = 'x'.repeat(500);
  let turns = 0;
  for (; turns < 1000 && !log.degraded; turns++) {
    const turn = sayMany(log, 10, big);
    log.commit();
    if (!log.degraded) committed.push(...turn.map((s) => s.id));
  }
  t.true(log.degraded, `still writing after ${turns} turns`);
  t.true(committed.length > 0);
  t.deepEqual(troubles, [`the message log ${path.join(dir, LOG_FILE)} failed writing, history is off until a restart: database or disk is full (SQLITE_FULL)`]);
  // The chat side goes on: ids keep increasing, reads are empty, commits do nothing, quietly.
  const before = log.stamp(say('still chatting'));
  const after = log.stamp(whisper('and whispering'));
  t.true(compareIds(before.id, after.id) < 0);
  log.commit();
  t.deepEqual(now(log.last(10)), []);
  t.deepEqual(now(log.after(committed[0], 10)), { known: false, events: [] });
  t.is(troubles.length, 1);
  t.notThrows(() => log.close());
  // What was committed before the disk filled up is all there after a restart.
  const reopened = open(t, { dir, maxLines: 1_000_000, now: clock.now, pageRows: Number.MAX_SAFE_INTEGER });
  t.deepEqual(
    now(reopened.last(1_000_000)).map((s) => s.id),
    committed,
  );
});

test('SqliteLog: an onTrouble that throws does not reach the chat side', (t) => {
  const log = open(t, {
    dir: tempDir(t),
    maxLines: 1_000_000,
    maxPages: 20,
    onTrouble: () => {
      throw new Error('a broken handler');
    },
  });
  t.notThrows(() => {
    for (let turn = 0; turn < 1000 && !log.degraded; turn++) {
      sayMany(log, 10, 'y'.repeat(500));
      log.commit();
    }
  });
  t.true(log.degraded);
});

// Mounting a tmpfs needs root with CAP_SYS_ADMIN: probed once, here, so the tests that need it
// say plainly when they cannot run.
function canMount(): boolean {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rx-im-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'ignore' });
    execFileSync('umount', [dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function mountTmpfs(t: ExecutionContext, options: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rx-im-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
  t.teardown(() => {
    execFileSync('umount', [dir]);
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

const mountable = canMount();
const root = process.getuid?.() === 0;

if (mountable) {
  test('SqliteLog: a read-only directory (a read-only tmpfs: chmod stops nobody when we are root) is one clear line', (t) => {
    const dir = mountTmpfs(t, 'ro,size=64k');
    t.throws(() => openSqliteLog({ dir, maxLines: 10 }), {
      message: `cannot open the message log in ${dir}: directory is not writable: read-only file system (EROFS)`,
    });
    t.throws(() => openSqliteLog({ dir: path.join(dir, 'data'), maxLines: 10 }), {
      message: `cannot open the message log in ${path.join(dir, 'data')}: cannot create the directory: ${dir} is not writable (EROFS)`,
    });
  });

  test('SqliteLog: a real disk that fills up (a 256 KiB tmpfs) degrades the log once and the chat goes on', (t) => {
    const dir = mountTmpfs(t, 'size=256k');
    const troubles: string[] = [];
    const log = openSqliteLog({ dir, maxLines: 1_000_000, onTrouble: (m) => troubles.push(m) });
    t.teardown(() => log.close());
    let turns = 0;
    for (; turns < 1000 && !log.degraded; turns++) {
      sayMany(log, 10, 'z'.repeat(500));
      log.commit();
    }
    t.true(log.degraded, `still writing after ${turns} turns`);
    t.is(troubles.length, 1);
    t.regex(troubles[0], new RegExp(`^the message log ${path.join(dir, LOG_FILE)} failed writing, history is off until a restart: .*\\(SQLITE_(FULL|IOERR)`));
    t.notThrows(() => {
      log.stamp(say('on we go'));
      log.commit();
      now(log.last(10));
      now(log.after('1-0', 10));
    });
  });
} else if (!root) {
  test('SqliteLog: a read-only directory (chmod 0500) is one clear line', (t) => {
    const dir = tempDir(t);
    fs.chmodSync(dir, 0o500);
    t.teardown(() => fs.chmodSync(dir, 0o700));
    t.throws(() => openSqliteLog({ dir, maxLines: 10 }), { message: `cannot open the message log in ${dir}: directory is not writable (EACCES)` });
  });
} else {
  test.skip('SqliteLog: a read-only directory and a real full disk need `mount -t tmpfs` (root without CAP_SYS_ADMIN here)', () => {});
}
