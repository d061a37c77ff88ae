/**
 * lib/web/forwarded.ts, the X-Forwarded-For trust rules: only a trusted proxy's headers count,
 * and they are read from the right to the first hop that is not a trusted proxy. (The same
 * rules through a real WebSocket: spec/e2e/ops.spec.ts.)
 */
import test from 'ava';
import { forwardedClient, hopAddress } from '../../lib/web/forwarded';
import { parseTrustProxy, TrustedProxies } from '../../lib/trust';

const trusted = parseTrustProxy('127.0.0.1,10.0.0.0/8') as TrustedProxies;

const cases: [string, string | undefined, Record<string, string | string[]>, string, 'http' | 'https'][] = [
  ['from an untrusted peer the headers are ignored', '203.0.113.5', { 'x-forwarded-for': '1.1.1.1', 'x-forwarded-proto': 'https' }, '203.0.113.5', 'http'],
  ['a trusted proxy names its client', '127.0.0.1', { 'x-forwarded-for': '198.51.100.7' }, '198.51.100.7', 'http'],
  ['the right-most untrusted hop wins over what the client wrote itself', '127.0.0.1', { 'x-forwarded-for': '6.6.6.6, 198.51.100.7' }, '198.51.100.7', 'http'],
  ['trusted hops on the right are skipped', '127.0.0.1', { 'x-forwarded-for': '6.6.6.6, 198.51.100.7, 10.1.2.3, 10.0.0.9' }, '198.51.100.7', 'http'],
  ['a chain of trusted proxies only: its left-most hop', '127.0.0.1', { 'x-forwarded-for': '10.0.0.1, 10.0.0.2' }, '10.0.0.1', 'http'],
  [
    'a hop that is not an address stops the walk at the last trusted one',
    '127.0.0.1',
    { 'x-forwarded-for': '198.51.100.7, unknown, 10.0.0.9' },
    '10.0.0.9',
    'http',
  ],
  ['garbage at the right: the proxy itself', '127.0.0.1', { 'x-forwarded-for': '198.51.100.7, _hidden' }, '127.0.0.1', 'http'],
  ['no header from a trusted proxy: the proxy itself', '127.0.0.1', {}, '127.0.0.1', 'http'],
  ['IPv6 and ports in hops', '::ffff:127.0.0.1', { 'x-forwarded-for': '[2001:db8::5]:4711, 10.0.0.3:80' }, '2001:db8::5', 'http'],
  ['the scheme from the nearest proxy', '127.0.0.1', { 'x-forwarded-for': '198.51.100.7', 'x-forwarded-proto': 'http, HTTPS' }, '198.51.100.7', 'https'],
  ['a scheme other than http(s) is ignored', '127.0.0.1', { 'x-forwarded-proto': 'gopher' }, '127.0.0.1', 'http'],
  ['a repeated header counts as one list', '127.0.0.1', { 'x-forwarded-for': ['6.6.6.6', '198.51.100.8'] }, '198.51.100.8', 'http'],
];

for (const [what, remote, headers, ip, proto] of cases) {
  test(what, (t) => {
    const client = forwardedClient(remote, headers, trusted);
    t.is(client.ip, ip);
    t.is(client.proto, proto);
    t.is(client.forwarded, ip !== remote && ip !== '127.0.0.1');
  });
}

test('without --trust-proxy nothing is believed', (t) => {
  t.deepEqual(forwardedClient('127.0.0.1', { 'x-forwarded-for': '1.2.3.4', 'x-forwarded-proto': 'https' }, undefined), {
    ip: '127.0.0.1',
    proto: 'http',
    forwarded: false,
  });
});

test('hop addresses', (t) => {
  t.is(hopAddress(' 1.2.3.4 '), '1.2.3.4');
  t.is(hopAddress('1.2.3.4:80'), '1.2.3.4');
  t.is(hopAddress('[::1]:80'), '::1');
  t.is(hopAddress('::1'), '::1');
  for (const bad of ['', 'unknown', '1.2.3', 'fe80::1%eth0', '[::1', '1.2.3.4:x']) t.is(hopAddress(bad), undefined, bad);
});
