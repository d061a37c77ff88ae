/**
 * The line protocol and the web chat over TLS, in process, on 127.0.0.1 and port 0, with a
 * certificate minted for the test: TLS and plain users in one chat under the same limits;
 * handshakes that fail are dropped and logged without touching anyone else; a reload changes
 * what new handshakes see and leaves open connections alone; HTTPS and WSS on the web port.
 */
import test, { ExecutionContext } from 'ava';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { ChatServer, ServerOptions } from '../../lib/server';
import { Outbox } from '../../lib/outbox';
import type { Peer } from '../../lib/peer';
import { TlsCertificate, listenTls } from '../../lib/tcp/tls';
import { startWeb } from '../../lib/web';
import { certFiles, CertFiles, mint, writeCert } from '../helpers/certs';
import { connect } from '../helpers/tcp';
import { waitFor } from '../helpers/server';
import { connectTls, connectWss, handshake, httpsGet, presented } from '../tcp/connect-tls';

function load(files: { certFile: string; keyFile: string }): TlsCertificate {
  const loaded = TlsCertificate.load(files.certFile, files.keyFile);
  if (!loaded.ok) throw new Error(loaded.error);
  return loaded.value;
}

interface Both {
  server: ChatServer;
  port: number;
  tlsPort: number;
  certificate: TlsCertificate;
  files: CertFiles;
  logs: string[];
}

/** A server with a plain port and a TLS port, English unless told, closed after the test. */
async function startBoth(t: ExecutionContext, options: ServerOptions = {}, handshakeTimeoutMs?: number): Promise<Both> {
  const files = certFiles(t);
  const certificate = load(files);
  const logs: string[] = [];
  const server = new ChatServer({ host: '127.0.0.1', port: 0, lang: 'en', history: false, log: (l) => logs.push(l), ...options });
  const { port } = await server.listen();
  const { port: tlsPort } = await server.listenTls({ certificate, port: 0, handshakeTimeoutMs });
  t.teardown(() => server.close(100));
  return { server, port, tlsPort, certificate, files, logs };
}

test('a TLS user and a plain user share the chat: joins, messages both ways, who, a private message', async (t) => {
  const { port, tlsPort, files } = await startBoth(t);
  const secure = await connectTls(tlsPort, { ca: files.minted.cert });
  t.teardown(() => secure.destroy());
  await secure.expectLine(`[${secure.addr}]${secure.addr}:is online`);
  const plain = await connect(port);
  t.teardown(() => plain.destroy());
  await plain.expectLine(`[${plain.addr}]${plain.addr}:is online`);
  await secure.expectLine(`[${plain.addr}]${plain.addr}:is online`);

  await secure.send('over tls');
  t.is(await plain.nextLine(), `[${secure.addr}]${secure.addr}:over tls`);
  t.is(await secure.nextLine(), `[${secure.addr}]${secure.addr}:over tls`);
  await plain.send('in clear');
  t.is(await secure.nextLine(), `[${plain.addr}]${plain.addr}:in clear`);
  t.is(await plain.nextLine(), `[${plain.addr}]${plain.addr}:in clear`);

  t.deepEqual((await secure.who()).sort(), [`[${plain.addr}]${plain.addr}:online...`, `[${secure.addr}]${secure.addr}:online...`].sort());
  await plain.send(`to|${secure.addr}|psst`);
  t.is(await secure.nextLine(), `${plain.addr} : psst`);
});

test("zh by default: the seed's own bytes over TLS", async (t) => {
  const { tlsPort, files } = await startBoth(t, { lang: 'zh' });
  const secure = await connectTls(tlsPort, { ca: files.minted.cert });
  t.teardown(() => secure.destroy());
  await secure.expectLine(`[${secure.addr}]${secure.addr}:已上线`);
  await secure.send('你好');
  t.is(await secure.nextLine(), `[${secure.addr}]${secure.addr}:你好`);
});

test('the TLS port hands the server peers marked secure, named by their address', async (t) => {
  const files = certFiles(t);
  const accepted: Peer[] = [];
  const listener = await listenTls(
    (peer) => accepted.push(peer),
    { host: '127.0.0.1', port: 0, maxLineBytes: 64, outbox: new Outbox(), certificate: load(files) },
    () => {},
  );
  t.teardown(() => listener.close());
  const socket = await handshake(listener.port, { ca: files.minted.cert });
  t.teardown(() => socket.destroy());
  await waitFor('the peer', () => accepted.length === 1);
  t.is(accepted[0].secure, true);
  t.is(accepted[0].addr, `127.0.0.1:${socket.localPort}`);
});

