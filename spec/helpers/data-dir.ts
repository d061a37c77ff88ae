/** A fresh data directory for one test's message log, removed after it. */
import type { ExecutionContext } from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export function tempDataDir(t: ExecutionContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rx-im-data-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A server CLI's arguments with a data dir of the test's own, unless they choose one (or none). */
export function withDataDir(t: ExecutionContext, args: readonly string[]): string[] {
  const chosen = args.some((a) => /^--(data-dir|no-history|redis)(=|$)/.test(a) || a === '--help' || a === '-h' || a === '--version');
  return chosen ? [...args] : [...args, '--data-dir', tempDataDir(t)];
}
