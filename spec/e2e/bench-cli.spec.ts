/** rx-im-bench as a child process (`node -r ts-node/register/transpile-only bench/cli.ts`): what needs no server. */
import test from 'ava';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');

function bench(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // Starting ts-node takes seconds on a loaded machine; the run itself is instant.
    execFile(process.execPath, ['-r', 'ts-node/register/transpile-only', 'bench/cli.ts', ...args], { cwd: ROOT, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

test('--version prints the version in package.json and exits 0', async (t) => {
  const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  t.deepEqual(await bench(['--version']), { code: 0, stdout: `${version}\n`, stderr: '' });
});

test('without a scenario: the complaint on stderr, exit 1', async (t) => {
  const { code, stdout, stderr } = await bench([]);
  t.is(code, 1);
  t.is(stdout, '');
  t.regex(stderr, /^rx-im-bench: name one scenario/);
});

test('bench:replay: a bad flag is one line on stderr naming it, exit 1, before anything is built or started', async (t) => {
  const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', 'bench/replay-load.ts', '--events', '0'],
      { cwd: ROOT, timeout: 30_000 },
      (err, out, errOut) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout: out, stderr: errOut }),
    );
  });
  t.is(code, 1);
  t.is(stdout, '');
  t.is(stderr, 'bench:replay: --events must be a whole number from 1 to 100000, got 0\n');
});
