/**
 * rx-im-client --tls as a child process against an in-process server's TLS port: trusting the
 * server's own self-signed certificate or its CA with --ca, or nothing with --insecure; and
 * refused, with the reason on stderr and exit 1, when the certificate cannot be trusted, names
 * another host, or the port speaks no TLS.
 */
import test, { ExecutionContext } from 'ava';
import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import * as path from 'node:path';
import { ChatServer } from '../../lib/server';
import { TlsCertificate } from '../../lib/tcp/tls';
import { certFiles, CertFiles, MintOptions, mint, tempDir, writeCert } from '../helpers/certs';
import { connect, TcpClient } from '../helpers/tcp';
import { waitFor } from '../helpers/server';
import { compiledClient, removeCompiledClient } from '../client/compiled';

const ROOT = path.resolve(__dirname, '../..');
const DEADLINE_MS = 10_000;

test.after.always(removeCompiledClient);

interface Run {
  readonly child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  readonly exit: Promise<number | null>;
}

function client(t: ExecutionContext, args: readonly string[], input: string): Run {
  const child = spawn(process.execPath, [compiledClient(), ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '' } });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  child.stdin.on('error', () => undefined);
  child.stdin.end(input);
  let timer: NodeJS.Timeout | undefined;
  const exit = Promise.race([
    new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code))),
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the client did not exit within ${DEADLINE_MS} ms; stdout: ${JSON.stringify(out)}; stderr: ${JSON.stringify(err)}`)),
        DEADLINE_MS,
      );
    }),
  ]).finally(() => clearTimeout(timer));
  return { child, stdout: () => out, stderr: () => err, exit };
}

interface Chat {
  server: ChatServer;
  port: number;
  tlsPort: number;
  files: CertFiles;
}

/** A server with a plain port and a TLS port presenting a certificate minted with `mintOptions`. */
async function startChat(t: ExecutionContext, mintOptions: MintOptions = {}, lang: 'zh' | 'en' = 'en'): Promise<Chat> {
  const files = certFiles(t, mintOptions);
  const loaded = TlsCertificate.load(files.certFile, files.keyFile);
  if (!loaded.ok) throw new Error(loaded.error);
  const server = new ChatServer({ host: '127.0.0.1', port: 0, lang, history: false });
  const { port } = await server.listen();
  const { port: tlsPort } = await server.listenTls({ certificate: loaded.value, port: 0 });
  t.teardown(() => server.close(100));
  return { server, port, tlsPort, files };
}

async function observer(t: ExecutionContext, port: number): Promise<TcpClient> {
  const user = await connect(port);
  t.teardown(() => user.destroy());
  await user.expectLine(/is online$|已上线$/);
  return user;
}

const ADDR = String.raw`127\.0\.0\.1:\d+`;

test("--tls --ca with the server's own self-signed certificate: chat mode over TLS, seen by a plain user", async (t) => {
  const { port, tlsPort, files } = await startChat(t);
  const plain = await observer(t, port);
  const run = client(t, ['--tls', '--ca', files.certFile, '--port', String(tlsPort), '--chat', '--lang', 'en'], 'hello over tls\n/quit\n');
  t.is(await run.exit, 0, run.stderr());
  await plain.expectLine(new RegExp(`^\\[${ADDR}\\]${ADDR}:is online$`));
  await plain.expectLine(new RegExp(`^\\[${ADDR}\\]${ADDR}:hello over tls$`));
  t.regex(run.stdout(), /^>>>>>>>>Connected to the server>>>>>>>>>\n/);
  t.regex(run.stdout(), new RegExp(`^\\[${ADDR}\\]${ADDR}:hello over tls$`, 'm'));
  t.is(run.stderr(), '');
});

test("--tls --ca with the CA that signed the server's certificate, reaching it by name (localhost), menu mode", async (t) => {
  const dir = tempDir(t);
  const ca = mint({ cn: 'rx-im test CA', ca: true, dns: [], ips: [] });
  const { certFile: caFile } = writeCert(dir, ca, 'ca-');
  const { tlsPort, port } = await startChat(t, { issuer: ca, dns: ['localhost'], ips: [] });
  const plain = await observer(t, port);
  const run = client(t, ['--tls', '--ca', caFile, '-ip', 'localhost', '-port', String(tlsPort)], '1\nsigned by a CA\nexit\n0\n');
  t.is(await run.exit, 0, run.stderr());
  await plain.expectLine(/is online$/);
  await plain.expectLine(/:signed by a CA$/);
});

test('--tls --insecure: connects to a certificate nobody vouches for, and says that it did not check', async (t) => {
  const { port, tlsPort } = await startChat(t);
  const plain = await observer(t, port);
  const run = client(t, ['--tls', '--insecure', '--port', String(tlsPort), '--chat', '--lang', 'en'], 'unchecked\n/quit\n');
  t.is(await run.exit, 0, run.stderr());
  await plain.expectLine(/is online$/);
  await plain.expectLine(/:unchecked$/);
  t.is(run.stderr(), "rx-im-client: --insecure: the server's certificate is not checked\n");
});

for (const lang of ['zh', 'en'] as const) {
  test(`[${lang}] --tls alone against a self-signed certificate: refused, the reason on stderr, exit 1; the server keeps no user`, async (t) => {
    const { tlsPort, server } = await startChat(t, {}, lang);
    const run = client(t, ['--tls', '--port', String(tlsPort), '--lang', lang], '');
    t.is(await run.exit, 1);
    const expected =
      lang === 'zh'
        ? `>>>>>>>>链接服务器失败>>>>>>>>\n无法连接127.0.0.1:${tlsPort}:self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)\n`
        : `>>>>>>>>Could not connect to the server>>>>>>>>\ncannot connect to 127.0.0.1:${tlsPort}: self-signed certificate (DEPTH_ZERO_SELF_SIGNED_CERT)\n`;
    t.is(run.stderr(), expected);
    t.is(run.stdout(), '');
    await waitFor('no connection left', () => server.connections === 0);
  });
}

test('--tls --ca with some other certificate: refused too', async (t) => {
  const { tlsPort } = await startChat(t);
  const { certFile: otherFile } = writeCert(tempDir(t), mint());
  const run = client(t, ['--tls', '--ca', otherFile, '--port', String(tlsPort), '--lang', 'en'], '');
  t.is(await run.exit, 1);
  t.regex(
    run.stderr(),
    /^>>>>>>>>Could not connect to the server>>>>>>>>\ncannot connect to 127\.0\.0\.1:\d+: self-signed certificate \(DEPTH_ZERO_SELF_SIGNED_CERT\)\n$/,
  );
});

test('a certificate for another name: refused, naming the mismatch', async (t) => {
  const { tlsPort, files } = await startChat(t, { cn: 'chat.test', dns: ['chat.test'], ips: [] });
  const run = client(t, ['--tls', '--ca', files.certFile, '--port', String(tlsPort), '--lang', 'en'], '');
  t.is(await run.exit, 1);
  t.regex(
    run.stderr(),
    /cannot connect to 127\.0\.0\.1:\d+: Hostname\/IP does not match certificate's altnames: IP: 127\.0\.0\.1 is not in the cert's list.* \(ERR_TLS_CERT_ALTNAME_INVALID\)\n$/,
  );
});

test('--tls to a port that speaks no TLS: refused, saying so', async (t) => {
  const { port } = await startChat(t);
  const run = client(t, ['--tls', '--insecure', '--port', String(port), '--lang', 'en'], '');
  t.is(await run.exit, 1);
  t.regex(run.stderr(), /cannot connect to 127\.0\.0\.1:\d+: wrong version number \(ERR_SSL_WRONG_VERSION_NUMBER\)\n$/);
});

test('a --ca file that is missing or holds no certificate: one line, exit 1, no connection', async (t) => {
  const { tlsPort, server, files } = await startChat(t);
  const missing = path.join(files.dir, 'missing.pem');
  const gone = client(t, ['--tls', '--ca', missing, '--port', String(tlsPort)], '');
  t.is(await gone.exit, 1);
  t.is(gone.stderr(), `rx-im-client: cannot read the TLS CA file ${missing}: no such file\n`);
  const notCert = client(t, ['--tls', '--ca', files.keyFile, '--port', String(tlsPort)], '');
  t.is(await notCert.exit, 1);
  t.is(notCert.stderr(), `rx-im-client: the CA file ${files.keyFile} holds no PEM certificate (-----BEGIN CERTIFICATE-----)\n`);
  t.is(server.connections, 0);
});

test('--ca without --tls is a flag error', async (t) => {
  const run = client(t, ['--ca', 'server.pem'], '');
  t.is(await run.exit, 1);
  t.is(run.stderr(), 'rx-im-client: --ca needs --tls\nrx-im-client: try --help\n');
});