test('one per-IP limit for both ports, and the idle kick over TLS', async (t) => {
  const { server, port, tlsPort, files } = await startBoth(t, { maxConnectionsPerIp: 1, idleTimeoutMs: 400 });
  const plain = await connect(port);
  t.teardown(() => plain.destroy());
  await plain.expectLine(/is online$/);
  const refused = await connectTls(tlsPort, { ca: files.minted.cert });
  t.teardown(() => refused.destroy());
  t.deepEqual(await refused.rest(), ['Too many connections from your address']);

  await plain.end();
  // Our side closed first: the server may not have seen it yet, and would still count it.
  await waitFor('the server to let go of both', () => server.connections === 0);
  const secure = await connectTls(tlsPort, { ca: files.minted.cert });
  t.teardown(() => secure.destroy());
  await secure.expectLine(/is online$/);
  t.deepEqual(await secure.rest(), ['You were kicked (idle too long)']);
});

test('a client speaking no TLS to the TLS port is dropped and logged; TLS users go on', async (t) => {
  const { tlsPort, files, logs } = await startBoth(t);
  const secure = await connectTls(tlsPort, { ca: files.minted.cert });
  t.teardown(() => secure.destroy());
  await secure.expectLine(/is online$/);
  const clear = await connect(tlsPort);
  t.teardown(() => clear.destroy());
  // A line longer than a TLS record header: OpenSSL waits for a whole header before it refuses.
  await clear.send('who is there?');
  t.deepEqual(await clear.rest(), []);
  await waitFor('the log line', () => logs.some((l) => l.startsWith(`tls handshake failed ${clear.addr}: `)));
  t.false(
    logs.some((l) => l.includes(`connected ${clear.addr}`)),
    logs.join('\n'),
  );
  t.deepEqual(await secure.who(), [`[${secure.addr}]${secure.addr}:online...`]);
});

test('a client that refuses the certificate goes, and the chat goes on', async (t) => {
  const { tlsPort, files, server } = await startBoth(t);
  const secure = await connectTls(tlsPort, { ca: files.minted.cert });
  t.teardown(() => secure.destroy());
  await secure.expectLine(/is online$/);
  // Node checks the certificate once its handshake is done, so the server may see it arrive and leave.
  const error = await t.throwsAsync(handshake(tlsPort, { ca: mint().cert }));
  t.is((error as NodeJS.ErrnoException).code, 'DEPTH_ZERO_SELF_SIGNED_CERT');
  await waitFor('only one connection', () => server.connections === 1);
  t.deepEqual(await secure.who(), [`[${secure.addr}]${secure.addr}:online...`]);
});

test('a connection that never starts its handshake is dropped after the handshake timeout', async (t) => {
  const { tlsPort, logs } = await startBoth(t, {}, 300);
  const silent = await connect(tlsPort);
  t.teardown(() => silent.destroy());
  await silent.closed;
  t.true(logs.includes(`tls handshake failed ${silent.addr}: no handshake within 300 ms`), logs.join('\n'));
});

test('shutting down does not wait for connections still in their handshake', async (t) => {
  const { server, tlsPort } = await startBoth(t, {}, 60_000);
  const silent = await connect(tlsPort);
  t.teardown(() => silent.destroy());
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still waiting after 3 s'), 3000)));
  t.is(await Promise.race([server.close(100).then(() => 'closed'), late]), 'closed');
  clearTimeout(timer);
  await silent.closed;
});

