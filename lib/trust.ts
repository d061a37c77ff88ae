/**
 * The proxies whose word on a client's address is taken (`--trust-proxy CIDR[,CIDR...]`): a
 * PROXY protocol header on the TCP port, `X-Forwarded-For` on the web port. Anyone else's
 * claim is refused (TCP) or ignored (web), so nobody can forge an address.
 */
import { BlockList, isIP } from 'node:net';

export class TrustedProxies {
  private readonly list = new BlockList();

  /** `cidrs` in canonical form, as parsed by `parseTrustProxy`. */
  constructor(readonly cidrs: readonly string[]) {
    for (const cidr of cidrs) {
      const [address, prefix] = cidr.split('/');
      const family = isIP(address) === 4 ? 'ipv4' : 'ipv6';
      this.list.addSubnet(address, Number(prefix), family);
    }
  }

  /** Is `ip` (as a socket gives it: IPv4-mapped IPv6 too, a zone perhaps) one of the proxies? */
  has(ip: string | undefined): boolean {
    if (ip === undefined) return false;
    const plain = ip.replace(/%.*$/, '');
    const family = isIP(plain);
    return family !== 0 && this.list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  }
}

/**
 * `10.0.0.0/8,127.0.0.1,::1,fd00::/8`: addresses with an optional prefix length (an address
 * alone is one host), or the first item that is not one.
 */
export function parseTrustProxy(raw: string): TrustedProxies | { readonly bad: string } {
  const cidrs: string[] = [];
  for (const item of raw.split(',').map((s) => s.trim())) {
    const match = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(item);
    const family = match ? isIP(match[1]) : 0;
    const max = family === 4 ? 32 : 128;
    const prefix = match?.[2] === undefined ? max : Number(match[2]);
    if (!match || family === 0 || match[1].includes('%') || prefix > max) return { bad: item };
    cidrs.push(`${match[1].toLowerCase()}/${prefix}`);
  }
  return new TrustedProxies(cidrs);
}
