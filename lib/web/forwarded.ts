/**
 * Who a web request came from when it came through a trusted proxy (`--trust-proxy`):
 * `X-Forwarded-For` read from the right, where each trusted proxy appended the address it saw,
 * to the first hop that is not a trusted proxy (anything left of it the client could have
 * written itself); and `X-Forwarded-Proto`, the scheme the client used. From anyone else both
 * headers are ignored: the socket's address stands.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { isIP } from 'node:net';
import type { TrustedProxies } from '../trust';

export interface Forwarded {
  /** The client's address: from the headers when they can be believed, else the socket's. */
  readonly ip: string;
  /** The scheme the client used: `https` when a trusted proxy says so. */
  readonly proto: 'http' | 'https';
  /** True when `ip` came from `X-Forwarded-For`. */
  readonly forwarded: boolean;
}

/** One `X-Forwarded-For` hop as an address: `1.2.3.4`, `1.2.3.4:5678`, `::1`, `[::1]:5678`; undefined when none. */
export function hopAddress(hop: string): string | undefined {
  const raw = hop.trim();
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(raw);
  const withPort = /^([\d.]+):\d+$/.exec(raw);
  const ip = bracketed?.[1] ?? withPort?.[1] ?? raw;
  return isIP(ip) !== 0 && !ip.includes('%') ? ip : undefined;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/**
 * The client of a request that arrived from `remoteAddress`. Walking `X-Forwarded-For` from the
 * right: a trusted hop is skipped, the first untrusted one is the client; a hop that is not an
 * address stops the walk at the last proxy trusted (it cannot vouch for anything past it); a
 * chain of trusted proxies only names its left-most hop.
 */
export function forwardedClient(remoteAddress: string | undefined, headers: IncomingHttpHeaders, trusted: TrustedProxies | undefined): Forwarded {
  const socketIp = remoteAddress ?? '?';
  if (!trusted?.has(remoteAddress)) return { ip: socketIp, proto: 'http', forwarded: false };
  const proto = header(headers, 'x-forwarded-proto')?.split(',').pop()?.trim().toLowerCase() === 'https' ? 'https' : 'http';
  const hops = header(headers, 'x-forwarded-for')?.split(',') ?? [];
  let client = socketIp;
  let forwarded = false;
  // Bounded by the header's size (Node caps all headers at 16 KiB by default).
  for (let i = hops.length - 1; i >= 0; i--) {
    const ip = hopAddress(hops[i]);
    if (ip === undefined) break;
    client = ip;
    forwarded = true;
    if (!trusted.has(ip)) break;
  }
  return { ip: client, proto, forwarded };
}
