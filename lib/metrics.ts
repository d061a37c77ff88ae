/**
 * A server's Prometheus metrics (`GET /metrics`): each `ChatServer` owns one `ServerMetrics`
 * with its own prom-client `Registry`, so two servers in one process never share a series.
 *
 * The hot path never calls prom-client. It adds to plain numbers on this object (a line read,
 * a batch written to a socket: one addition per batch, not per recipient), and the metrics
 * read those numbers when Prometheus scrapes. prom-client's `inc()` with labels hashes and
 * validates its label set on every call; a plain `+=` costs nothing measurable.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export const TRANSPORTS = ['tcp', 'ws', 'tls'] as const;
export type Transport = (typeof TRANSPORTS)[number];

export const DISCONNECT_REASONS = ['left', 'idle', 'flood', 'sendq', 'error', 'shutdown', 'refused'] as const;
export type DisconnectReason = (typeof DISCONNECT_REASONS)[number];

export const DROP_REASONS = ['rate', 'too_long'] as const;
export type DropReason = (typeof DROP_REASONS)[number];

/** What a shared hub says about its cluster (`RedisHub`); absent for the in-memory hub. */
export interface ClusterView {
  /** True while the node shares the chat with the others. */
  readonly clustered: boolean;
  /** The registered nodes, this one included; asked at scrape time. */
  nodes?(): number | Promise<number>;
}

/** A hub that is a cluster node (`RedisHub`), told apart without importing lib/redis. */
export function clusterOf(hub: object): ClusterView | undefined {
  return 'clustered' in hub && typeof hub.clustered === 'boolean' ? (hub as ClusterView) : undefined;
}

export interface MetricsSources {
  /** Users online on this node: the hub's size. */
  readonly online: () => number;
  /** With a shared hub: its link and the nodes it sees. */
  readonly cluster?: ClusterView;
}

/** Seconds; a chat line usually leaves within a turn of the event loop (well under 1 ms). */
export const DELIVERY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

function zeros<K extends string>(keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((key) => [key, 0])) as Record<K, number>;
}

export class ServerMetrics {
  readonly registry = new Registry();

  // The tallies: written by the server and its peers, read at scrape time.
  /** Lines read from clients, whatever became of them. */
  received = 0;
  /** Lines handed to client sockets (added once per write batch). */
  delivered = 0;
  readonly dropped = zeros(DROP_REASONS);
  readonly open = zeros(TRANSPORTS);
  readonly opened = zeros(TRANSPORTS);
  readonly disconnects = zeros(DISCONNECT_REASONS);

  private readonly delivery: Histogram;
  // performance.now() of each line rendered since the last flush: its arrival.
  private arrivals: number[] = [];

  constructor(sources: MetricsSources) {
    const registers = [this.registry];
    const open = this.open;
    const received = () => this.received;
    const delivered = () => this.delivered;
    new Gauge({
      name: 'rxim_connections',
      help: 'Clients connected now, by transport.',
      labelNames: ['transport'],
      registers,
      collect() {
        for (const transport of TRANSPORTS) this.set({ transport }, open[transport]);
      },
    });
    counter('rxim_connections_total', 'Clients accepted since the start, by transport.', 'transport', this.opened, registers);
    counter('rxim_disconnects_total', 'Connections ended (or refused), by reason.', 'reason', this.disconnects, registers);
    new Counter({
      name: 'rxim_lines_received_total',
      help: 'Lines read from clients.',
      registers,
      collect() {
        this.reset();
        this.inc(received());
      },
    });
    new Counter({
      name: 'rxim_lines_delivered_total',
      help: 'Lines written to client sockets (one per recipient).',
      registers,
      collect() {
        this.reset();
        this.inc(delivered());
      },
    });
    counter('rxim_lines_dropped_total', 'Lines read and dropped, by reason.', 'reason', this.dropped, registers);
    this.delivery = new Histogram({
      name: 'rxim_delivery_seconds',
      help: "From a line's arrival to its flush to the recipients' sockets.",
      buckets: DELIVERY_BUCKETS,
      registers,
    });
    new Gauge({
      name: 'rxim_online_users',
      help: 'Users online on this node.',
      registers,
      collect() {
        this.set(sources.online());
      },
    });
    const cluster = sources.cluster;
    if (cluster) {
      new Gauge({
        name: 'rxim_cluster_linked',
        help: '1 while this node is linked to the cluster through Redis, 0 while degraded.',
        registers,
        collect() {
          this.set(cluster.clustered ? 1 : 0);
        },
      });
      const nodes = cluster.nodes?.bind(cluster);
      if (nodes) {
        new Gauge({
          name: 'rxim_cluster_nodes',
          help: 'Nodes registered in the cluster, this one included.',
          registers,
          async collect() {
            try {
              this.set(await nodes());
            } catch {
              this.set(NaN); // Redis cannot say: unknown, rather than a stale count or a false 0
            }
          },
        });
      }
    }
  }

  /** A line was rendered for delivery now (a message, a join...): its wait starts. Once per event. */
  arrived(): void {
    this.arrivals.push(performance.now());
  }

  /** The outbox is about to write: every line rendered since the last flush has waited until now. */
  flushing(): void {
    if (this.arrivals.length === 0) return;
    const now = performance.now();
    for (const at of this.arrivals) this.delivery.observe((now - at) / 1000);
    this.arrivals = [];
  }

  /** The Prometheus text exposition of this server's metrics. */
  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/** A labeled counter read from a tally at scrape time (every label value present, 0 or not). */
function counter<K extends string>(name: string, help: string, label: string, tally: Record<K, number>, registers: Registry[]): void {
  new Counter({
    name,
    help,
    labelNames: [label],
    registers,
    collect() {
      this.reset();
      for (const [value, n] of Object.entries(tally) as [K, number][]) this.inc({ [label]: value }, n);
    },
  });
}
