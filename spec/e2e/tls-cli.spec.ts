/**
 * rx-im-server with --tls-cert/--tls-key as a child process: the TLS port beside the plain
 * one and the web chat over HTTPS/WSS; --no-plain; a certificate or key that cannot be used is
 * one line on stderr and exit 1; SIGHUP reloads the pair without dropping anyone.
 */
import test, { ExecutionContext } from 'ava';
import { ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { certFiles, mint, writeCert } from '../helpers/certs';
import { withDataDir } from '../helpers/data-dir';
import { connect } from '../helpers/tcp';
import { connectTls, connectWss, httpsGet, presented } from '../tcp/connect-tls';

const ROOT = path.resolve(__dirname, '../..');
const TCP = /^rx-im-server listening on 127\.0\.0\.1:(\d+) \(tcp\)$/;
const TLS = /^rx-im-server listening on 127\.0\.0\.1:(\d+) \(tls\)$/;
const WEB = /^rx-im-server web chat on https:\/\/127\.0\.0\.1:(\d+)\/$/;
const DEADLINE_MS = 45_000;

interface Run {
  child: ChildProcess;
  stdout: string[];
  stderr: string[];
  exit: Promise<number | null>;
  /** The first `n` stdout lines, or fewer if the process ends first. */
  lines(n: number): Promise<string[]>;
  /** Resolves once a stderr line matches. */
  logged(pattern: RegExp): Promise<string>;
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
  const wakers = new Set<() => void>();
  const wake = () => wakers.forEach((w) => w());
  createInterface({ input: child.stdout }).on('line', (line) => {
    stdout.push(line);
    wake();
  });
  createInterface({ input: child.stderr }).on('line', (line) => {
    stderr.push(line);
    wake();
  });
  const exit = once(child, 'close').then(([code]) => code as number | null);
  let ended = false;
  void exit.then(() => {
    ended = true;
    wake();
  });
  const until = <T>(what: string, check: () => T | undefined): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        wakers.delete(waker);
        reject(new Error(`${what} within ${DEADLINE_MS} ms: ${JSON.stringify({ stdout, stderr })}`));
      }, DEADLINE_MS);
      const waker = () => {
        const value = check();
        if (value === undefined) return;
        clearTimeout(timer);
        wakers.delete(waker);
        resolve(value);
      };
      wakers.add(waker);
      waker();
    });
  return {
    child,
    stdout,
    stderr,
    exit,
    lines: (n) => until(`no ${n} stdout lines`, () => (stdout.length >= n || ended ? stdout.slice(0, n) : undefined)),
    logged: (pattern) => until(`no stderr line like ${String(pattern)}`, () => stderr.find((line) => pattern.test(line))),
  };
}

const portOf = (line: string, pattern: RegExp): number => Number(pattern.exec(line)?.[1]);

test('TLS beside plain, HTTPS and WSS; SIGHUP reloads the pair for new handshakes and keeps everyone connected', async (t) => {
  const files = certFiles(t);
  const { certFile, keyFile, minted } = files;
  const server = run(t, ['--port', '0', '--tls-port', '0', '--http-port', '0', '--lang', 'en', '--tls-cert', certFile, '--tls-key', keyFile]);
  const [tcpLine, tlsLine, webLine] = await server.lines(3);
  const [port, tlsPort, webPort] = [portOf(tcpLine, TCP), portOf(tlsLine, TLS), portOf(webLine, WEB)];
  t.true(port > 0 && tlsPort > 0 && webPort > 0, JSON.stringify([tcpLine, tlsLine, webLine]));
  await server.logged(
    new RegExp(`TLS certificate: CN=localhost \\(DNS:localhost, IP Address:127\\.0\\.0\\.1\\), valid until \\S+, sha256 ${minted.fingerprint256}$`),
  );

  const secure = await connectTls(tlsPort, { ca: minted.cert });
  t.teardown(() => secure.destroy());
  await secure.expectLine(`[${secure.addr}]${secure.addr}:is online`);
  const plain = await connect(port);
  t.teardown(() => plain.destroy());
  await plain.expectLine(`[${plain.addr}]${plain.addr}:is online`);
  await secure.expectLine(`[${plain.addr}]${plain.addr}:is online`);
  await secure.send('hello in private');
  t.is(await plain.nextLine(), `[${secure.addr}]${secure.addr}:hello in private`);
  t.is(await secure.nextLine(), `[${secure.addr}]${secure.addr}:hello in private`);
  const browser = await connectWss(webPort, minted.cert);
  t.teardown(() => browser.destroy());
  t.is(await browser.nextLine(), `[${browser.addr}]${browser.addr}:is online`);
  await secure.expectLine(`[${browser.addr}]${browser.addr}:is online`);
  await plain.expectLine(`[${browser.addr}]${browser.addr}:is online`);

  const renewed = mint();
  writeCert(files.dir, renewed);
  server.child.kill('SIGHUP');
  await server.logged(new RegExp(`SIGHUP: TLS certificate reloaded: CN=localhost .*sha256 ${renewed.fingerprint256}$`));
  t.is(await presented(tlsPort), renewed.fingerprint256);
  t.is((await httpsGet(webPort, '/', renewed.cert)).fingerprint256, renewed.fingerprint256);
  // Everyone connected before the reload is still here, and still talks.
  await secure.send('still here');
  t.is(await plain.nextLine(), `[${secure.addr}]${secure.addr}:still here`);
  t.is(await browser.nextLine(), `[${secure.addr}]${secure.addr}:still here`);
  t.is(await secure.nextLine(), `[${secure.addr}]${secure.addr}:still here`);

  fs.writeFileSync(keyFile, 'not a key\n');
  server.child.kill('SIGHUP');
  await server.logged(
    /SIGHUP: TLS certificate not reloaded \(still serving the one loaded before\): cannot use the TLS key .*key\.pem: it holds no PEM private key$/,
  );
  t.is(await presented(tlsPort), renewed.fingerprint256);

  server.child.kill('SIGTERM');
  t.is(await secure.nextLine(), 'The server is shutting down');
  t.is(await server.exit, 0);
});

