/**
 * The web chat's edge: one HTTP server for the page and, on `/chat`, a WebSocket endpoint
 * whose connections become peers of the same `ChatServer` as the TCP clients.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { TLSSocket } from 'node:tls';
import { WebSocketServer } from 'ws';
import { ChatServer } from '../server';
import { TLS_HANDSHAKE_TIMEOUT_MS, type TlsCertificate } from '../tcp/tls';
import { forwardedClient } from './forwarded';
import { healthRoutes, metricsRoute } from './health';
import { HttpTimeouts, guardWeb } from './limits';
import { webSocketPeer } from './peer';
import { defaultWebRoot, pageConfig, site } from './site';

export interface WebOptions {
  /** Interface to listen on (the chat's `--host`). */
  readonly host: string;
  /** HTTP port; 0 picks a free one. */
  readonly port: number;
  /** The chat's line limit: frames are bounded by it. */
  readonly maxLineBytes: number;
  /** Folder of the page's files; `web/` of this package by default. */
  readonly root?: string;
  /**
   * Further origins the page is served under (`--web-origin`), e.g. `https://chat.example.org`
   * behind a proxy: their hosts may be named in `Host`, and pages from them may open a chat.
   */
  readonly origins?: readonly string[];
  /** Serve `GET /metrics` here (true by default; false when they have a port of their own, `--metrics-port`). */
  readonly metrics?: boolean;
  /** Serve HTTPS and WSS with this certificate (`--tls-cert`); its `reload()` reaches this server too. */
  readonly tls?: TlsCertificate;
  /** Deadlines of page requests (lib/web/limits.ts: a few seconds by default; tests pass shorter ones). */
  readonly timeouts?: HttpTimeouts;
  /**
   * With `tls`: a connection that has not finished its handshake after this long is dropped
   * (the HTTP deadlines start after it). As the chat's TLS port; Node's own default is two minutes.
   */
  readonly handshakeTimeoutMs?: number;
}

export interface WebHandle {
  readonly host: string;
  readonly port: number;
  /** Stops listening and drops the connections that are left (close the chat first: it says goodbye). */
  close(): Promise<void>;
}

export const WEB_SOCKET_PATH = '/chat';

/**
 * A browser frame is held whole before it is read, so its size is bounded by `maxPayload`.
 * Twice the line limit: a frame somewhat over the limit gets the chat's "too long" notice,
 * as over TCP, and one far over it closes the connection with 1009 (Message Too Big).
 */
export function maxPayload(maxLineBytes: number): number {
  return 2 * maxLineBytes;
}

/** What a request says about where it was sent, and where it arrived. */
export interface Arrival {
  /** The `Host` header. */
  readonly host: string | undefined;
  /** The `Origin` header: browsers send it with every WebSocket; other tools usually do not. */
  readonly origin: string | undefined;
  /** The local end of the socket: the address and port the client actually reached. */
  readonly localAddress: string | undefined;
  readonly localPort: number | undefined;
  /** It came over TLS: the page's own origins are https. */
  readonly secure?: boolean;
}

/**
 * The origins a page of this server can have, for a request that arrived on `localAddress`
 * and `localPort`: that address (an IPv4-mapped one also as plain IPv4), `localhost`, over
 * `http` (`https` when the request came over TLS), and the `--web-origin` list. Taking the socket's own
 * address, rather than the listen address, also answers for `--host 0.0.0.0`: the client
 * names the interface it reached.
 */
export function ownOrigins(
  localAddress: string | undefined,
  localPort: number | undefined,
  extra: readonly string[] = [],
  scheme: 'http' | 'https' = 'http',
): string[] {
  const origins: string[] = [];
  if (localPort !== undefined) {
    const address = (localAddress ?? '').replace(/%.*$/, ''); // an IPv6 zone never appears in a URL
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
    for (const a of [address, mapped?.[1], 'localhost']) {
      if (!a) continue;
      try {
        origins.push(new URL(`${scheme}://${a.includes(':') ? `[${a}]` : a}:${localPort}`).origin);
      } catch {
        // not an address a URL can hold: no origin from it
      }
    }
  }
  return [...origins, ...extra];
}