test('reload: new handshakes see the new certificate, open connections stay and chat on', async (t) => {
  const { tlsPort, certificate, files } = await startBoth(t);
  const before = await connectTls(tlsPort, { ca: files.minted.cert });
  t.teardown(() => before.destroy());
  await before.expectLine(/is online$/);
  t.is(await presented(tlsPort), files.minted.fingerprint256);

  const renewed = mint();
  writeCert(files.dir, renewed);
  const reloaded = certificate.reload();
  t.true(reloaded.ok);
  t.is(reloaded.ok && reloaded.value.fingerprint256, renewed.fingerprint256);
  t.is(await presented(tlsPort), renewed.fingerprint256);

  const after = await connectTls(tlsPort, { ca: renewed.cert });
  t.teardown(() => after.destroy());
  await after.expectLine(/is online$/);
  await before.expectLine(`[${after.addr}]${after.addr}:is online`);
  await before.send('still here');
  t.is(await after.nextLine(), `[${before.addr}]${before.addr}:still here`);
  // The old certificate no longer opens a connection.
  await t.throwsAsync(handshake(tlsPort, { ca: files.minted.cert }));
});

test('a reload from broken files changes nothing and says why', async (t) => {
  const { tlsPort, certificate, files } = await startBoth(t);
  fs.writeFileSync(files.keyFile, mint().key); // a key of another certificate
  const reloaded = certificate.reload();
  t.false(reloaded.ok);
  t.regex(reloaded.ok ? '' : reloaded.error, /do not belong together/);
  t.is(await presented(tlsPort), files.minted.fingerprint256);
  t.is(certificate.info.fingerprint256, files.minted.fingerprint256);
});

test("the web chat over HTTPS and WSS, with the page's https origin, in the same chat as TLS users", async (t) => {
  const { server, tlsPort, certificate, files } = await startBoth(t);
  const web = await startWeb(server, { host: '127.0.0.1', port: 0, maxLineBytes: 4096, tls: certificate });
  t.teardown(() => web.close());
  const page = await httpsGet(web.port, '/', files.minted.cert);
  t.is(page.status, 200);
  t.regex(page.body, /<title>rx-im<\/title>/);
  t.is(page.fingerprint256, files.minted.fingerprint256);

  const browser = await connectWss(web.port, files.minted.cert);
  t.teardown(() => browser.destroy());
  t.is(await browser.nextLine(), `[${browser.addr}]${browser.addr}:is online`);
  const secure = await connectTls(tlsPort, { ca: files.minted.cert });
  t.teardown(() => secure.destroy());
  await secure.expectLine(/is online$/);
  t.is(await browser.nextLine(), `[${secure.addr}]${secure.addr}:is online`);
  browser.send('from the page');
  t.is(await secure.nextLine(), `[${browser.addr}]${browser.addr}:from the page`);

  // The origin's scheme counts: a page served over http is not this server's https page.
  await t.throwsAsync(connectWss(web.port, files.minted.cert, `http://127.0.0.1:${web.port}`), { message: 'HTTP 403' });
  // Nothing is served in clear on the HTTPS port.
  const clear = await new Promise<string>((resolve) => {
    const socket = net.connect(web.port, '127.0.0.1', () => socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${web.port}\r\n\r\n`));
    let got = '';
    socket
      .on('data', (chunk) => (got += chunk.toString('latin1')))
      .on('close', () => resolve(got))
      .on('error', () => undefined);
  });
  t.notRegex(clear, /rx-im/);

  // One reload reaches the HTTPS server too.
  const renewed = mint();
  writeCert(files.dir, renewed);
  t.true(certificate.reload().ok);
  t.is((await httpsGet(web.port, '/', renewed.cert)).fingerprint256, renewed.fingerprint256);
});

test('WSS peers are marked secure, ws ones are not', async (t) => {
  const { server, certificate, files } = await startBoth(t);
  const seen: (boolean | undefined)[] = [];
  const accept = server.accept.bind(server);
  server.accept = (peer, transport) => {
    seen.push(peer.secure);
    accept(peer, transport);
  };
  const web = await startWeb(server, { host: '127.0.0.1', port: 0, maxLineBytes: 4096, tls: certificate });
  t.teardown(() => web.close());
  const browser = await connectWss(web.port, files.minted.cert);
  t.teardown(() => browser.destroy());
  await browser.nextLine();
  const plainWeb = await startWeb(server, { host: '127.0.0.1', port: 0, maxLineBytes: 4096 });
  t.teardown(() => plainWeb.close());
  const { connectWs } = await import('../web/ws-client');
  const clear = await connectWs(plainWeb.port);
  t.teardown(() => clear.destroy());
  await clear.nextLine();
  t.deepEqual(seen, [true, undefined]);
});