test('--no-plain: the TLS port alone', async (t) => {
  const { certFile, keyFile, minted } = certFiles(t);
  // A port that was free a moment ago: nothing must listen on it.
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const plainPort = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));

  const server = run(t, ['--port', String(plainPort), '--tls-port', '0', '--no-web', '--no-plain', '--tls-cert', certFile, '--tls-key', keyFile]);
  const [first] = await server.lines(1);
  const tlsPort = portOf(first, TLS);
  t.true(tlsPort > 0, first);
  const secure = await connectTls(tlsPort, { ca: minted.cert });
  t.teardown(() => secure.destroy());
  await secure.expectLine(`[${secure.addr}]${secure.addr}:已上线`);
  const refused = await t.throwsAsync(connect(plainPort));
  t.is((refused as NodeJS.ErrnoException).code, 'ECONNREFUSED');
  server.child.kill('SIGTERM');
  t.is(await server.exit, 0);
  t.deepEqual(server.stdout, [first]);
});

/** Starts the server with these files and expects one line on stderr, nothing on stdout, exit 1. */
async function refuses(t: ExecutionContext, certFile: string, keyFile: string, expected: RegExp): Promise<void> {
  const server = run(t, ['--port', '0', '--tls-port', '0', '--no-web', '--tls-cert', certFile, '--tls-key', keyFile]);
  t.is(await server.exit, 1);
  t.is(server.stderr.length, 1, server.stderr.join('\n'));
  t.regex(server.stderr[0], expected);
  t.deepEqual(server.stdout, []);
}

test('a missing certificate: one line, exit 1', async (t) => {
  const { dir, keyFile } = certFiles(t);
  const missing = path.join(dir, 'missing.pem');
  await refuses(t, missing, keyFile, new RegExp(`^rx-im-server: cannot read the TLS certificate ${missing}: no such file$`));
});

test('a key file that holds no key: one line, exit 1', async (t) => {
  const { certFile } = certFiles(t);
  await refuses(t, certFile, certFile, new RegExp(`^rx-im-server: cannot use the TLS key ${certFile}: it holds no PEM private key$`));
});

test('a certificate and a key that do not belong together: one line, exit 1', async (t) => {
  const { dir, certFile } = certFiles(t);
  const other = writeCert(dir, mint(), 'other-');
  await refuses(t, certFile, other.keyFile, new RegExp(`^rx-im-server: the TLS certificate ${certFile} and the key ${other.keyFile} do not belong together$`));
});

test('a TLS port in use: one line naming --tls-port, exit 1', async (t) => {
  const { certFile, keyFile } = certFiles(t);
  const taken = net.createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  t.teardown(() => taken.close());
  const port = (taken.address() as net.AddressInfo).port;
  const server = run(t, ['--port', '0', '--tls-port', String(port), '--no-web', '--tls-cert', certFile, '--tls-key', keyFile]);
  t.is(await server.exit, 1);
  t.deepEqual(
    server.stderr.filter((line) => line.startsWith('rx-im-server: ')),
    [`rx-im-server: port in use: 127.0.0.1:${port} is already taken (another server running? try --tls-port)`],
  );
});
