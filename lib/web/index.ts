/**
 * The web chat's edge: one HTTP server for the page and, on `/chat`, a WebSocket endpoint
 * whose connections become peers of the same `ChatServer` as the TCP clients.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { ChatServer } from '../server';
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

/**
 * A page from another site must not open a chat connection in its visitor's name: a browser
 * always sends `Origin`, and it must be this server. Non-browser clients send none.
 */
export function sameOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true;
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}

export function startWeb(chat: ChatServer, options: WebOptions): Promise<WebHandle> {
  const root = options.root ?? defaultWebRoot();
  let handler: ReturnType<typeof site>;
  try {
    handler = site(root, pageConfig(chat.texts, options.maxLineBytes));
  } catch (err) {
    return Promise.reject(err);
  }
  const server = http.createServer(handler);
  const wss = new WebSocketServer({
    server,
    path: WEB_SOCKET_PATH,
    maxPayload: maxPayload(options.maxLineBytes),
    verifyClient: ({ origin, req }: { origin: string; req: http.IncomingMessage }, done: (ok: boolean, code?: number, message?: string) => void) =>
      done(sameOrigin(origin || undefined, req.headers.host), 403, 'Forbidden: cross-origin WebSocket'),
  });
  wss.on('connection', (ws, request) => {
    // Without a listener, a socket error (e.g. an oversized frame) would be thrown; the
    // peer's stream reports it to the chat, which logs it and drops the peer.
    ws.on('error', () => {});
    chat.accept(webSocketPeer(ws, request, { maxLineBytes: options.maxLineBytes, outbox: chat.outbox }));
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
            for (const ws of wss.clients) ws.terminate();
            wss.close();
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
