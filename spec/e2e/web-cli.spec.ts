/**
 * The server CLI's web chat: `--http-port` serves the page and prints its address after the
 * TCP line, `--no-web` turns it off, a taken HTTP port exits 1, and signals close it.
 */
import test, { ExecutionContext } from 'ava';
import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import * as net from 'node:net';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { connectWs } from '../web/ws-client';
import { withDataDir } from '../helpers/data-dir';

const ROOT = path.resolve(__dirname, '../..');
const TCP = /^rx-im-server listening on (\S+):(\d+) \(tcp\)$/;
const WEB = /^rx-im-server web chat on http:\/\/127\.0\.0\.1:(\d+)\/$/;

interface Run {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  exit: Promise<number | null>;
  /** Resolves with the first `n` stdout lines, or with fewer if the process ends first. */
  lines(n: number): Promise<string[]>;
}

function run(t: ExecutionContext, args: string[]): Run {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'cli/server.ts', ...withDataDir(t, args)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  let wake = () => {};
  createInterface({ input: child.stdout }).on('line', (line) => {
    stdout.push(line);
    wake();
  });
  createInterface({ input: child.stderr }).on('line', (line) => stderr.push(line));
  const exit = once(child, 'close').then(([code]) => code as number | null);
  let ended = false;
  void exit.then(() => {
    ended = true;
    wake();
  });
  const lines = (n: number) =>
    new Promise<string[]>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${n} stdout lines within 45 s: ${JSON.stringify({ stdout, stderr })}`)), 45_000);
      wake = () => {
        if (stdout.length >= n || ended) {
          clearTimeout(timer);
          resolve(stdout.slice(0, n));
        }
      };
      wake();
    });
  return { child, stdout, stderr, exit, lines };
}

test('prints the web address after the TCP line, serves the page and the chat, and closes on SIGTERM', async (t) => {
  const server = run(t, ['--port', '0', '--http-port', '0', '--lang', 'en']);
  const [tcpLine, webLine] = await server.lines(2);
  t.regex(tcpLine, TCP);
  const port = Number(webLine.match(WEB)?.[1]);
  t.true(port > 0, webLine);
  const page = await fetch(`http://127.0.0.1:${port}/`);
  t.is(page.status, 200);
  t.regex(await page.text(), /<title>rx-im<\/title>/);
  const browser = await connectWs(port);
  t.teardown(() => browser.destroy());
  t.regex(await browser.nextLine(), /is online$/);
  server.child.kill('SIGTERM');
  t.is(await browser.nextLine(), 'The server is shutting down');
  t.is(await server.exit, 0);
});

test('--no-web: TCP only, no second line, nothing on the HTTP side', async (t) => {
  const server = run(t, ['--port', '0', '--no-web']);
  const [tcpLine] = await server.lines(1);
  t.regex(tcpLine, TCP);
  // The TCP side answers, so the process is up; it printed nothing about the web.
  const port = Number(tcpLine.match(TCP)?.[2]);
  const socket = net.connect({ port, host: '127.0.0.1' });
  t.teardown(() => socket.destroy());
  await once(socket, 'data');
  t.deepEqual(server.stdout, [tcpLine]);
  server.child.kill('SIGINT');
  t.is(await server.exit, 0);
});

test('a taken HTTP port: one line on stderr, exit 1', async (t) => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => blocker.close());
  const taken = (blocker.address() as net.AddressInfo).port;
  const server = run(t, ['--port', '0', '--http-port', String(taken)]);
  t.is(await server.exit, 1);
  t.deepEqual(server.stderr, [`rx-im-server: port in use: 127.0.0.1:${taken} is already taken (try --http-port, or --no-web)`]);
});
