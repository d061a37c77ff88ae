/**
 * The HAProxy PROXY protocol (v1 text and v2 binary, haproxy.org/download/2.9/doc/proxy-protocol.txt)
 * on the TCP port: a proxy in front of the server (HAProxy `send-proxy`, nginx `proxy_protocol
 * on`) opens each connection with a header naming the client it relays, so that the user is
 * named, and limited per IP, after the client and not after the proxy.
 *
 * `parseProxyHeader` is the pure part: the bytes received so far -> need more, a header (and
 * its length), or why they are not one; the spec feeds it every split of a header.
 * `takeProxyHeader` is the edge: it reads a socket's header, then hands the socket on.
 */
import { type Socket, SocketAddress, isIPv4, isIPv6 } from 'node:net';
import { formatAddress } from '../peer';
import type { TrustedProxies } from '../trust';

export interface ProxyAddress {
  readonly ip: string;
  readonly port: number;
}

/**
 * `proxy`: a relayed client, `source` is who it is. `local`: the proxy speaking for itself (a
 * health check, v2 LOCAL), or a client it cannot name (v1 UNKNOWN, v2 UNSPEC or a Unix
 * socket): the connection's own addresses stand, as the protocol says.
 */
export type ProxyHeader =
  | { readonly version: 1 | 2; readonly command: 'proxy'; readonly source: ProxyAddress; readonly destination: ProxyAddress }
  | { readonly version: 1 | 2; readonly command: 'local' };

export type ProxyParse =
  | { readonly kind: 'more' }
  | { readonly kind: 'bad'; readonly reason: string }
  | { readonly kind: 'header'; readonly header: ProxyHeader; readonly length: number };

const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
/** The longest v1 line, CRLF included (the spec's own bound). */
export const V1_MAX_BYTES = 107;
export const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V2_FIXED_BYTES = 16;

const MORE: ProxyParse = { kind: 'more' };
const bad = (reason: string): ProxyParse => ({ kind: 'bad', reason });

/** Does `data` (possibly short) start like `prefix`? */
function startsLike(data: Buffer, prefix: Buffer): boolean {
  const n = Math.min(data.length, prefix.length);
  return data.subarray(0, n).equals(prefix.subarray(0, n));
}

/** The header at the start of `data`, if all of it is there. */
export function parseProxyHeader(data: Buffer): ProxyParse {
  if (data.length === 0) return MORE;
  if (startsLike(data, V1_PREFIX)) return parseV1(data);
  if (startsLike(data, V2_SIGNATURE)) return parseV2(data);
  return bad('no PROXY protocol header');
}

const PORT = /^(0|[1-9]\d{0,4})$/;

function parseV1(data: Buffer): ProxyParse {
  const lf = data.subarray(0, V1_MAX_BYTES).indexOf(0x0a);
  if (lf < 0) return data.length >= V1_MAX_BYTES ? bad('v1 header longer than 107 bytes') : MORE;
  if (data[lf - 1] !== 0x0d) return bad('v1 header ends in LF without CR');
  const end = lf - 1;
  const line = data.toString('latin1', 0, end);
  const length = end + 2;
  const fields = line.split(' ');
  if (fields[1] === 'UNKNOWN') return { kind: 'header', header: { version: 1, command: 'local' }, length };
  if (fields.length !== 6) return bad(`v1 header: expected 6 fields, got ${JSON.stringify(line)}`);
  const [, family, srcIp, dstIp, srcPort, dstPort] = fields;
  const isFamily = family === 'TCP4' ? isIPv4 : family === 'TCP6' ? isIPv6 : undefined;
  if (!isFamily) return bad(`v1 header: unknown protocol ${JSON.stringify(family)}`);
  // A zone (`fe80::1%eth0`) names an interface of the proxy, not an address of the client.
  if (!isFamily(srcIp) || !isFamily(dstIp) || /%/.test(srcIp + dstIp)) return bad(`v1 header: bad ${family} address in ${JSON.stringify(line)}`);
  if (![srcPort, dstPort].every((p) => PORT.test(p) && Number(p) <= 65535)) return bad(`v1 header: bad port in ${JSON.stringify(line)}`);
  return {
    kind: 'header',
    header: {
      version: 1,
      command: 'proxy',
      source: { ip: canonical(srcIp, family), port: Number(srcPort) },
      destination: { ip: canonical(dstIp, family), port: Number(dstPort) },
    },
    length,
  };
}

