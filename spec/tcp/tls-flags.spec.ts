/**
 * The TLS flags of both CLIs, parsed without a socket: the server's --tls-cert, --tls-key,
 * --tls-port, --no-plain (and their RXIM_ variables), the client's --tls, --ca, --insecure;
 * every bad combination is one message naming the flag.
 */
import test from 'ava';
import { parseClientFlags } from '../../lib/client/flags';
import { loadServerConfig } from '../../lib/env';
import { parseServerFlags, SERVER_USAGE, ServerConfig } from '../../lib/flags';
import { CLIENT_USAGE } from '../../lib/client/flags';
import { DEFAULT_TLS_PORT } from '../../lib/tcp/tls';

function server(argv: string[]): ServerConfig {
  const parsed = parseServerFlags(argv);
  if (parsed.ok !== true) throw new Error(`not parsed: ${JSON.stringify(parsed)}`);
  return parsed.value;
}

function serverError(argv: string[]): string {
  const parsed = parseServerFlags(argv);
  if (parsed.ok !== false) throw new Error(`parsed: ${JSON.stringify(parsed)}`);
  return parsed.error;
}

test('server: no TLS unless asked', (t) => {
  t.is(server([]).tls, undefined);
});

test('server: --tls-cert and --tls-key turn TLS on, on port 8889, the plain port kept', (t) => {
  t.is(DEFAULT_TLS_PORT, 8889);
  t.deepEqual(server(['--tls-cert', 'c.pem', '--tls-key', 'k.pem']).tls, { certFile: 'c.pem', keyFile: 'k.pem', port: 8889, plain: true });
  t.deepEqual(server(['--tls-cert=c.pem', '--tls-key=k.pem', '--tls-port', '0', '--no-plain']).tls, {
    certFile: 'c.pem',
    keyFile: 'k.pem',
    port: 0,
    plain: false,
  });
  t.is(server(['--tls-cert', 'c.pem', '--tls-key', 'k.pem', '--tls-port', '443']).tls?.port, 443);
});

test('server: one without the other, or the TLS-only flags without TLS, are refused by name', (t) => {
  t.is(serverError(['--tls-cert', 'c.pem']), '--tls-cert needs --tls-key');
  t.is(serverError(['--tls-key', 'k.pem']), '--tls-key needs --tls-cert');
  t.is(serverError(['--tls-port', '8889']), '--tls-port needs --tls-cert and --tls-key');
  t.is(serverError(['--no-plain']), '--no-plain needs --tls-cert and --tls-key');
  t.is(serverError(['--tls-cert', '', '--tls-key', 'k.pem']), '--tls-cert and --tls-key must not be empty');
});

test('server: --tls-port is a port, and not one of the other ports', (t) => {
  const tls = ['--tls-cert', 'c.pem', '--tls-key', 'k.pem'];
  t.is(serverError([...tls, '--tls-port', '65536']), "--tls-port must be a whole number from 0 to 65535, got '65536'");
  t.is(serverError([...tls, '--tls-port', 'https']), "--tls-port must be a whole number from 0 to 65535, got 'https'");
  t.is(serverError([...tls, '--tls-port', '8888']), '--tls-port 8888 is taken by --port: give each its own');
  t.is(serverError([...tls, '--tls-port', '9000', '--port', '9000']), '--tls-port 9000 is taken by --port: give each its own');
  t.is(serverError([...tls, '--tls-port', '8080']), '--tls-port 8080 is taken by --http-port: give each its own');
  // Nothing listens on the plain port, or on the web port: no clash.
  t.is(server([...tls, '--tls-port', '8888', '--no-plain']).tls?.port, 8888);
  t.is(server([...tls, '--tls-port', '8080', '--no-web']).tls?.port, 8080);
  t.is(server([...tls, '--tls-port', '0', '--port', '0']).tls?.port, 0);
});

test('server: the TLS flags come from RXIM_ variables too', (t) => {
  const env = { RXIM_TLS_CERT: '/etc/rx-im/cert.pem', RXIM_TLS_KEY: '/etc/rx-im/key.pem', RXIM_NO_PLAIN: '1' };
  const parsed = loadServerConfig([], env, () => '').parsed;
  if (parsed.ok !== true) return t.fail(JSON.stringify(parsed));
  t.deepEqual(parsed.value.tls, { certFile: '/etc/rx-im/cert.pem', keyFile: '/etc/rx-im/key.pem', port: 8889, plain: false });
});

test('server: the usage names every TLS flag', (t) => {
  for (const flag of ['--tls-cert FILE', '--tls-key FILE', '--tls-port PORT', '--no-plain']) t.true(SERVER_USAGE.includes(flag), flag);
  t.regex(SERVER_USAGE, /default 8889/);
});

function client(argv: string[]) {
  const parsed = parseClientFlags(argv);
  if (parsed.ok !== true) throw new Error(`not parsed: ${JSON.stringify(parsed)}`);
  return parsed.value;
}

function clientError(argv: string[]): string {
  const parsed = parseClientFlags(argv);
  if (parsed.ok !== false) throw new Error(`parsed: ${JSON.stringify(parsed)}`);
  return parsed.error;
}

test('client: plain on 8888 unless --tls, which goes to 8889 unless a port is given', (t) => {
  t.is(client([]).tls, undefined);
  t.is(client([]).port, 8888);
  t.deepEqual(client(['--tls']).tls, { insecure: false });
  t.is(client(['--tls']).port, 8889);
  t.is(client(['--tls', '--port', '9443']).port, 9443);
  t.is(client(['-port', '9443', '-tls']).port, 9443, 'Go-style spellings too');
});

test('client: --ca names the file to trust; --insecure trusts anything', (t) => {
  t.deepEqual(client(['--tls', '--ca', 'server.pem']).tls, { ca: 'server.pem', insecure: false });
  t.deepEqual(client(['--tls', '-ca=server.pem']).tls, { ca: 'server.pem', insecure: false });
  t.deepEqual(client(['--tls', '--insecure']).tls, { insecure: true });
});

test('client: --ca and --insecure need --tls, and do not go together', (t) => {
  t.is(clientError(['--ca', 'server.pem']), '--ca needs --tls');
  t.is(clientError(['--insecure']), '--insecure needs --tls');
  t.is(clientError(['--tls', '--ca', 'server.pem', '--insecure']), '--ca and --insecure cannot be combined: --insecure checks no certificate');
  t.is(clientError(['--tls', '--ca', '']), '--ca must not be empty');
});

test('client: the usage names the TLS flags', (t) => {
  for (const flag of ['--tls', '--ca FILE', '--insecure']) t.true(CLIENT_USAGE.includes(flag), flag);
});
