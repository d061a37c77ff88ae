/**
 * End-to-end for the server CLI as a child process (`node -r ts-node/register/transpile-only
 * cli/server.ts`): flags and exit codes, the port-in-use error, the idle kick, signals, and
 * the stderr log. The server always gets `--port 0 --no-web`, so it never takes 8888/8080.
 */
import test, { ExecutionContext } from 'ava';
import { ChildProcess, spawn } from 'node:child_process';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { connect } from '../helpers/tcp';
import { withDataDir } from '../helpers/data-dir';

const ROOT = path.resolve(__dirname, '../..');
const LISTENING = /^rx-im-server listening on (\S+):(\d+) \(tcp\)$/;

interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A running (or finished) CLI, with its output split into lines as they come. */
class Cli {
  readonly stdout: string[] = [];
  readonly stderr: string[] = [];
  readonly exited: Promise<Exit>;
  private readonly waiters: (() => void)[] = [];

  /** `ready` runs once, at the first line on stdout or at exit, whichever comes first. */
  constructor(
    readonly child: ChildProcess,
    ready: () => void = () => undefined,
  ) {
    for (const [stream, lines] of [
      [child.stdout, this.stdout],
      [child.stderr, this.stderr],
    ] as const) {
      if (!stream) throw new Error('the child needs piped stdout and stderr');
      createInterface({ input: stream }).on('line', (line) => {
        lines.push(line);
        if (lines === this.stdout) ready();
        for (const wake of this.waiters.splice(0)) wake();
      });
    }
    // 'close' comes after 'exit' once the pipes are drained too: no output line is missed.
    this.exited = new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
    void this.exited.then(ready);
  }

