/**
 * The web port's limits (issue 13, item 1): every socket it accepts is admitted by the chat's
 * `Admission` at once (refused ones destroyed before Node parses a byte), requests get short
 * deadlines, and when the web's share of connections is full, the oldest connection with no
 * request in progress (one still sending its headers, or an idle keep-alive) is let go for the
 * newcomer: a host that opens connections and sends nothing, or a byte a second, cannot keep
 * the page or the WebSockets from anyone else, even without a per-IP limit.
 */
import type * as http from 'node:http';
import type { Socket } from 'node:net';
import type { Admission, Refusal, Ticket } from '../admission';
import { formatAddress } from '../peer';

/** Deadlines of the web port's HTTP, in ms. Node's defaults are a minute and more. */
export interface HttpTimeouts {
  /** From a connection's first byte to the end of its request's headers. */
  readonly headersMs: number;
  /** For the whole request (this server takes no bodies): at least `headersMs`. */
  readonly requestMs: number;
  /** An idle keep-alive connection is closed after this long. */
  readonly keepAliveMs: number;
  /** A connection that sends nothing at all for this long is closed (a WebSocket is exempt: the chat's idle rule is its). */
  readonly idleMs: number;
}

export const HTTP_TIMEOUTS: HttpTimeouts = { headersMs: 5000, requestMs: 10_000, keepAliveMs: 5000, idleMs: 10_000 };

/** What the web edge needs of the chat server (a `ChatServer` is one). */
export interface WebAdmission {
  /** The server's admission: the web's sockets take their places in it. */
  readonly admission: Admission;
  /** The proxies whose word on a client's address is taken: their connections are named per request. */
  readonly trustProxy?: { has(ip: string | undefined): boolean };
  /** A web connection refused at accept: counted, and logged at debug (a flood must not flood the log). */
  refusedWeb(addr: string, why: Refusal): void;
}

export interface WebGuard {
  /** The place of the connection a request or an upgrade came on (a TLS socket is found by its raw one's address). */
  ticketOf(socket: Socket): Ticket | undefined;
}

/** A connection's key: the raw TCP socket and the TLS socket over it share their remote address. */
const keyOf = (socket: Socket) => `${socket.remoteAddress}|${socket.remotePort}`;

/** Applies the limits and deadlines to `server` (before it listens: Node reads its checking interval then). */
export function guardWeb(server: http.Server, chat: WebAdmission, timeouts: HttpTimeouts = HTTP_TIMEOUTS): WebGuard {
  server.headersTimeout = timeouts.headersMs;
  server.requestTimeout = Math.max(timeouts.requestMs, timeouts.headersMs);
  server.keepAliveTimeout = timeouts.keepAliveMs;
  // Node checks the two deadlines above on this interval (30 s by default): a deadline of a few
  // seconds needs a check every fraction of it.
  // (@types/node 20 lacks the property; Node 18.12+ reads it when the server starts listening.)
  (server as http.Server & { connectionsCheckingInterval: number }).connectionsCheckingInterval = Math.max(
    50,
    Math.min(1000, Math.floor(timeouts.headersMs / 4)),
  );
  server.setTimeout(timeouts.idleMs);

  const places = new Map<string, { readonly socket: Socket; readonly ticket: Ticket }>();
  // Connections with no request in progress, oldest first (a Set keeps insertion order): the
  // ones let go when the web is full. A request takes its connection out; its response's end
  // puts it back, last, while it stays open for keep-alive.
  const idle = new Set<string>();

  const letGoOldest = (): boolean => {
    for (const key of idle) {
      idle.delete(key);
      const place = places.get(key);
      if (!place) continue;
      places.delete(key);
      chat.admission.release(place.ticket);
      place.socket.destroy();
      return true;
    }
    return false;
  };

  server.on('connection', (socket: Socket) => {
    const named = !chat.trustProxy?.has(socket.remoteAddress);
    let ticket = chat.admission.admitSocket(socket, 'web', named);
    if (!ticket) return; // reset before we got to it: counted, destroyed
    if (ticket.refused === 'web_full' && letGoOldest()) ticket = chat.admission.admitSocket(socket, 'web', named) ?? ticket;
    if (ticket.refused !== undefined) {
      chat.refusedWeb(formatAddress(socket.remoteAddress ?? '?', socket.remotePort ?? 0), ticket.refused);
      socket.destroy();
      return;
    }
    const key = keyOf(socket);
    const place = { socket, ticket };
    places.set(key, place);
    idle.add(key);
    socket.once('close', () => {
      if (places.get(key) !== place) return;
      places.delete(key);
      idle.delete(key);
    });
  });
  const busy = (req: http.IncomingMessage) => idle.delete(keyOf(req.socket));
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    busy(req);
    res.once('finish', () => {
      const key = keyOf(req.socket);
      if (places.has(key) && !req.socket.destroyed) idle.add(key);
    });
  });
  // An upgraded connection is a WebSocket: the chat's rules are its from now on.
  server.on('upgrade', busy);

  return { ticketOf: (socket) => places.get(keyOf(socket))?.ticket };
}