function parseV2(data: Buffer): ProxyParse {
  if (data.length < V2_FIXED_BYTES) return MORE;
  const version = data[12] >> 4;
  const command = data[12] & 0x0f;
  if (version !== 2) return bad(`v2 header: version ${version}`);
  if (command > 1) return bad(`v2 header: unknown command ${command}`);
  const length = V2_FIXED_BYTES + data.readUInt16BE(14);
  if (data.length < length) return MORE;
  // LOCAL: the proxy's own connection (a health check); its address block means nothing.
  if (command === 0) return { kind: 'header', header: { version: 2, command: 'local' }, length };
  const family = data[13] >> 4;
  const transport = data[13] & 0x0f;
  if (family > 3 || transport > 2) return bad(`v2 header: unknown address family 0x${data[13].toString(16)}`);
  if (transport === 2) return bad('v2 header: a datagram (UDP) source, not a stream');
  if (family === 0 || family === 3) return { kind: 'header', header: { version: 2, command: 'local' }, length };
  const addresses = data.subarray(V2_FIXED_BYTES, length);
  const size = family === 1 ? 4 : 16;
  if (addresses.length < 2 * size + 4) return bad(`v2 header: address block of ${addresses.length} bytes is too short for ${family === 1 ? 'IPv4' : 'IPv6'}`);
  const ip = (offset: number) => (family === 1 ? [...addresses.subarray(offset, offset + 4)].join('.') : ipv6(addresses.subarray(offset, offset + 16)));
  return {
    kind: 'header',
    header: {
      version: 2,
      command: 'proxy',
      source: { ip: ip(0), port: addresses.readUInt16BE(2 * size) },
      destination: { ip: ip(size), port: addresses.readUInt16BE(2 * size + 2) },
    },
    length,
  };
}

function ipv6(bytes: Buffer): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return canonical(groups.join(':'), 'TCP6');
}

/** `2001:db8::1` whatever way it was written, `::ffff:1.2.3.4` for a mapped IPv4 (as Node names sockets). */
function canonical(ip: string, family: string): string {
  return new SocketAddress({ address: ip, family: family === 'TCP4' ? 'ipv4' : 'ipv6' }).address;
}

export interface ProxyProtocolOptions {
  /** The proxies allowed to send a header; a connection from anyone else is refused. */
  readonly trusted: TrustedProxies;
  /** A proxy sends its header at once: a connection without one after this long is dropped. */
  readonly timeoutMs?: number;
  /**
   * A connection dropped without becoming a peer: `addr` is its own (the proxy's or the
   * forger's). `quiet`: it closed before saying anything, as a TCP health check does.
   */
  readonly refused: (addr: string, reason: string, quiet: boolean) => void;
}

export const PROXY_HEADER_TIMEOUT_MS = 5000;

/**
 * Reads the PROXY header a trusted proxy opens `socket` with, then calls `accept` with the
 * client it names (undefined: the connection's own address stands) and with the bytes after
 * the header left unread on the socket. A connection from outside `trusted`, or whose first
 * bytes are not a valid header, or that sends none in time, is destroyed and reported.
 */
export function takeProxyHeader(socket: Socket, options: ProxyProtocolOptions, accept: (client: ProxyAddress | undefined) => void): void {
  const addr = formatAddress(socket.remoteAddress ?? '?', socket.remotePort ?? 0);
  const timeoutMs = options.timeoutMs ?? PROXY_HEADER_TIMEOUT_MS;
  const noError = () => {}; // an error after we let go (a reset while dropped) must not crash the process
  if (!options.trusted.has(socket.remoteAddress)) {
    socket.on('error', noError).destroy();
    options.refused(addr, 'not a trusted proxy (see --trust-proxy)', false);
    return;
  }
  let received: Buffer = Buffer.alloc(0);
  const stop = () => {
    clearTimeout(timer);
    socket.off('data', onData).off('end', onEnd).off('close', onEnd).off('error', onError).on('error', noError);
  };
  const refuse = (reason: string, quiet = false) => {
    stop();
    socket.destroy();
    options.refused(addr, reason, quiet);
  };
  const onData = (chunk: Buffer) => {
    received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
    const parsed = parseProxyHeader(received);
    if (parsed.kind === 'more') return;
    if (parsed.kind === 'bad') return refuse(`bad PROXY header: ${parsed.reason}`);
    stop();
    // Paused before the rest goes back: nothing flows until the peer listens for it.
    socket.pause();
    if (received.length > parsed.length) socket.unshift(received.subarray(parsed.length));
    accept(parsed.header.command === 'proxy' ? parsed.header.source : undefined);
    socket.resume();
  };
  const onEnd = () => refuse('closed before its PROXY header', received.length === 0);
  const onError = () => refuse('connection error before its PROXY header', received.length === 0);
  socket.on('data', onData).on('end', onEnd).on('close', onEnd).on('error', onError);
  const timer = setTimeout(() => refuse(`no PROXY header within ${timeoutMs} ms`), timeoutMs);
}