  /** Waits for a line on `stream` matching `pattern`; returns its match. */
  async waitFor(stream: 'stdout' | 'stderr', pattern: RegExp, timeoutMs = 5000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const line of this[stream]) {
        const match = line.match(pattern);
        if (match) return match;
      }
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `no ${stream} line matching ${pattern} within ${timeoutMs} ms; stdout: ${JSON.stringify(this.stdout)}; stderr: ${JSON.stringify(this.stderr)}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

// Starting ts-node costs about a CPU-second: starting all the children of this file at once
// on a small machine makes each start take many seconds. So at most this many start at a time
// (a slot is held until the child listens or exits: after that it costs next to nothing).
const STARTING_AT_ONCE = Math.max(2, os.availableParallelism());
let starting = 0;
const queue: (() => void)[] = [];
async function startSlot(): Promise<() => void> {
  if (starting >= STARTING_AT_ONCE) await new Promise<void>((resolve) => queue.push(resolve));
  else starting++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    const next = queue.shift();
    if (next) next();
    else starting--;
  };
}

async function run(t: ExecutionContext, args: readonly string[]): Promise<Cli> {
  const release = await startSlot();
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'cli/server.ts', ...withDataDir(t, args)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return new Cli(child, release);
}

/** Starts the server on a free port; resolves with the running CLI and the port it printed. */
async function start(t: ExecutionContext, args: readonly string[] = []): Promise<{ cli: Cli; port: number }> {
  const cli = await run(t, ['--port', '0', '--no-web', ...args]);
  const match = await Promise.race([
    cli.waitFor('stdout', LISTENING, 30_000),
    cli.exited.then((exit) => {
      throw new Error(`the server exited (${JSON.stringify(exit)}) before listening; stderr: ${JSON.stringify(cli.stderr)}`);
    }),
  ]);
  t.is(match[1], '127.0.0.1', 'listens on loopback by default');
  return { cli, port: Number(match[2]) };
}

/** Runs the CLI to its end (within 30 s: it should exit at once, but starting ts-node on a loaded machine is slow). */
async function finish(t: ExecutionContext, args: readonly string[]): Promise<Exit & { stdout: string[]; stderr: string[] }> {
  const cli = await run(t, args);
  let timer: NodeJS.Timeout | undefined;
  const exit = await Promise.race([
    cli.exited,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`still running after 30 s; stdout: ${JSON.stringify(cli.stdout)}`)), 30_000);
    }),
  ]).finally(() => clearTimeout(timer));
  return { ...exit, stdout: cli.stdout, stderr: cli.stderr };
}

test('--help prints the usage on stdout and exits 0', async (t) => {
  const { code, stdout, stderr } = await finish(t, ['--help']);
  t.is(code, 0);
  t.regex(stdout[0] ?? '', /^Usage: rx-im-server/);
  for (const flag of ['--host', '--port', '--idle-timeout', '--lang', '--max-line-bytes', '--no-web', '--help']) {
    t.true(
      stdout.some((l) => l.includes(flag)),
      `the usage mentions ${flag}`,
    );
  }
  t.deepEqual(stderr, []);
});

// The CLI's wiring of a bad flag (lib/flags.ts has the unit tests for every rule): one start each.
const badFlags: [args: string[], mentions: RegExp][] = [
  [['--port', '99999'], /--port.*99999/],
  [['--port', 'abc'], /--port.*abc/],
  [['--idle-timeout', '-1'], /--idle-timeout.*-1/],
  [['--lang', 'fr'], /--lang.*fr/],
  [['--bogus'], /--bogus/],
];

for (const [args, mentions] of badFlags) {
  test(`bad flag ${args.join(' ')}: one line on stderr naming it, exit 1, no stack trace`, async (t) => {
    // `--port 0` first: the last value wins, so the bad one is what the CLI sees.
    const { code, stdout, stderr } = await finish(t, ['--port', '0', '--no-web', ...args]);
    t.is(code, 1);
    t.deepEqual(stdout, [], 'it never started listening');
    t.is(stderr.length, 1, `exactly one line, got ${JSON.stringify(stderr)}`);
    t.regex(stderr[0] ?? '', mentions);
    t.false(
      stderr.some((l) => /^\s+at /.test(l)),
      'no stack trace',
    );
  });
}

test('a port in use: one clear line on stderr, exit 1', async (t) => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => blocker.close());
  const { port } = blocker.address() as net.AddressInfo;
  const { code, stdout, stderr } = await finish(t, ['--port', String(port), '--no-web']);
  t.is(code, 1);
  t.deepEqual(stdout, []);
  t.is(stderr.length, 1, `exactly one line, got ${JSON.stringify(stderr)}`);
  t.regex(stderr[0] ?? '', new RegExp(`in use.*${port}|${port}.*in use`));
  t.false(
    stderr.some((l) => /^\s+at /.test(l)),
    'no stack trace',
  );
});

test('--idle-timeout 0.5 kicks a silent user, and the log says so', async (t) => {
  const { cli, port } = await start(t, ['--idle-timeout', '0.5']);
  const alice = await connect(port);
  t.teardown(() => alice.destroy());
  const connected = Date.now();
  // Nothing but silence before the kick: no round trip that a loaded machine could stretch past 0.5 s.
  t.deepEqual(await alice.rest(5000), [`[${alice.addr}]${alice.addr}:已上线`, '你被踢了']);
  t.true(Date.now() - connected >= 450, `kicked ${Date.now() - connected} ms after connecting, not before 0.5 s`);
  await cli.waitFor('stderr', new RegExp(`disconnected ${escape(alice.addr)} \\(kicked: idle\\)$`));
});

// The texts each language gives users, as the README's protocol table has them.
const WIRE = {
  zh: { online: '已上线', offline: '已下线', listed: '在线...', shutdown: '服务器正在关闭', tooLong: (n: number) => `消息过长(最多${n}字节),已丢弃` },
  en: {
    online: 'is online',
    offline: 'is offline',
    listed: 'online...',
    shutdown: 'The server is shutting down',
    tooLong: (n: number) => `Message too long (at most ${n} bytes), discarded`,
  },
} as const;

for (const [signal, lang] of [
  ['SIGTERM', 'zh'],
  ['SIGINT', 'en'],
] as const) {
  test(`${signal} (--lang ${lang}): every client gets the shutdown notice, the process exits 0 within 2 s; connections are logged`, async (t) => {
    const w = WIRE[lang];
    const { cli, port } = await start(t, ['--lang', lang, '--max-line-bytes', '16']);
    const alice = await connect(port);
    t.teardown(() => alice.destroy());
    t.is(await alice.nextLine(), `[${alice.addr}]${alice.addr}:${w.online}`);
    const bob = await connect(port);
    t.teardown(() => bob.destroy());
    const bobJoined = `[${bob.addr}]${bob.addr}:${w.online}`;
    t.is(await bob.nextLine(), bobJoined);
    t.is(await alice.nextLine(), bobJoined);
    // --max-line-bytes reaches the framing, and the notice quotes it.
    await bob.send('x'.repeat(17));
    t.is(await bob.nextLine(), w.tooLong(16));
    // One line each on stderr for a connection and a disconnection.
    const carol = await connect(port);
    t.teardown(() => carol.destroy());
    const carolJoined = `[${carol.addr}]${carol.addr}:${w.online}`;
    for (const c of [carol, alice, bob]) t.is(await c.nextLine(), carolJoined);
    await carol.end();
    for (const c of [alice, bob]) t.is(await c.nextLine(), `[${carol.addr}]${carol.addr}:${w.offline}`);
    await cli.waitFor('stderr', new RegExp(`\\bdisconnected ${escape(carol.addr)}$`));
    t.is(cli.stderr.filter((l) => l.includes(carol.addr)).length, 2, JSON.stringify(cli.stderr));
    t.regex(cli.stderr.find((l) => l.includes(carol.addr)) ?? '', new RegExp(`\\bconnected ${escape(carol.addr)}$`));

    t.deepEqual(await alice.who(), [`[${alice.addr}]${alice.addr}:${w.listed}`, `[${bob.addr}]${bob.addr}:${w.listed}`]);
    const sent = Date.now();
    cli.child.kill(signal);
    for (const c of [alice, bob]) t.deepEqual(await c.rest(), [w.shutdown]);
    const exit = await cli.exited;
    const took = Date.now() - sent;
    t.deepEqual(exit, { code: 0, signal: null });
    t.true(took < 2000, `exited ${took} ms after ${signal}`);
    t.false(
      cli.stderr.some((l) => /^\s+at /.test(l)),
      'no stack trace',
    );
  });
}

/** `s` as a RegExp matching itself. */
function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

test('--version prints the version in package.json on stdout and exits 0', async (t) => {
  const { readFileSync } = await import('node:fs');
  const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const { code, stdout, stderr } = await finish(t, ['--version']);
  t.is(code, 0);
  t.deepEqual(stdout, [version]);
  t.deepEqual(stderr, []);
});
