/**
 * A TCP proxy between one node and Redis that a test can cut and heal: a partial partition
 * (this node cut off while Redis and the other nodes are fine). Cut "refused": every
 * connection through it is closed and new ones are refused (the port stops listening); cut
 * "silent": connections stay open but nothing passes either way (a black hole: the bytes wait
 * in the kernel's buffers), new connections are accepted and held. Heal: it listens again, and
 * what was held flows on.
 */
import * as net from 'node:net';

interface Pair {
  readonly client: net.Socket;
  upstream: net.Socket | undefined;
}

export class CutProxy {
  private readonly pairs = new Set<Pair>();
  private server: net.Server;
  private state: 'open' | 'refused' | 'silent' = 'open';

  private constructor(
    readonly port: number,
    private readonly target: number,
    server: net.Server,
  ) {
    this.server = server;
  }

  /** A proxy on a free loopback port to Redis on `targetPort`. */
  static async start(targetPort: number): Promise<CutProxy> {
    const made: { proxy?: CutProxy } = {};
    const server = net.createServer((socket) => made.proxy?.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const proxy = new CutProxy((server.address() as net.AddressInfo).port, targetPort, server);
    made.proxy = proxy;
    return proxy;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Closes every connection and refuses new ones. */
  async refuse(): Promise<void> {
    this.state = 'refused';
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const pair of this.pairs) this.drop(pair);
    await closed;
  }

  /** Lets nothing through, either way, without closing anything. */
  silence(): void {
    this.state = 'silent';
    for (const pair of this.pairs) {
      pair.client.pause();
      pair.upstream?.pause();
    }
  }

  /** Back to normal: listening again, held connections flowing. */
  async heal(): Promise<void> {
    if (this.state === 'refused') {
      this.server = net.createServer((socket) => this.accept(socket));
      await new Promise<void>((resolve, reject) => {
        this.server.once('error', reject);
        this.server.listen(this.port, '127.0.0.1', () => resolve());
      });
    }
    this.state = 'open';
    for (const pair of this.pairs) this.flow(pair);
  }

  async close(): Promise<void> {
    this.state = 'refused';
    for (const pair of this.pairs) this.drop(pair);
    await new Promise<void>((resolve) => (this.server.listening ? this.server.close(() => resolve()) : resolve()));
  }

  private accept(client: net.Socket): void {
    if (this.state === 'refused') {
      client.destroy();
      return;
    }
    const pair: Pair = { client, upstream: undefined };
    this.pairs.add(pair);
    client.on('error', () => this.drop(pair));
    client.on('close', () => this.drop(pair));
    client.pause();
    if (this.state === 'open') this.flow(pair);
  }

  private flow(pair: Pair): void {
    if (!pair.upstream) {
      const upstream = net.connect({ port: this.target, host: '127.0.0.1' });
      pair.upstream = upstream;
      upstream.on('error', () => this.drop(pair));
      upstream.on('close', () => this.drop(pair));
      upstream.on('data', (data) => void (pair.client.destroyed || pair.client.write(data)));
      pair.client.on('data', (data) => void (upstream.destroyed || upstream.write(data)));
    }
    pair.client.resume();
    pair.upstream.resume();
  }

  private drop(pair: Pair): void {
    if (!this.pairs.delete(pair)) return;
    pair.client.destroy();
    pair.upstream?.destroy();
  }
}
