/**
 * A WebSocket test client for the web edge: one frame per line, read in order with a timeout,
 * like spec/helpers/tcp.ts for TCP.
 */
import WebSocket from 'ws';

export const FRAME_TIMEOUT_MS = 3000;

export class WsClient {
  /** How the server names this client: our end's `ip:port` (once open). */
  addr = '?';
  readonly received: string[] = [];
  /** Resolves with the close code once the connection is closed. */
  readonly closed: Promise<number>;
  private readonly queue: string[] = [];
  private waiter: (() => void) | undefined;
  private ended = false;

  constructor(readonly ws: WebSocket) {
    ws.once('open', () => {
      // ws keeps its socket private; the address is what the server sees of us.
      const socket = (ws as unknown as { _socket: { localAddress: string; localPort: number } })._socket;
      this.addr = `${socket.localAddress}:${socket.localPort}`;
    });
    ws.on('message', (data) => {
      const line = Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]).toString('utf8');
      this.received.push(line);
      this.queue.push(line);
      this.waiter?.();
    });
    this.closed = new Promise((resolve) =>
      ws.once('close', (code) => {
        this.ended = true;
        this.waiter?.();
        resolve(code);
      }),
    );
    ws.on('error', () => undefined);
  }

  send(frame: string | Buffer): void {
    this.ws.send(frame);
  }

  async nextLine(timeoutMs = FRAME_TIMEOUT_MS): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.length === 0) {
      if (this.ended) throw new Error(`${this.addr}: closed while waiting for a frame; received ${JSON.stringify(this.received)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`${this.addr}: no frame within ${timeoutMs} ms; received ${JSON.stringify(this.received)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiter = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.waiter = undefined;
    }
    return this.queue.shift() as string;
  }

  /** Every frame before the server's "no such user" reply to a private message to nobody. */
  async sync(marker = `nobody-${Math.random().toString(36).slice(2)}`): Promise<string[]> {
    this.send(`to|${marker}|ping`);
    const before: string[] = [];
    for (;;) {
      const line = await this.nextLine();
      if (line === `${marker}用户不存在` || line === `${marker}: no such user`) return before;
      before.push(line);
    }
  }

  destroy(): void {
    this.ws.terminate();
  }
}

/** Opens a WebSocket to the web edge's `/chat` (with the page's Origin unless told otherwise). */
export function connectWs(port: number, origin: string | null = `http://127.0.0.1:${port}`): Promise<WsClient> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/chat`, origin === null ? {} : { origin });
    // Listening from the start: the server's first line may come with the handshake.
    const client = new WsClient(ws);
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => {
      ws.terminate();
      reject(new Error(`HTTP ${res.statusCode}`));
    });
    ws.once('open', () => resolve(client));
  });
}
