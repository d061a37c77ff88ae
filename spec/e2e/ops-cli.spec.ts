/**
 * The server CLI run as operators run it (a child process): configured from RXIM_ variables
 * and an env file with the command line winning, logging JSON that parses line by line and
 * never holds a message's text, serving its metrics port, reloading its log level on SIGHUP.
 */
import test from 'ava';
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { parseExposition } from '../helpers/prometheus';
import { connect } from '../helpers/tcp';

const ROOT = path.resolve(__dirname, '../..');

/** The CLI with `env` on top of a clean environment (no RXIM_ variable of the test runner's). */
function run(args: string[], env: Record<string, string>): { child: ChildProcess; stdout: string[]; stderr: string[]; exited: Promise<number | null> } {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('RXIM_')));
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'cli/server.ts', ...args], {
    cwd: ROOT,
    env: { ...clean, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => stdout.push(line));
  createInterface({ input: child.stderr }).on('line', (line) => stderr.push(line));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, stdout, stderr, exited };
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('env configuration, the command line winning; JSON logs line by line without message text; /metrics on its port; SIGHUP reloads the level', async (t) => {
  // A port in use: if RXIM_PORT won over --port 0, the server could not start.
  const taken = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => taken.once('listening', resolve));
  t.teardown(() => taken.close());
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rx-im-ops-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const envFile = path.join(dir, 'rx-im.env');
  fs.writeFileSync(envFile, '# settings\nRXIM_LOG_LEVEL=info\nRXIM_LANG=zh\n');
  const cli = run(['--port', '0', '--no-history'], {
    RXIM_PORT: String((taken.address() as net.AddressInfo).port),
    RXIM_NO_WEB: '1',
    RXIM_LOG_FORMAT: 'json',
    RXIM_METRICS_PORT: '0',
    RXIM_LANG: 'en', // over the file's zh
    RXIM_ENV_FILE: envFile,
  });
  t.teardown(() => cli.child.kill('SIGKILL'));
  const tcpPort = Number(await until('the listening line', () => cli.stdout.map((l) => /listening on 127\.0\.0\.1:(\d+) \(tcp\)$/.exec(l)?.[1]).find(Boolean)));
  const metricsPort = Number(
    await until('the metrics line', () => cli.stdout.map((l) => /metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics$/.exec(l)?.[1]).find(Boolean)),
  );
  t.false(
    cli.stdout.some((line) => line.includes('web chat')),
    'RXIM_NO_WEB=1: no web chat',
  );

  const alice = await connect(tcpPort);
  await alice.expectLine(`[${alice.addr}]${alice.addr}:is online`); // RXIM_LANG=en won over the file
  await alice.send('a secret message text');
  await alice.expectLine(`[${alice.addr}]${alice.addr}:a secret message text`);
  await alice.end();
  await until('the disconnect log line', () => (cli.stderr.some((l) => l.includes('"disconnected"')) ? true : undefined));

  const metrics = parseExposition(await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text());
  t.is(metrics.value('rxim_connections_total', { transport: 'tcp' }), 1);
  t.is(metrics.value('rxim_disconnects_total', { reason: 'left' }), 1);
  t.is(metrics.value('rxim_lines_received_total'), 1);
  t.true(metrics.types.has('process_cpu_seconds_total'), 'the default process metrics');
  t.true(metrics.types.has('process_resident_memory_bytes'));
  t.true(metrics.types.has('nodejs_eventloop_lag_seconds'));

  fs.writeFileSync(envFile, 'RXIM_LOG_LEVEL=debug\nRXIM_LANG=zh\nRXIM_RATE_LIMIT=5\n');
  cli.child.kill('SIGHUP');
  await until('the reload line', () => (cli.stderr.some((l) => l.includes('"reload"')) ? true : undefined));
  cli.child.kill('SIGTERM');
  t.is(await cli.exited, 0);

  const entries = cli.stderr.map((line) => JSON.parse(line) as Record<string, unknown>);
  for (const entry of entries) {
    t.regex(String(entry.time), /^\d{4}-\d\d-\d\dT/);
    t.true(['debug', 'info', 'warn', 'error'].includes(String(entry.level)));
    t.is(typeof entry.msg, 'string');
  }
  t.like(
    entries.find((e) => e.event === 'connected'),
    { level: 'info', addr: alice.addr, transport: 'tcp', msg: `connected ${alice.addr}` },
  );
  t.like(
    entries.find((e) => e.event === 'disconnected'),
    { level: 'info', addr: alice.addr, reason: 'left' },
  );
  t.like(
    entries.find((e) => e.event === 'reload'),
    { level: 'info', msg: `SIGHUP: log level info -> debug from ${envFile}; RXIM_RATE_LIMIT changed: not applied until a restart` },
  );
  t.like(
    entries.find((e) => e.event === 'shutdown'),
    { signal: 'SIGTERM' },
  );
  t.false(
    cli.stderr.some((line) => line.includes('secret')),
    'no message text in the log',
  );
});

test('an invalid value in the environment: exit 1 naming the variable', async (t) => {
  const cli = run(['--no-web', '--no-history'], { RXIM_MAX_LINE_BYTES: 'lots' });
  t.teardown(() => cli.child.kill('SIGKILL'));
  t.is(await cli.exited, 1);
  t.deepEqual(cli.stderr, ["rx-im-server: RXIM_MAX_LINE_BYTES must be a whole number from 16 to 16777216, got 'lots' (see --help)"]);
});
