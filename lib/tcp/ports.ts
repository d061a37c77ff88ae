/**
 * The chat's own ports as a `ChatServer` opens them: the plain TCP port (behind the PROXY
 * protocol when told) and the TLS port, each socket admitted against the server's limits the
 * moment it is accepted, its peer flushed through the server's outbox, and every connection
 * that never becomes a session (a refused PROXY header, a failed handshake) told to the
 * server's connection log.
 */
import type { Admission, Ticket } from '../admission';
import type { ConnectionLog } from '../connection-log';
import type { Transport } from '../metrics';
import type { Outbox } from '../outbox';
import type { Peer } from '../peer';
import type { TrustedProxies } from '../trust';
import { Listener, listenTcp } from './listen';
import type { ProxyProtocolOptions } from './proxy-protocol';
import { TlsCertificate, listenTls } from './tls';

/** What the ports need of their server (a `ChatServer` is one). */
export interface PortsHost {
  readonly options: { readonly host: string; readonly port: number; readonly maxLineBytes: number };
  readonly outbox: Outbox;
  /** Where the peers count the lines they write. */
  readonly metrics: { delivered: number };
  readonly admission: Admission;
  accept(peer: Peer, transport: Transport, ticket?: Ticket): void;
}

export interface TlsPortOptions {
  readonly certificate: TlsCertificate;
  /** 0 picks a free one. */
  readonly port: number;
  readonly handshakeTimeoutMs?: number;
}

/**
 * The PROXY protocol as the TCP port speaks it (`proxyProtocol`, `trustProxy`): only `trusted`
 * may connect, and each connection's header names its client.
 */
export function proxyProtocol(trusted: TrustedProxies, timeoutMs: number | undefined, log: ConnectionLog): ProxyProtocolOptions {
  return { trusted, timeoutMs, refused: log.refusedProxy };
}

/** Listens for TCP clients on the server's host and port; resolves with the address bound. */
export function openTcp(chat: PortsHost, log: ConnectionLog, proxy: ProxyProtocolOptions | undefined): Promise<Listener> {
  const { host, port, maxLineBytes } = chat.options;
  return listenTcp(
    (peer, ticket) => chat.accept(peer, 'tcp', ticket),
    {
      host,
      port,
      maxLineBytes,
      outbox: chat.outbox,
      metrics: chat.metrics,
      proxy,
      // Behind the PROXY protocol the socket's address is the proxy's: counted under the client's once its header names it.
      admit: (socket) => chat.admission.admitSocket(socket, 'chat', !proxy),
    },
    log.serverError,
  );
}

/**
 * Listens for TLS clients of the line protocol on `options.port` of the server's host: the
 * same sessions and limits as the plain port, counted from the start of their handshake.
 */
export function openTls(chat: PortsHost, log: ConnectionLog, options: TlsPortOptions): Promise<Listener> {
  const { host, maxLineBytes } = chat.options;
  return listenTls(
    (peer, ticket) => chat.accept(peer, 'tls', ticket),
    {
      ...options,
      host,
      maxLineBytes,
      outbox: chat.outbox,
      metrics: chat.metrics,
      handshakeFailed: log.handshakeFailed,
      admit: (socket) => chat.admission.admitSocket(socket, 'chat'),
      refused: log.refusedInHandshake,
    },
    log.serverError,
  );
}
