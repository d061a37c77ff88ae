/**
 * TLS connections are counted from their accept, not from the end of their handshake (issue 13,
 * item 1's class of bug on the TLS ports): a host that opens connections and never finishes a
 * handshake holds descriptors, so they count against `--max-connections-per-ip` on the chat's
 * TLS port; one refused at accept does not keep its descriptor for the whole handshake timeout;
 * the HTTPS web port drops an unfinished handshake after its own short timeout. On 127.0.0.1,
 * port 0, with a certificate minted for the test and short timeouts passed as options.
 */
import test, { ExecutionContext } from 'ava';
import { Admission, Refusal } from '../../lib/admission';
import { Outbox } from '../../lib/outbox';
import { ChatServer, ServerOptions } from '../../lib/server';
import { TlsCertificate, listenTls } from '../../lib/tcp/tls';
import { startWeb } from '../../lib/web';
import { certFiles, CertFiles } from '../helpers/certs';
import { waitFor } from '../helpers/server';
import { connect, TcpClient } from '../helpers/tcp';
import { connectTls } from '../tcp/connect-tls';

function load(files: CertFiles): TlsCertificate {
  const loaded = TlsCertificate.load(files.certFile, files.keyFile);
  if (!loaded.ok) throw new Error(loaded.error);
  return loaded.value;
}

/** Whether `client` is closed within `ms`: a wait bounded well below what the bug would take. */
async function closedWithin(client: TcpClient, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([client.closed.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Raw TCP connections to `port` that never say a word (no ClientHello): each destroyed after the test. */
async function silent(t: ExecutionContext, port: number, n: number): Promise<TcpClient[]> {
  const clients: TcpClient[] = [];
  for (let i = 0; i < n; i++) {
    const client = await connect(port);
    t.teardown(() => client.destroy());
    clients.push(client);
  }
  return clients;
}

async function startServer(t: ExecutionContext, options: ServerOptions) {
  const files = certFiles(t);
  const certificate = load(files);
  const server = new ChatServer({ host: '127.0.0.1', port: 0, lang: 'en', history: false, ...options });
  const { port } = await server.listen();
  const { port: tlsPort } = await server.listenTls({ certificate, port: 0, handshakeTimeoutMs: 60_000 });
  t.teardown(() => server.close(100));
  return { server, port, tlsPort, certificate, files };
}

test('connections that never finish their TLS handshake count against the per-IP limit, on every port', async (t) => {
  const { server, port, tlsPort, files } = await startServer(t, { maxConnectionsPerIp: 3 });
  const stalled = await silent(t, tlsPort, 3);
  await waitFor('the stalled handshakes counted', () => server.admission.from('127.0.0.1') === 3);
  t.is(server.connections, 0); // no session yet: counted as sockets, not as users

  const secure = await connectTls(tlsPort, { ca: files.minted.cert });
  t.teardown(() => secure.destroy());
  t.deepEqual(await secure.rest(), ['Too many connections from your address']);
  const plain = await connect(port);
  t.teardown(() => plain.destroy());
  t.deepEqual(await plain.rest(), ['Too many connections from your address']);

  // Their places are freed when they go, as any connection's.
  for (const client of stalled) client.destroy();
  await waitFor('the stalled handshakes released', () => server.admission.from('127.0.0.1') === 0);
  const welcome = await connectTls(tlsPort, { ca: files.minted.cert });
  t.teardown(() => welcome.destroy());
  await welcome.expectLine(/is online$/);
  t.is(server.admission.from('127.0.0.1'), 1);
});

test('a TLS connection refused at accept that does not finish its handshake is dropped after its short deadline, and reported once', async (t) => {
  const files = certFiles(t);
  const admission = new Admission({ maxConnections: 10, maxConnectionsPerIp: 1, maxWebConnections: 5 });
  const refused: [string, Refusal][] = [];
  const failed: string[] = [];
  const listener = await listenTls(
    () => t.fail('no connection finishes a handshake here'),
    {
      host: '127.0.0.1',
      port: 0,
      maxLineBytes: 64,
      outbox: new Outbox(),
      certificate: load(files),
      handshakeTimeoutMs: 60_000,
      refusedHandshakeTimeoutMs: 200,
      admit: (socket) => admission.admitSocket(socket, 'chat'),
      refused: (addr, why) => refused.push([addr, why]),
      handshakeFailed: (addr) => failed.push(addr),
    },
    () => {},
  );
  t.teardown(() => listener.close());
  const [counted] = await silent(t, listener.port, 1);
  await waitFor('the first one counted', () => admission.from('127.0.0.1') === 1);
  const [over] = await silent(t, listener.port, 1);
  // 60 s is the handshake timeout: well before it, the refused one is gone.
  t.true(await closedWithin(over, 5000), 'still open after 5 s');
  await waitFor('the refusal reported', () => refused.length > 0);
  t.deepEqual(refused, [[over.addr, 'per_ip']]);
  t.deepEqual(failed, []); // not a failed handshake as well
  // The counted one keeps its handshake's full time and its place.
  t.false(await closedWithin(counted, 300));
  t.is(admission.from('127.0.0.1'), 1);
});

test('the HTTPS web port counts a connection from its accept and drops an unfinished handshake after its handshake timeout', async (t) => {
  const { server, certificate } = await startServer(t, {});
  const web = await startWeb(server, { host: '127.0.0.1', port: 0, maxLineBytes: 4096, tls: certificate, handshakeTimeoutMs: 1000 });
  t.teardown(() => web.close());
  const [stalled] = await silent(t, web.port, 1);
  await waitFor('the stalled handshake counted', () => server.admission.webConnections === 1);
  // Node's own default would hold it two minutes.
  t.true(await closedWithin(stalled, 5000), 'still open after 5 s');
  await waitFor('its place freed', () => server.admission.webConnections === 0);
});
