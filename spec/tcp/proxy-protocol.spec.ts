/**
 * lib/tcp/proxy-protocol.ts's parser: v1 and v2 headers as HAProxy and nginx send them, cut at
 * every byte (a header split across packets), with the client's first line behind them, and
 * the malformed ones; lib/trust.ts's CIDR list. The socket edge is in spec/e2e/proxy-protocol.spec.ts.
 */
import test from 'ava';
import fc from 'fast-check';
import { parseProxyHeader, ProxyParse, V1_MAX_BYTES, V2_SIGNATURE } from '../../lib/tcp/proxy-protocol';
import { parseTrustProxy, TrustedProxies } from '../../lib/trust';

/** A v2 header: `command` 0 LOCAL / 1 PROXY, `family` the address family and transport byte. */
function v2(command: number, family: number, addresses: Buffer, tlvs = Buffer.alloc(0), version = 2): Buffer {
  const fixed = Buffer.alloc(4);
  fixed[0] = (version << 4) | command;
  fixed[1] = family;
  fixed.writeUInt16BE(addresses.length + tlvs.length, 2);
  return Buffer.concat([V2_SIGNATURE, fixed, addresses, tlvs]);
}

function inet4(src: string, dst: string, sport: number, dport: number): Buffer {
  const b = Buffer.alloc(12);
  src.split('.').forEach((n, i) => (b[i] = Number(n)));
  dst.split('.').forEach((n, i) => (b[4 + i] = Number(n)));
  b.writeUInt16BE(sport, 8);
  b.writeUInt16BE(dport, 10);
  return b;
}

function inet6(src: number[], dst: number[], sport: number, dport: number): Buffer {
  const b = Buffer.alloc(36);
  src.forEach((g, i) => b.writeUInt16BE(g, 2 * i));
  dst.forEach((g, i) => b.writeUInt16BE(g, 16 + 2 * i));
  b.writeUInt16BE(sport, 32);
  b.writeUInt16BE(dport, 34);
  return b;
}

const header = (parse: ProxyParse) => (parse.kind === 'header' ? parse : undefined);

/** Every prefix shorter than the header asks for more; the whole (plus what follows) parses to the same header. */
function everySplit(t: import('ava').ExecutionContext, bytes: Buffer, after = Buffer.from('hello\n')): ProxyParse {
  for (let n = 1; n < bytes.length; n++) t.deepEqual(parseProxyHeader(bytes.subarray(0, n)), { kind: 'more' }, `cut after ${n} bytes`);
  const whole = parseProxyHeader(Buffer.concat([bytes, after]));
  t.is(whole.kind, 'header');
  t.is(header(whole)?.length, bytes.length, 'the header ends where the client begins');
  return whole;
}

test('v1 TCP4, as HAProxy send-proxy writes it, at every split', (t) => {
  const parsed = everySplit(t, Buffer.from('PROXY TCP4 203.0.113.7 192.0.2.1 51234 8888\r\n'));
  t.like(header(parsed)?.header, { version: 1, command: 'proxy', source: { ip: '203.0.113.7', port: 51234 }, destination: { ip: '192.0.2.1', port: 8888 } });
});

test('v1 TCP6: the address in canonical form', (t) => {
  const parsed = everySplit(t, Buffer.from('PROXY TCP6 2001:DB8:0:0:0:0:0:7 2001:db8::1 443 8888\r\n'));
  t.like(header(parsed)?.header, { command: 'proxy', source: { ip: '2001:db8::7', port: 443 } });
});

test('v1 UNKNOWN: the connection speaks for itself (its own address stands)', (t) => {
  t.deepEqual(header(everySplit(t, Buffer.from('PROXY UNKNOWN\r\n')))?.header, { version: 1, command: 'local' });
  t.deepEqual(header(parseProxyHeader(Buffer.from('PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n')))?.header, { version: 1, command: 'local' });
});

test('v2 PROXY over IPv4 with TLVs (send-proxy-v2), at every split', (t) => {
  const tlvs = Buffer.from([0x01, 0x00, 0x02, 0x68, 0x32]); // ALPN "h2": skipped
  const parsed = everySplit(t, v2(1, 0x11, inet4('198.51.100.9', '10.0.0.2', 40000, 8888), tlvs));
  t.like(header(parsed)?.header, { version: 2, command: 'proxy', source: { ip: '198.51.100.9', port: 40000 }, destination: { ip: '10.0.0.2', port: 8888 } });
});

test('v2 PROXY over IPv6, an IPv4-mapped source named as Node names sockets', (t) => {
  const parsed = everySplit(t, v2(1, 0x21, inet6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x42], [0, 0, 0, 0, 0, 0, 0, 1], 5000, 8888)));
  t.like(header(parsed)?.header, { source: { ip: '2001:db8::42', port: 5000 }, destination: { ip: '::1' } });
  const mapped = parseProxyHeader(v2(1, 0x21, inet6([0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304], [0, 0, 0, 0, 0, 0, 0, 1], 1, 2)));
  t.like(header(mapped)?.header, { source: { ip: '::ffff:1.2.3.4' } });
});

test('v2 LOCAL (a health check) and UNSPEC or Unix sources: the connection speaks for itself', (t) => {
  t.deepEqual(header(everySplit(t, v2(0, 0x00, Buffer.alloc(0))))?.header, { version: 2, command: 'local' });
  t.deepEqual(
    header(parseProxyHeader(v2(0, 0x11, inet4('1.1.1.1', '2.2.2.2', 1, 2))))?.header,
    { version: 2, command: 'local' },
    'LOCAL ignores its addresses',
  );
  t.deepEqual(header(parseProxyHeader(v2(1, 0x00, Buffer.alloc(0))))?.header, { version: 2, command: 'local' });
  t.deepEqual(header(parseProxyHeader(v2(1, 0x31, Buffer.alloc(216))))?.header, { version: 2, command: 'local' });
});