const HOST_HEADER = /^(\[[0-9a-f:.]+\]|[^\s:/?#@[\]\\]+)(?::(\d{1,5}))?$/i;

/**
 * Does `Host` name one of `origins`? A browser sends the name it resolved, so a page on
 * `evil.example` that rebinds its name to this server's address still sends
 * `Host: evil.example:PORT`. A Host without a port means the origin's default port.
 */
export function hostAllowed(host: string | undefined, origins: readonly string[]): boolean {
  const match = host === undefined ? null : HOST_HEADER.exec(host);
  if (!match) return false;
  let hostname: string;
  try {
    hostname = new URL(`http://${match[1]}`).hostname; // lower case, IPv6 in canonical form
  } catch {
    return false;
  }
  return origins.some((origin) => {
    const url = new URL(origin);
    const port = url.port || (url.protocol === 'https:' ? '443' : '80');
    return url.hostname === hostname && (match[2] === undefined ? url.port === '' : String(Number(match[2])) === port);
  });
}

/**
 * A page elsewhere must not open a chat connection in its visitor's name, directly (its
 * `Origin` is another site) or by DNS rebinding (its `Origin` and `Host` both name the
 * attacker's domain, which resolves to this server). So `Host` must name this server, and
 * `Origin`, when there is one, must be one of its origins exactly, scheme included. Tools that
 * send no `Origin` (not a browser, so no visitor to act for) are accepted, as `nc` is.
 */
export function sameOrigin(arrival: Arrival, extraOrigins: readonly string[] = []): 'ok' | 'host' | 'origin' {
  const origins = ownOrigins(arrival.localAddress, arrival.localPort, extraOrigins, arrival.secure ? 'https' : 'http');
  if (!hostAllowed(arrival.host, origins)) return 'host';
  if (arrival.origin === undefined) return 'ok';
  try {
    return origins.includes(new URL(arrival.origin).origin) ? 'ok' : 'origin';
  } catch {
    return 'origin'; // `null` (a sandboxed frame, a file) or garbage
  }
}

function arrivalOf(req: http.IncomingMessage): Arrival {
  const origin = req.headers.origin;
  return {
    host: req.headers.host,
    origin: origin === '' ? undefined : origin,
    localAddress: req.socket.localAddress,
    localPort: req.socket.localPort,
    secure: req.socket instanceof TLSSocket,
  };
}

/** A comma-separated list of origins (`https://chat.example.org`) in their canonical form, or the first item that is not one. */
export function parseWebOrigins(raw: string): string[] | { readonly bad: string } {
  const origins: string[] = [];
  for (const item of raw.split(',').map((s) => s.trim())) {
    let url: URL | undefined;
    try {
      url = new URL(item);
    } catch {
      url = undefined;
    }
    const bare =
      url !== undefined &&
      (url.protocol === 'http:' || url.protocol === 'https:') &&
      url.username === '' &&
      url.password === '' &&
      url.pathname === '/' &&
      url.search === '' &&
      url.hash === '';
    if (!url || !bare || !/^https?:\/\/[^/]+\/?$/i.test(item)) return { bad: item };
    origins.push(url.origin);
  }
  return origins;
}

export function startWeb(chat: ChatServer, options: WebOptions): Promise<WebHandle> {
  const root = options.root ?? defaultWebRoot();
  let handler: ReturnType<typeof site>;
  try {
    handler = site(root, pageConfig(chat.texts, options.maxLineBytes, chat.options.idleTimeoutMs));
  } catch (err) {
    return Promise.reject(err instanceof Error ? err : new Error(String(err)));
  }
  const extraOrigins = options.origins ?? [];
  // The page's files too: a rebound name gets nothing from this server, not even the page.
  const probes = healthRoutes(chat);
  const scrape = options.metrics === false ? undefined : metricsRoute(chat);
  const respond: http.RequestListener = (req, res) => {
    // Load balancers probe under whatever name they use, and `ok` tells a rebound page nothing.
    if (probes(req, res)) return;
    if (sameOrigin({ ...arrivalOf(req), origin: undefined }, extraOrigins) === 'ok') return scrape?.(req, res) || handler(req, res);
    res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8' }).end('Forbidden: unknown Host (see --web-origin)\n');
  };
  const handshakeTimeout = options.handshakeTimeoutMs ?? TLS_HANDSHAKE_TIMEOUT_MS;
  const server = options.tls ? https.createServer({ ...options.tls.serverOptions(), handshakeTimeout }, respond) : http.createServer(respond);
  const stopUsing = options.tls && server instanceof https.Server ? options.tls.use(server) : undefined;
  // Every connection admitted against the chat's limits at accept, short deadlines, the web's share.
  const guard = guardWeb(server, chat, options.timeouts);
  const wss = new WebSocketServer({
    server,
    path: WEB_SOCKET_PATH,
    maxPayload: maxPayload(options.maxLineBytes),
    // The peer answers pings itself, so that a ping flood ends with a reason (lib/web/peer.ts).
    autoPong: false,
    verifyClient: ({ req }: { req: http.IncomingMessage }, done: (ok: boolean, code?: number, message?: string) => void) => {
      const verdict = sameOrigin(arrivalOf(req), extraOrigins);
      done(verdict === 'ok', 403, verdict === 'host' ? 'Forbidden: unknown Host' : 'Forbidden: cross-origin WebSocket');
    },
  });
  wss.on('connection', (ws, request) => {
    // Without a listener, a socket error (e.g. an oversized frame) would be thrown; the
    // peer's stream reports it to the chat, which logs it and drops the peer.
    ws.on('error', () => {});
    // Behind a trusted proxy, the user is named after the client it names (the port stays the socket's: unique per connection).
    const client = forwardedClient(request.socket.remoteAddress, request.headers, chat.trustProxy);
    const peer = webSocketPeer(ws, request, { maxLineBytes: options.maxLineBytes, outbox: chat.outbox, metrics: chat.metrics, clientIp: client.ip });
    // TLS here, or ended at a trusted proxy that says so (X-Forwarded-Proto: https).
    const secure = request.socket instanceof TLSSocket || client.proto === 'https';
    chat.accept(secure ? { ...peer, secure: true } : peer, 'ws', guard.ticketOf(request.socket));
  });
  // The WebSocketServer re-emits the HTTP server's errors; the listen promise reports them.
  wss.on('error', () => {});

  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      const bound = server.address() as AddressInfo;
      resolve({
        host: bound.address,
        port: bound.port,
        close: () =>
          new Promise<void>((done) => {
            stopUsing?.();
            for (const ws of wss.clients) ws.terminate();
            wss.close();
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
