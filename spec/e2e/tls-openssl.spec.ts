/**
 * The TLS port with OpenSSL's own tools, as an operator would use them: the README's `openssl
 * req` recipe makes a pair the server takes, `openssl s_client` is the TLS `nc` (the seed's
 * bytes, both ways), and OpenSSL accepts the certificates spec/helpers/certs.ts mints. Skipped,
 * saying so, where the `openssl` package is not installed.
 */
import test, { ExecutionContext } from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import { ChatServer } from '../../lib/server';
import { TlsCertificate } from '../../lib/tcp/tls';
import { mint, tempDir, writeCert } from '../helpers/certs';
import { connect } from '../helpers/tcp';
import { waitFor } from '../helpers/server';

const OPENSSL = spawnSync('openssl', ['version'], { encoding: 'utf8' });
const present = OPENSSL.status === 0;
const DEADLINE_MS = 10_000;

function openssl(args: string[], cwd: string): string {
  const result = spawnSync('openssl', args, { cwd, encoding: 'utf8', timeout: DEADLINE_MS });
  if (result.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
}

/** `openssl s_client` as a line client: its stdout lines, and its stdin. */
function sClient(t: ExecutionContext, port: number, caFile: string) {
  // -quiet: only the application's bytes on stdout; -no_ign_eof: leave when stdin ends, as nc does.
  const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, '-CAfile', caFile, '-verify_return_error', '-quiet', '-no_ign_eof']);
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const lines: string[] = [];
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  createInterface({ input: child.stdout }).on('line', (line) => lines.push(line));
  const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const line = async (index: number): Promise<string> => {
    await waitFor(`s_client's line ${index + 1} (stderr: ${stderr})`, () => lines.length > index, DEADLINE_MS);
    return lines[index];
  };
  return { child, lines, line, exit, stderr: () => stderr };
}

if (!present) {
  test.skip('openssl s_client and openssl req against the TLS port: SKIPPED, needs the `openssl` package (no openssl on PATH)', () => {});
} else {
  test('the README recipe: openssl req makes a pair the server takes; openssl s_client talks the line protocol with a plain user', async (t) => {
    const dir = tempDir(t);
    // Exactly the README's command.
    openssl(
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        'key.pem',
        '-out',
        'cert.pem',
      ],
      dir,
    );
    const loaded = TlsCertificate.load(path.join(dir, 'cert.pem'), path.join(dir, 'key.pem'));
    if (!loaded.ok) return t.fail(loaded.error);
    const logs: string[] = [];
    const server = new ChatServer({ host: '127.0.0.1', port: 0, history: false, log: (l) => logs.push(l) });
    const { port } = await server.listen();
    const { port: tlsPort } = await server.listenTls({ certificate: loaded.value, port: 0 });
    t.teardown(() => server.close(100));

    const s = sClient(t, tlsPort, path.join(dir, 'cert.pem'));
    const joined = await s.line(0);
    const addr = /^\[(127\.0\.0\.1:\d+)\]\1:已上线$/.exec(joined)?.[1];
    t.truthy(addr, joined);
    const plain = await connect(port);
    t.teardown(() => plain.destroy());
    await plain.expectLine(`[${plain.addr}]${plain.addr}:已上线`);
    t.is(await s.line(1), `[${plain.addr}]${plain.addr}:已上线`);

    s.child.stdin.write('who\n');
    const listed = [await s.line(2), await s.line(3)].sort();
    t.deepEqual(listed, [`[${addr}]${addr}:在线...`, `[${plain.addr}]${plain.addr}:在线...`].sort());
    s.child.stdin.write('你好,TLS\n');
    t.is(await plain.nextLine(), `[${addr}]${addr}:你好,TLS`);
    await plain.send('hello, s_client');
    t.is(await plain.nextLine(), `[${plain.addr}]${plain.addr}:hello, s_client`);
    await waitFor("the plain user's line", () => s.lines.includes(`[${plain.addr}]${plain.addr}:hello, s_client`), DEADLINE_MS);

    s.child.stdin.end();
    t.is(await s.exit, 0, s.stderr());
    t.is(await plain.nextLine(), `[${addr}]${addr}:已下线`);
    await waitFor('the log line', () => logs.includes(`disconnected ${addr}`));
  });

  test('openssl s_client refuses a certificate its CA file does not vouch for, and the server logs why', async (t) => {
    const dir = tempDir(t);
    const served = writeCert(dir, mint(), 'served-');
    const other = writeCert(dir, mint(), 'other-');
    const loaded = TlsCertificate.load(served.certFile, served.keyFile);
    if (!loaded.ok) return t.fail(loaded.error);
    const logs: string[] = [];
    const server = new ChatServer({ host: '127.0.0.1', port: 0, history: false, log: (l) => logs.push(l) });
    const { port: tlsPort } = await server.listenTls({ certificate: loaded.value, port: 0 });
    t.teardown(() => server.close(100));
    const s = sClient(t, tlsPort, other.certFile);
    t.not(await s.exit, 0);
    t.regex(s.stderr(), /self-signed certificate|certificate verify failed/);
    t.deepEqual(s.lines, []);
    await waitFor('the log line', () =>
      logs.some((l) => /^tls handshake failed 127\.0\.0\.1:\d+: tlsv1 alert unknown ca \(ERR_SSL_TLSV1_ALERT_UNKNOWN_CA\)$/.test(l)),
    );
    t.is(server.connections, 0);
  });

  test('OpenSSL verifies what spec/helpers/certs.ts mints: a self-signed certificate, and one signed by a CA, with the names asked', (t) => {
    const dir = tempDir(t);
    const ca = mint({ cn: 'rx-im test CA', ca: true, dns: [], ips: [] });
    writeCert(dir, ca, 'ca-');
    writeCert(dir, mint({ issuer: ca }), 'leaf-');
    writeCert(dir, mint(), 'self-');
    t.is(openssl(['verify', '-CAfile', 'ca-cert.pem', 'leaf-cert.pem'], dir), 'leaf-cert.pem: OK\n');
    t.is(openssl(['verify', '-CAfile', 'self-cert.pem', 'self-cert.pem'], dir), 'self-cert.pem: OK\n');
    const text = openssl(['x509', '-in', 'leaf-cert.pem', '-noout', '-subject', '-issuer', '-ext', 'subjectAltName,basicConstraints'], dir);
    t.regex(text, /subject=CN = localhost/);
    t.regex(text, /issuer=CN = rx-im test CA/);
    t.regex(text, /DNS:localhost, IP Address:127\.0\.0\.1/);
    t.regex(text, /CA:FALSE/);
    t.throws(() => openssl(['verify', '-CAfile', 'self-cert.pem', 'leaf-cert.pem'], dir));
  });
}