const malformed: [string, Buffer][] = [
  ['no header at all (a client speaking the chat)', Buffer.from('who\n')],
  ['an HTTP request', Buffer.from('GET / HTTP/1.1\r\n')],
  ['v1 with a bad protocol', Buffer.from('PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n')],
  ['v1 with a bad address', Buffer.from('PROXY TCP4 1.2.3.400 5.6.7.8 1 2\r\n')],
  ['v1 TCP4 with an IPv6 address', Buffer.from('PROXY TCP4 ::1 5.6.7.8 1 2\r\n')],
  ['v1 with a port over 65535', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 65536 2\r\n')],
  ['v1 with a leading zero port', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n')],
  ['v1 with a missing field', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n')],
  ['v1 with two spaces', Buffer.from('PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n')],
  ['v1 ending in LF alone', Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n')],
  ['v1 longer than 107 bytes', Buffer.from(`PROXY TCP6 ${'f'.repeat(V1_MAX_BYTES)}\r\n`)],
  ['v1 in lower case', Buffer.from('proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n')],
  ['v2 version 3', v2(1, 0x11, inet4('1.2.3.4', '5.6.7.8', 1, 2), undefined, 3)],
  ['v2 command 2', v2(2, 0x11, inet4('1.2.3.4', '5.6.7.8', 1, 2))],
  ['v2 UDP', v2(1, 0x12, inet4('1.2.3.4', '5.6.7.8', 1, 2))],
  ['v2 unknown family', v2(1, 0x41, inet4('1.2.3.4', '5.6.7.8', 1, 2))],
  ['v2 IPv4 block too short', v2(1, 0x11, Buffer.alloc(8))],
  ['v2 IPv6 block too short', v2(1, 0x21, Buffer.alloc(12))],
  ['v2 signature with one byte wrong', Buffer.concat([V2_SIGNATURE.subarray(0, 11), Buffer.from([0x0b]), Buffer.alloc(8)])],
];

for (const [what, bytes] of malformed) {
  test(`refused: ${what}`, (t) => {
    const parsed = parseProxyHeader(bytes);
    t.is(parsed.kind, 'bad', JSON.stringify(parsed));
    t.true(parsed.kind === 'bad' && parsed.reason.length > 0);
  });
}

test('a malformed header is refused as soon as its first wrong byte arrives, not after a timeout', (t) => {
  t.is(parseProxyHeader(Buffer.from('PROXZ')).kind, 'bad');
  t.is(parseProxyHeader(Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x01])).kind, 'bad');
  t.is(parseProxyHeader(Buffer.from('P')).kind, 'more');
});

test('property: any v1 or v2 header of a TCP4 client parses to it, whatever follows', (t) => {
  const ipv4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((parts) => parts.join('.'));
  const port = fc.nat(65535);
  fc.assert(
    fc.property(ipv4, ipv4, port, port, fc.boolean(), fc.uint8Array({ maxLength: 64 }), (src, dst, sport, dport, binary, rest) => {
      const bytes = binary ? v2(1, 0x11, inet4(src, dst, sport, dport)) : Buffer.from(`PROXY TCP4 ${src} ${dst} ${sport} ${dport}\r\n`);
      const parsed = parseProxyHeader(Buffer.concat([bytes, rest]));
      return (
        parsed.kind === 'header' &&
        parsed.length === bytes.length &&
        parsed.header.command === 'proxy' &&
        parsed.header.source.ip === src &&
        parsed.header.source.port === sport
      );
    }),
  );
  t.pass();
});

test('property: no input throws; the answer for a prefix of a refused input is never a header', (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (raw, prefixed) => {
      const bytes = Buffer.concat([prefixed ? Buffer.from('PROXY ') : V2_SIGNATURE, Buffer.from(raw)]);
      const parsed = parseProxyHeader(bytes);
      return parsed.kind === 'more' || parsed.kind === 'bad' || (parsed.length > 0 && parsed.length <= bytes.length);
    }),
  );
  t.pass();
});

test('--trust-proxy: addresses and CIDR ranges, IPv4-mapped sockets matched as IPv4', (t) => {
  const trusted = parseTrustProxy('127.0.0.1, 10.0.0.0/8,fd00::/8,::1');
  t.true(trusted instanceof TrustedProxies);
  const list = trusted as TrustedProxies;
  t.deepEqual(list.cidrs, ['127.0.0.1/32', '10.0.0.0/8', 'fd00::/8', '::1/128']);
  for (const ip of ['127.0.0.1', '::ffff:127.0.0.1', '10.200.3.4', 'fd12::1', '::1', 'fe80::1%lo']) t.is(list.has(ip), ip !== 'fe80::1%lo', ip);
  for (const ip of ['127.0.0.2', '11.0.0.1', '::2', undefined, 'nonsense']) t.false(list.has(ip), String(ip));
});

test('--trust-proxy: the first bad item is named', (t) => {
  for (const bad of ['10.0.0.0/33', '::1/129', 'localhost', '10.0.0.0/', '1.2.3.4/8/8', 'fe80::1%eth0', '']) {
    t.deepEqual(parseTrustProxy(`127.0.0.1,${bad}`), { bad }, bad);
  }
});
