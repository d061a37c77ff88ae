/**
 * The operator's HTTP endpoints: `GET /healthz` (200 while the server accepts connections),
 * `GET /readyz` (200 while it can serve: not shutting down and, on a Redis cluster, linked) and
 * `GET /metrics` (Prometheus text). On the web port, or on their own port (`--metrics-port`,
 * `startOps`), which is not public unless the operator binds it so.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { clusterOf } from '../metrics';
import type { ChatServer } from '../server';

export interface Health {
  /** Accepting connections. */
  readonly live: boolean;
  /** Able to serve as a full member of the chat. */
  readonly ready: boolean;
  /** Why not, for the probe's body and the operator reading it. */
  readonly why: string;
}

export function healthOf(chat: ChatServer): Health {
  if (!chat.accepting) return { live: false, ready: false, why: 'shutting down' };
  const cluster = clusterOf(chat.hub);
  if (cluster && !cluster.clustered) return { live: true, ready: false, why: 'cluster link down (Redis): serving local users only' };
  return { live: true, ready: true, why: 'ok' };
}

/** A route answers its request (true) or leaves it to the next (false). */
export type Route = (req: http.IncomingMessage, res: http.ServerResponse) => boolean;

const TEXT = 'text/plain; charset=utf-8';

function pathOf(req: http.IncomingMessage): string {
  return (req.url ?? '/').split('?')[0];
}

function onlyGet(req: http.IncomingMessage, res: http.ServerResponse): boolean {
  if (req.method === 'GET' || req.method === 'HEAD') return true;
  res.writeHead(405, { allow: 'GET, HEAD', 'content-type': TEXT }).end('Method Not Allowed\n');
  return false;
}

/** `/healthz` and `/readyz`: 200 `ok`, or 503 saying why. */
export function healthRoutes(chat: ChatServer): Route {
  return (req, res) => {
    const path = pathOf(req);
    if (path !== '/healthz' && path !== '/readyz') return false;
    if (!onlyGet(req, res)) return true;
    const health = healthOf(chat);
    const ok = path === '/healthz' ? health.live : health.ready;
    res.writeHead(ok ? 200 : 503, { 'content-type': TEXT, 'cache-control': 'no-store' }).end(ok ? 'ok\n' : `${health.why}\n`);
    return true;
  };
}

/** `/metrics`: this server's registry in the Prometheus text format. */
export function metricsRoute(chat: ChatServer): Route {
  return (req, res) => {
    if (pathOf(req) !== '/metrics') return false;
    if (!onlyGet(req, res)) return true;
    chat.metrics.text().then(
      (text) => res.writeHead(200, { 'content-type': chat.metrics.contentType, 'cache-control': 'no-store' }).end(text),
      (err: unknown) => res.writeHead(500, { 'content-type': TEXT }).end(`cannot collect metrics: ${err instanceof Error ? err.message : String(err)}\n`),
    );
    return true;
  };
}

export interface OpsOptions {
  /** 127.0.0.1 by default: metrics are for the operator, not the public. */
  readonly host: string;
  /** 0 picks a free one. */
  readonly port: number;
}

export interface OpsHandle {
  readonly host: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * `--metrics-port`: the three endpoints on a port of their own. No Host check here (Prometheus
 * names its targets as it likes); what guards it is the address it is bound to.
 */
export function startOps(chat: ChatServer, options: OpsOptions): Promise<OpsHandle> {
  const routes = [healthRoutes(chat), metricsRoute(chat)];
  const server = http.createServer((req, res) => {
    if (!routes.some((route) => route(req, res))) res.writeHead(404, { 'content-type': TEXT }).end('Not Found: /metrics, /healthz, /readyz\n');
  });
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
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
