/** The TCP listener: accepted sockets become peers of a `ChatServer`. */
import * as net from 'node:net';
import type { Ticket } from '../admission';
import type { Outbox } from '../outbox';
import type { Peer } from '../peer';
import { SocketPeerOptions, socketPeer } from './peer';
import { ProxyProtocolOptions, takeProxyHeader } from './proxy-protocol';

export interface Listener {
  readonly host: string;
  readonly port: number;
  /** Stops accepting; resolves once the listening socket is closed. */
  close(): Promise<void>;
}

export interface TcpOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  readonly maxLineBytes: number;
  readonly outbox: Outbox;
  /** Where the peers count the lines they write. */
  readonly metrics?: SocketPeerOptions['metrics'];
  /** Every connection opens with a PROXY protocol header from a trusted proxy. */
  readonly proxy?: ProxyProtocolOptions;
  /**
   * Counts each socket against the server's limits the moment it is accepted (lib/admission.ts);
   * undefined: it was reset before that (counted, destroyed). A refused one still becomes a peer,
   * for the chat's notice.
   */
  readonly admit?: (socket: net.Socket) => Ticket | undefined;
}

/** Listens; resolves with the address actually bound, rejects with the listen error (EADDRINUSE...). */
export function listenTcp(accept: (peer: Peer, ticket?: Ticket) => void, options: TcpOptions, log: (line: string) => void): Promise<Listener> {
  const tcp = net.createServer((socket) => {
    // Reset before we got to it: no address, nobody to announce.
    if (socket.remoteAddress === undefined) {
      options.admit?.(socket); // counts it
      socket.destroy();
      return;
    }
    const ticket = options.admit?.(socket);
    if (options.admit && !ticket) return;
    socket.setNoDelay(true);
    const peerOptions = { maxLineBytes: options.maxLineBytes, outbox: options.outbox, metrics: options.metrics };
    if (options.proxy) takeProxyHeader(socket, options.proxy, (client) => accept(socketPeer(socket, { ...peerOptions, client }), ticket));
    else accept(socketPeer(socket, peerOptions), ticket);
  });
  return new Promise((resolve, reject) => {
    tcp.once('error', reject);
    // A crowd connecting at once overflows Node's default backlog (511): the kernel drops
    // their SYNs and they retry seconds later.
    tcp.listen({ port: options.port, host: options.host, backlog: 4096 }, () => {
      tcp.off('error', reject);
      tcp.on('error', (err) => log(`server error: ${err.message}`));
      const bound = tcp.address() as net.AddressInfo;
      resolve({
        host: bound.address,
        port: bound.port,
        close: () => new Promise<void>((done) => tcp.close(() => done())),
      });
    });
  });
}
