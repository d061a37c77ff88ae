/**
 * DNS rebinding and cross-origin pages against the web edge, on real sockets with forged
 * `Host` and `Origin` headers: only this server's own names and origins (and `--web-origin`)
 * reach the chat or the page.
 */
import test, { ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import * as http from 'node:http';
import { parseServerFlags } from '../../lib/flags';
import { ChatServer } from '../../lib/server';
import { WEB_SOCKET_PATH, WebHandle, hostAllowed, ownOrigins, parseWebOrigins, sameOrigin, startWeb } from '../../lib/web';

const TIMEOUT_MS = 3000;

async function start(t: ExecutionContext, options: { host?: string; origins?: readonly string[] } = {}): Promise<WebHandle> {
  const chat = new ChatServer({ port: 0, host: options.host ?? '127.0.0.1' });
  const web = await startWeb(chat, { host: options.host ?? '127.0.0.1', port: 0, maxLineBytes: 4096, origins: options.origins });
  t.teardown(async () => {
    await chat.close(100);
    await web.close();
  });
  return web;
}

/**
 * A raw request with exactly the given headers, to `address:port`: the status the server
 * answers (101 for an accepted upgrade).
 */
function request(address: string, port: number, path: string, headers: Record<string, string>, upgrade: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const wsHeaders = upgrade
      ? { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': randomBytes(16).toString('base64') }
      : {};
    // No `host` given: none is sent (Node would otherwise write the address it connects to).
    const req = http.request({
      host: address,
      port,
      path,
      headers: { ...wsHeaders, ...headers },
      setHost: headers.host !== undefined,
      timeout: TIMEOUT_MS,
      agent: false,
    });
    req.once('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.once('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('timeout', () => req.destroy(new Error(`no answer within ${TIMEOUT_MS} ms`)));
    req.once('error', reject);
    req.end();
  });
}
const upgrade = (port: number, headers: Record<string, string>, address = '127.0.0.1') => request(address, port, WEB_SOCKET_PATH, headers, true);
const get = (port: number, path: string, headers: Record<string, string>) => request('127.0.0.1', port, path, headers, false);

test('DNS rebinding: a WebSocket whose Host names another site is refused, whatever its Origin', async (t) => {
  const { port } = await start(t);
  t.is(await upgrade(port, { host: `evil.example:${port}`, origin: `http://evil.example:${port}` }), 403, 'the rebinding page');
  t.is(await upgrade(port, { host: `evil.example:${port}` }), 403, 'no Origin: the Host check still applies');
  t.is(await upgrade(port, { host: `evil.example:${port}`, origin: `http://127.0.0.1:${port}` }), 403);
  t.is(await upgrade(port, { host: `127.0.0.1:${port + 1}`, origin: `http://127.0.0.1:${port + 1}` }), 403, 'another port is another server');
  t.not(await upgrade(port, {}), 101, 'no Host at all');
});

test('an https Origin (or any other scheme) for this http server is refused', async (t) => {
  const { port } = await start(t);
  t.is(await upgrade(port, { host: `127.0.0.1:${port}`, origin: `https://127.0.0.1:${port}` }), 403);
  t.is(await upgrade(port, { host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}.evil.example` }), 403);
  t.is(await upgrade(port, { host: `127.0.0.1:${port}`, origin: 'null' }), 403, 'a sandboxed frame or a file');
  t.is(await upgrade(port, { host: `127.0.0.1:${port}`, origin: `http://evil.example` }), 403);
});

test('the server’s own names are accepted: its address, localhost, with or without Origin', async (t) => {
  const { port } = await start(t);
  t.is(await upgrade(port, { host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}` }), 101);
  t.is(await upgrade(port, { host: `localhost:${port}`, origin: `http://localhost:${port}` }), 101);
  t.is(await upgrade(port, { host: `LOCALHOST:${port}`, origin: `http://localhost:${port}` }), 101, 'host names are case-insensitive');
  t.is(await upgrade(port, { host: `127.0.0.1:${port}` }), 101, 'a tool without Origin');
  t.is(await upgrade(port, { host: `127.0.0.1:${port}`, origin: `http://localhost:${port}` }), 101, 'both are this server');
});

test('the address that counts is the one the client reached', async (t) => {
  // 127.0.0.2 is loopback too: a server there is not the one on 127.0.0.1.
  const { port } = await start(t, { host: '127.0.0.2' });
  t.is(await upgrade(port, { host: `127.0.0.2:${port}`, origin: `http://127.0.0.2:${port}` }, '127.0.0.2'), 101);
  t.is(await upgrade(port, { host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}` }, '127.0.0.2'), 403);
});

test('--web-origin: a deployment behind a name or a TLS proxy is accepted, scheme and all', async (t) => {
  const { port } = await start(t, { origins: ['https://chat.example.org', 'http://192.0.2.7:8080'] });
  t.is(await upgrade(port, { host: 'chat.example.org', origin: 'https://chat.example.org' }), 101);
  t.is(await upgrade(port, { host: 'chat.example.org:443', origin: 'https://chat.example.org' }), 101);
  t.is(await upgrade(port, { host: '192.0.2.7:8080', origin: 'http://192.0.2.7:8080' }), 101);
  t.is(await upgrade(port, { host: 'chat.example.org', origin: 'http://chat.example.org' }), 403, 'the listed scheme only');
  t.is(await upgrade(port, { host: 'chat.example.org:8443', origin: 'https://chat.example.org:8443' }), 403, 'the listed port only');
  t.is(await upgrade(port, { host: `127.0.0.1:${port}`, origin: `http://127.0.0.1:${port}` }), 101, 'its own address still works');
  const unlisted = await start(t);
  t.is(await upgrade(unlisted.port, { host: 'chat.example.org', origin: 'https://chat.example.org' }), 403, 'not without the flag');
});

test('the page itself is only served under the server’s own names', async (t) => {
  const { port } = await start(t, { origins: ['https://chat.example.org'] });
  t.is(await get(port, '/', { host: `127.0.0.1:${port}` }), 200);
  t.is(await get(port, '/config.json', { host: `localhost:${port}` }), 200);
  t.is(await get(port, '/', { host: 'chat.example.org' }), 200);
  t.is(await get(port, '/', { host: `evil.example:${port}` }), 403);
  t.is(await get(port, '/config.json', { host: `evil.example:${port}` }), 403);
});

test('Host and Origin parsing: default ports, IPv6, IPv4-mapped addresses, junk', (t) => {
  const own = ownOrigins('127.0.0.1', 8080);
  t.deepEqual(own, ['http://127.0.0.1:8080', 'http://localhost:8080']);
  t.true(ownOrigins('::ffff:127.0.0.1', 8080).includes('http://127.0.0.1:8080'), 'a dual-stack socket reached over IPv4');
  t.true(ownOrigins('::1', 8080).includes('http://[::1]:8080'));
  t.true(ownOrigins('fe80::1%eth0', 8080).includes('http://[fe80::1]:8080'), 'the zone is not part of a URL');
  t.true(hostAllowed('[::1]:8080', ownOrigins('::1', 8080)));
  t.true(hostAllowed('[0:0::1]:8080', ownOrigins('::1', 8080)), 'IPv6 compared in canonical form');
  t.true(hostAllowed('127.0.0.1', ownOrigins('127.0.0.1', 80)), 'port 80 may be left out');
  t.false(hostAllowed('127.0.0.1', own), 'but not another port');
  for (const host of [
    undefined,
    '',
    'evil.example',
    '127.0.0.1:8080@evil.example',
    '127.0.0.1:8080/x',
    'evil.example#127.0.0.1:8080',
    '127.0.0.1:8080 ',
    '127.0.0.1:99999999',
  ]) {
    t.false(hostAllowed(host, own), JSON.stringify(host));
  }
  const arrival = { host: '127.0.0.1:8080', localAddress: '127.0.0.1', localPort: 8080 };
  t.is(sameOrigin({ ...arrival, origin: undefined }), 'ok');
  t.is(sameOrigin({ ...arrival, origin: 'http://127.0.0.1:8080' }), 'ok');
  t.is(sameOrigin({ ...arrival, origin: 'HTTP://127.0.0.1:8080' }), 'ok', 'compared as origins');
  t.is(sameOrigin({ ...arrival, origin: 'https://127.0.0.1:8080' }), 'origin');
  t.is(sameOrigin({ ...arrival, origin: 'not a url' }), 'origin');
  t.is(sameOrigin({ ...arrival, host: 'evil.example:8080', origin: 'http://evil.example:8080' }), 'host');
});

test('--web-origin takes a comma-separated list of origins; anything else is one clear error', (t) => {
  t.deepEqual(parseWebOrigins('https://chat.example.org, http://192.0.2.7:8080/,HTTPS://Chat.Example.org:443'), [
    'https://chat.example.org',
    'http://192.0.2.7:8080',
    'https://chat.example.org',
  ]);
  const parsed = parseServerFlags(['--web-origin', 'https://chat.example.org,http://[::1]:9000']);
  t.true(parsed.ok === true && parsed.value.webOrigins?.join(' ') === 'https://chat.example.org http://[::1]:9000', JSON.stringify(parsed));
  const plain = parseServerFlags([]);
  t.true(plain.ok === true && plain.value.webOrigins === undefined);
  for (const bad of [
    'chat.example.org',
    'ftp://chat.example.org',
    'https://chat.example.org/chat',
    'https://user@chat.example.org',
    'https://chat.example.org?x',
    'https://',
    'https://a.org,,https://b.org',
    '',
  ]) {
    const result = parseServerFlags(['--web-origin', bad]);
    t.is(result.ok, false, bad);
    if (result.ok === false) {
      t.regex(result.error, /^--web-origin must be origins like https:\/\/chat\.example\.org, separated by commas; got '[^\n]*'$/, bad);
    }
  }
  const noWeb = parseServerFlags(['--web-origin', 'https://chat.example.org', '--no-web']);
  t.deepEqual(noWeb, { ok: false, error: '--web-origin needs the web chat: drop --no-web' });
});
