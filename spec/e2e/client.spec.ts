/**
 * End-to-end: rx-im-client as a child process with piped stdin, against an in-process
 * ChatServer on 127.0.0.1, port 0. Both modes, whole lines, the exit codes: quitting, end of
 * input, a kick, a shutdown (0); connection refused, a reset (1). Every wait is on the
 * child's output or exit, with a deadline: a client that hangs fails the test.
 */
import test, { ExecutionContext } from 'ava';
import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { ChatServer, ServerOptions } from '../../lib/server';
import { TcpClient, connect } from '../helpers/tcp';
import { compiledClient, removeCompiledClient } from '../client/compiled';

const ROOT = path.resolve(__dirname, '../..');
/** Generous for a loaded CI machine; a client that works exits in well under a second. */
const DEADLINE_MS = 10_000;

test.after.always(removeCompiledClient);

interface Run {
  readonly child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  /** Resolves once stdout contains `text`; rejects at the deadline. */
  printed(text: string | RegExp): Promise<void>;
  /** The exit code once the client exits; rejects (the client hung) at the deadline. */
  readonly exit: Promise<number | null>;
}

function client(t: ExecutionContext, args: readonly string[], input?: string): Run {
  const child = spawn(process.execPath, [compiledClient(), ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '' },
  });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    for (const waiter of waiters) waiter();
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  child.stdin.on('error', () => undefined); // the client may exit before reading all of it
  if (input !== undefined) child.stdin.end(input);

  const deadline = <T>(what: string, promise: Promise<T>, cleanup = () => {}): Promise<T> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${what} within ${DEADLINE_MS} ms; stdout: ${JSON.stringify(out)}; stderr: ${JSON.stringify(err)}`)),
        DEADLINE_MS,
      );
    });
    return Promise.race([promise, late]).finally(() => {
      clearTimeout(timer);
      cleanup();
    });
  };
  const exit = deadline('the client did not exit', new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code))));
  exit.catch(() => undefined); // awaited by the tests that expect an exit
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exit,
    printed(text) {
      const seen = () => (typeof text === 'string' ? out.includes(text) : text.test(out));
      let waiter: () => void = () => {};
      return deadline(
        `the client did not print ${String(text)}`,
        new Promise<void>((resolve) => {
          waiter = () => seen() && resolve();
          waiters.add(waiter);
          waiter();
        }),
        () => waiters.delete(waiter),
      );
    },
  };
}

async function startServer(t: ExecutionContext, options: ServerOptions = {}): Promise<{ server: ChatServer; port: number }> {
  const server = new ChatServer({ host: '127.0.0.1', port: 0, ...options });
  const { port } = await server.listen();
  t.teardown(() => server.close(100));
  return { server, port };
}

/** A raw TCP user that has read its own join line. */
async function observer(t: ExecutionContext, port: number, name?: string): Promise<TcpClient> {
  const user = await connect(port);
  t.teardown(() => user.destroy());
  await user.expectLine(/已上线|is online/);
  if (name !== undefined) {
    await user.send(`rename|${name}`);
    await user.expectLine(/bob/);
  }
  return user;
}

const ADDR = String.raw`127\.0\.0\.1:\d+`;
const CONNECTED = '>>>>>>>>链接服务器成功>>>>>>>>>';

test('menu mode, piped: "hello world" goes out whole, rename, 0 quits; every reply printed; exit 0', async (t) => {
  const { port } = await startServer(t);
  const alice = await observer(t, port);
  const run = client(t, ['-port', String(port)], '1\nhello world\nexit\n3\ncarol\n0\n');
  t.is(await run.exit, 0, run.stderr());
  await alice.expectLine(new RegExp(`^\\[${ADDR}\\]${ADDR}:已上线$`));
  await alice.expectLine(new RegExp(`^\\[${ADDR}\\]${ADDR}:hello world$`));
  const out = run.stdout();
  t.true(out.startsWith(`${CONNECTED}\n`), out);
  t.true(out.includes('**********1.公聊模式**********\n'), out);
  t.true(out.includes('>>>>>>公聊模式,输入exit退出\n>>>>>请输入聊天内容:\n'), out);
  t.true(out.includes('>>>>请输入用户名:\n'), out);
  // The server's replies came before the client left: its own broadcast and the rename.
  t.regex(out, new RegExp(`^\\[${ADDR}\\]${ADDR}:hello world$`, 'm'));
  t.regex(out, /^您已更改用户名为:carol$/m);
  t.false(out.includes('\x1b'), 'no colour when stdout is not a terminal');
  t.is(run.stderr(), '');
});

test('menu mode, piped: private chat shows who, sends whole messages; input ending without 0 exits 0', async (t) => {
  const { port } = await startServer(t);
  const bob = await observer(t, port, 'bob');
  const run = client(t, ['-ip', '127.0.0.1', `-port=${port}`], '2\nbob\nhi there bob\nexit\nexit\n');
  t.is(await run.exit, 0, run.stderr());
  await bob.expectLine(new RegExp(`^\\[${ADDR}\\]${ADDR}:已上线$`));
  await bob.expectLine(new RegExp(`^${ADDR} : hi there bob$`));
  const out = run.stdout();
  t.regex(out, new RegExp(`^\\[${ADDR}\\]bob:在线\\.\\.\\.$`, 'm'));
  t.true(out.includes('>>>>>>请输入聊天对象(用户名),输入exit退出:\n>>>>>>请输入消息内容,输入exit退出:\n>>>>>请输入消息内容,输入exit退出:\n'), out);
});

test('chat mode (--lang en), piped: /nick, a plain line, /msg, /who, /quit; exit 0', async (t) => {
  const { port } = await startServer(t, { lang: 'en' });
  const bob = await observer(t, port, 'bob');
  const run = client(t, ['--port', String(port), '--chat', '--lang', 'en'], '/nick carol\nhello  all | of you\n/msg bob psst, hi\n/who\n/quit\n');
  t.is(await run.exit, 0, run.stderr());
  await bob.expectLine(new RegExp(`^\\[${ADDR}\\]${ADDR}:is online$`));
  await bob.expectLine(new RegExp(`^\\[${ADDR}\\]carol:hello  all \\| of you$`));
  await bob.expectLine('carol : psst, hi');
  const out = run.stdout();
  t.true(out.startsWith('>>>>>>>>Connected to the server>>>>>>>>>\nChat mode: a line goes to everyone; /help lists the commands\n'), out);
  t.regex(out, /^Your name is now:carol$/m);
  t.regex(out, new RegExp(`^\\[${ADDR}\\]carol:online\\.\\.\\.$`, 'm'));
  t.regex(out, new RegExp(`^\\[${ADDR}\\]bob:online\\.\\.\\.$`, 'm'));
  t.false(out.includes('> '), 'no prompt without a terminal');
});

test('chat mode, piped: /history 3 prints the last three lines said, and no protocol marker; exit 0', async (t) => {
  const { port } = await startServer(t, { lang: 'en' });
  const bob = await observer(t, port, 'bob');
  for (const text of ['one', 'two', 'three', 'four']) {
    await bob.send(text);
    await bob.expectLine(new RegExp(`bob:${text}$`));
  }
  const run = client(t, ['--port', String(port), '--chat', '--lang', 'en'], '/history 3\n/quit\n');
  t.is(await run.exit, 0, run.stderr());
  const out = run.stdout();
  // The last three events before the request: bob's last two lines and this client's join
  // (which it also got live, first).
  const join = String.raw`\[(${ADDR})\]\1:is online`;
  t.regex(out, new RegExp(`^${join}\n\\[${ADDR}\\]bob:three\n\\[${ADDR}\\]bob:four\n${join}\n$`, 'm'), out);
  t.false(out.includes('bob:two'), out);
  t.false(out.includes('history|'), out);
});

test('connection refused: the reference failure line and the reason on stderr, exit 1', async (t) => {
  const closed = net.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const { port } = closed.address() as net.AddressInfo;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const run = client(t, ['-port', String(port)], '');
  t.is(await run.exit, 1);
  t.is(run.stderr(), `>>>>>>>>链接服务器失败>>>>>>>>\n无法连接127.0.0.1:${port}:连接被拒绝 (ECONNREFUSED)\n`);
  t.is(run.stdout(), '');
});

test('kicked for idling: the notice, "the server closed the connection", exit 0 (stdin still open)', async (t) => {
  const { port } = await startServer(t, { idleTimeoutMs: 500 });
  const run = client(t, ['-port', String(port)]);
  t.is(await run.exit, 0, run.stderr());
  t.regex(run.stdout(), /^你被踢了\n服务器已断开连接\n$/m);
});

test('server shutdown: the notice, exit 0 (stdin still open)', async (t) => {
  const { server, port } = await startServer(t);
  const run = client(t, ['-port', String(port), '--chat']);
  await run.printed(/已上线\n/);
  await server.close(1000);
  t.is(await run.exit, 0, run.stderr());
  t.regex(run.stdout(), /^服务器正在关闭\n服务器已断开连接\n$/m);
});

test('a connection reset: the reason on stderr, exit 1', async (t) => {
  const sockets = new Set<net.Socket>();
  const rude = net.createServer((socket) => {
    sockets.add(socket);
    socket.write('[1.2.3.4:5]x:hello\n');
  });
  await new Promise<void>((resolve) => rude.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const socket of sockets) socket.destroy();
    rude.close();
  });
  const run = client(t, ['-port', String((rude.address() as net.AddressInfo).port), '--lang', 'en']);
  // Reset only once the client is surely connected and reading: a reset during the
  // handshake is a failed connect, another test.
  await run.printed('[1.2.3.4:5]x:hello\n');
  for (const socket of sockets) socket.resetAndDestroy();
  t.is(await run.exit, 1);
  t.is(run.stderr(), 'Connection to the server lost: connection reset (ECONNRESET)\n');
});

test('--help prints the usage and exits 0; a bad flag exits 1 with one message', async (t) => {
  const help = client(t, ['--help']);
  t.is(await help.exit, 0);
  t.regex(help.stdout(), /^Usage: rx-im-client/);
  t.regex(help.stdout(), /-ip HOST, --host HOST/);
  const bad = client(t, ['-port', 'nope']);
  t.is(await bad.exit, 1);
  t.is(bad.stderr(), "rx-im-client: --port must be a whole number from 1 to 65535, got 'nope'\nrx-im-client: try --help\n");
});

test('--version prints the version in package.json and exits 0, also from the transpiled copy', async (t) => {
  // compiledClient() runs from node_modules/.cache/: the version is found from there too.
  const { readFileSync } = await import('node:fs');
  const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  const run = client(t, ['--version']);
  t.is(await run.exit, 0);
  await run.printed(`${version}\n`);
  t.is(run.stdout(), `${version}\n`);
  t.is(run.stderr(), '');
});
