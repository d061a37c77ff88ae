/**
 * Accounts through the server CLI, as an operator runs it, with the real scrypt cost: an
 * account survives a kill -9 in the data directory's SQLite file (which never holds the
 * password), and a server without a data directory says its accounts are in memory only.
 */
import test, { ExecutionContext } from 'ava';
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { texts } from '../../lib/texts';
import { tempDataDir } from '../helpers/data-dir';
import { waitFor } from '../helpers/server';
import { TcpClient, connect } from '../helpers/tcp';

const ROOT = path.resolve(__dirname, '../..');
const t$ = texts.en;
/** A default-cost hash takes a few hundred ms here; a reply waits for one. */
const SLOW_MS = 10_000;

interface Running {
  readonly child: ChildProcess;
  readonly port: number;
  readonly stderr: string[];
}

async function start(t: ExecutionContext, args: readonly string[]): Promise<Running> {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'cli/server.ts', '--port', '0', '--no-web', '--lang', 'en', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const stderr: string[] = [];
  createInterface({ input: child.stderr }).on('line', (line) => stderr.push(line));
  const first = await new Promise<string>((resolve) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => resolve(`exited ${code}: ${stderr.join(' | ')}`));
  });
  const port = /listening on [^ ]+:(\d+) \(tcp\)/.exec(first)?.[1];
  if (!port) throw new Error(`the server did not start: ${first}`);
  return { child, port: Number(port), stderr };
}

async function joined(t: ExecutionContext, port: number): Promise<TcpClient> {
  const c = await connect(port);
  t.teardown(() => c.destroy());
  await c.nextLine();
  return c;
}

test('an account registered through the CLI survives a kill -9; the file and the log never hold the password', async (t) => {
  const dir = tempDataDir(t);
  const password = 'Cli-Passw0rd-7';
  const first = await start(t, ['--data-dir', dir]);
  const a = await joined(t, first.port);
  await a.send('rename|alice');
  await a.expectLine(t$.renamed('alice'));
  await a.send(`register|${password}`);
  await a.expectLine(t$.registered('alice'), SLOW_MS);
  first.child.kill('SIGKILL');
  await a.closed;

  const second = await start(t, ['--data-dir', dir]);
  const b = await joined(t, second.port);
  await b.send('rename|alice');
  await b.expectLine(t$.nameRegistered('alice'));
  await b.send('login|alice|not-the-password');
  await b.expectLine(t$.loginFailed, SLOW_MS);
  await b.send(`login|alice|${password}`);
  await b.expectLine(t$.loggedIn('alice'), SLOW_MS);
  await waitFor('the failed login in the log', () => second.stderr.some((l) => l.includes('login failed: alice from ')));
  second.child.kill('SIGKILL');
  await b.closed;
  for (const file of fs.readdirSync(dir)) t.false(fs.readFileSync(path.join(dir, file)).includes(Buffer.from(password)), file);
  t.false([...first.stderr, ...second.stderr].some((l) => l.includes(password)));
  t.true(
    second.stderr.some((l) => l.includes('login failed: alice from ')),
    second.stderr.join('\n'),
  );
});

test('without a data directory the accounts are in memory, and the log says so', async (t) => {
  const run = await start(t, ['--no-history']);
  // stderr is read on its own stream: wait for the line (bounded), do not assume it came first.
  await waitFor('the in-memory accounts warning', () => run.stderr.some((l) => /accounts in memory only/.test(l)));
  t.true(
    run.stderr.some((l) => /accounts in memory only.*lost at restart/.test(l)),
    run.stderr.join('\n'),
  );
});
