/**
 * The durable log through the server CLI, as an operator runs it: what anyone received
 * survives a kill -9 of the server, ids go on after the restart, and an unusable data
 * directory is one line on stderr and exit 1.
 */
import test, { ExecutionContext } from 'ava';
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { tempDataDir } from '../helpers/data-dir';
import { connect } from '../helpers/tcp';

const ROOT = path.resolve(__dirname, '../..');

interface Running {
  readonly child: ChildProcess;
  readonly port: number;
  readonly stderr: string[];
}

function spawnServer(
  t: ExecutionContext,
  args: readonly string[],
): { child: ChildProcess; stdout: Promise<string>; stderr: string[]; exited: Promise<number | null> } {
  const child = spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', 'cli/server.ts', '--port', '0', '--no-web', '--lang', 'en', '--rate-limit', '0', ...args],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const stderr: string[] = [];
  createInterface({ input: child.stderr }).on('line', (line) => stderr.push(line));
  const stdout = new Promise<string>((resolve) => createInterface({ input: child.stdout }).once('line', resolve));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, stdout, stderr, exited };
}

async function start(t: ExecutionContext, args: readonly string[]): Promise<Running> {
  const run = spawnServer(t, args);
  const first = await Promise.race([run.stdout, run.exited.then((code) => `exited ${code}: ${run.stderr.join(' | ')}`)]);
  const port = /listening on [^ ]+:(\d+) \(tcp\)/.exec(first)?.[1];
  if (!port) throw new Error(`the server did not start: ${first}`);
  return { child: run.child, port: Number(port), stderr: run.stderr };
}

test('kill -9 loses nothing anyone received: after a restart history| has every line, and ids go on', async (t) => {
  const dir = tempDataDir(t);
  const first = await start(t, ['--data-dir', dir]);
  const a = await connect(first.port);
  t.teardown(() => a.destroy());
  await a.nextLine();
  await a.send('cap|tags');
  await a.expectLine('cap|ack|tags');
  const received: string[] = [];
  for (let i = 0; i < 50; i++) await a.send(`line ${i}`);
  for (let i = 0; i < 50; i++) received.push(await a.nextLine());
  first.child.kill('SIGKILL');
  await a.closed;

  const second = await start(t, ['--data-dir', dir]);
  const b = await connect(second.port);
  t.teardown(() => b.destroy());
  await b.nextLine();
  await b.send('cap|tags');
  await b.expectLine('cap|ack|tags');
  await b.send('history|200');
  const replay: string[] = [];
  for (let line = await b.nextLine(); line !== 'history|end'; line = await b.nextLine()) replay.push(line);
  // Everything `a` received is there, byte for byte, ids and times included; no leave was
  // invented for the connection the kill cut; the newcomer's own join comes last.
  t.deepEqual(replay.slice(1, 51), received);
  t.false(
    replay.some((l) => l.endsWith(':is offline')),
    'no leave logged for the cut connection',
  );
  const idOf = (line: string) => /^@id=(\d+)-(\d+);/.exec(line)!.slice(1).map(BigInt);
  const [lastMs, lastSeq] = idOf(received[received.length - 1]);
  const [joinMs, joinSeq] = idOf(replay[replay.length - 1]);
  t.true(joinMs > lastMs || (joinMs === lastMs && joinSeq > lastSeq), 'ids continue after the restart');
});

test('an unusable data directory is one line on stderr and exit 1', async (t) => {
  const dir = tempDataDir(t);
  const file = path.join(dir, 'not-a-dir');
  fs.writeFileSync(file, 'x');
  const run = spawnServer(t, ['--data-dir', file]);
  t.is(await run.exited, 1);
  t.is(run.stderr.length, 1, run.stderr.join('\n'));
  t.regex(run.stderr[0], /^rx-im-server: .*not-a-dir/);

  const corrupt = tempDataDir(t);
  fs.writeFileSync(path.join(corrupt, 'rx-im.sqlite'), 'this is not a database'.repeat(100));
  const bad = spawnServer(t, ['--data-dir', corrupt]);
  t.is(await bad.exited, 1);
  t.is(bad.stderr.length, 1, bad.stderr.join('\n'));
  t.regex(bad.stderr[0], /^rx-im-server: .*rx-im\.sqlite/);
});
