/**
 * Figures for the SQLite message log (a script, not a test): the cost of one turn's commit with
 * 1, 10 and 100 events, rows a second for 100k events in turns of 10, a retention step, the
 * reads a reply makes, opening a full log; and a turn's commit with synchronous=FULL, for
 * comparison. Run: node -r ts-node/register/transpile-only spec/store/measure.ts
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { isObservable } from 'rxjs';
import type { Answer } from '../../lib/hub';
import type { Event } from '../../lib/protocol';
import { LOG_FILE, openSqliteLog } from '../../lib/store/sqlite';

const line = (i: number): Event => ({ kind: 'say', addr: '127.0.0.1:54321', name: `user${i % 1000}`, text: `a chat line of ordinary length, number ${i}` });

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))];
}

function summary(samples: number[]): string {
  const sorted = [...samples].sort((a, b) => a - b);
  return `median ${percentile(sorted, 50).toFixed(1)} µs, p99 ${percentile(sorted, 99).toFixed(1)} µs, max ${sorted[sorted.length - 1].toFixed(0)} µs`;
}

const micros = (from: bigint): number => Number(process.hrtime.bigint() - from) / 1000;

/** A read's answer, known now (the log reads everything in one query here). */
function now<T>(answer: Answer<T>): T {
  if (isObservable(answer)) throw new Error('answered later');
  return answer;
}

function main(): void {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rx-im-measure-'));
  try {
    // Every read in one query (a server reads 500 rows a turn: a longer reply takes several turns).
    const log = openSqliteLog({ dir, maxLines: 1_000_000, pageRows: Number.MAX_SAFE_INTEGER });
    let n = 0;
    console.log(`SqliteLog, synchronous=NORMAL, ${dir} (${os.cpus()[0].model})`);
    for (const size of [1, 10, 100]) {
      const samples: number[] = [];
      for (let turn = 0; turn < 2000; turn++) {
        for (let i = 0; i < size; i++) log.stamp(line(n++));
        const start = process.hrtime.bigint();
        log.commit();
        samples.push(micros(start));
      }
      console.log(`commit of a turn of ${String(size).padStart(3)} events: ${summary(samples)}`);
    }

    const before = n;
    const start = process.hrtime.bigint();
    for (let turn = 0; turn < 10_000; turn++) {
      for (let i = 0; i < 10; i++) log.stamp(line(n++));
      log.commit();
    }
    const seconds = micros(start) / 1e6;
    console.log(`100k events in turns of 10 (stamp + commit): ${Math.round((n - before) / seconds).toLocaleString('en')} rows/s (${seconds.toFixed(2)} s)`);

    const newest = now(log.last(1))[0].id;
    const middle = now(log.last(5000))[0].id;
    const reads = { last200: [] as number[], after200: [] as number[], afterTruncated: [] as number[] };
    for (let i = 0; i < 500; i++) {
      let t = process.hrtime.bigint();
      now(log.last(200));
      reads.last200.push(micros(t));
      t = process.hrtime.bigint();
      now(log.after(middle, 5000));
      reads.after200.push(micros(t));
      t = process.hrtime.bigint();
      now(log.after(middle, 200));
      reads.afterTruncated.push(micros(t));
    }
    console.log(`last(200): ${summary(reads.last200)}`);
    console.log(`after(id, 5000) giving 5000 events: ${summary(reads.after200)}`);
    console.log(`after(id, 200) with 5000 following (truncated): ${summary(reads.afterTruncated)}`);
    console.log(`newest id ${newest}; rows ${n}`);
    log.close();

    const size = fs.statSync(path.join(dir, LOG_FILE)).size;
    console.log(`file: ${(size / 1024 / 1024).toFixed(1)} MiB for ${n.toLocaleString('en')} rows (${Math.round(size / n)} bytes a row)`);

    let t = process.hrtime.bigint();
    let queued: (() => void) | undefined;
    const reopened = openSqliteLog({
      dir,
      maxLines: n - 100_000,
      defer: (step) => {
        queued = step;
        return () => (queued = undefined);
      },
    });
    console.log(`open with ${n.toLocaleString('en')} rows (quick_check, count): ${(micros(t) / 1000).toFixed(1)} ms`);
    const steps: number[] = [];
    for (let i = 0; i < 50; i++) {
      t = process.hrtime.bigint();
      const step = queued;
      queued = undefined;
      step?.();
      steps.push(micros(t));
    }
    console.log(`retention step (1000 rows deleted): ${summary(steps)}`);
    reopened.close();

    // synchronous=FULL, for the record: the same turns on a plain connection.
    const db = new Database(path.join(dir, 'full.sqlite'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(
      'CREATE TABLE events (ms INTEGER NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, addr TEXT NOT NULL, name TEXT NOT NULL, text TEXT, PRIMARY KEY (ms, seq)) WITHOUT ROWID',
    );
    const insert = db.prepare('INSERT INTO events VALUES (?, ?, ?, ?, ?, ?)');
    const write = db.transaction((rows: number, base: number) => {
      for (let i = 0; i < rows; i++) insert.run(base, i, 'say', '127.0.0.1:54321', 'user', `a chat line of ordinary length, number ${i}`);
    });
    const full: number[] = [];
    for (let turn = 0; turn < 500; turn++) {
      t = process.hrtime.bigint();
      write(10, turn);
      full.push(micros(t));
    }
    console.log(`synchronous=FULL (for comparison), commit of 10 events: ${summary(full)}`);
    db.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main();
