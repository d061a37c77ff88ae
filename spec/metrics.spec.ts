/**
 * lib/metrics.ts without a socket: the names and labels the issue asks for, a registry per
 * server (two in one process do not collide), tallies read at scrape time, the delivery
 * histogram, the cluster gauges. The metrics moving under a real session: spec/e2e/ops.spec.ts.
 */
import test from 'ava';
import { ServerMetrics } from '../lib/metrics';
import { parseExposition } from './helpers/prometheus';

test('every metric the issue names, typed, with all its label values present from the start', async (t) => {
  const metrics = new ServerMetrics({ online: () => 0 });
  const scrape = parseExposition(await metrics.text());
  t.deepEqual(Object.fromEntries(scrape.types), {
    rxim_connections: 'gauge',
    rxim_connections_total: 'counter',
    rxim_disconnects_total: 'counter',
    rxim_lines_received_total: 'counter',
    rxim_lines_delivered_total: 'counter',
    rxim_lines_dropped_total: 'counter',
    rxim_delivery_seconds: 'histogram',
    rxim_online_users: 'gauge',
  });
  for (const transport of ['tcp', 'ws', 'tls']) {
    t.is(scrape.value('rxim_connections', { transport }), 0);
    t.is(scrape.value('rxim_connections_total', { transport }), 0);
  }
  for (const reason of ['left', 'idle', 'flood', 'sendq', 'error', 'shutdown', 'refused']) t.is(scrape.value('rxim_disconnects_total', { reason }), 0, reason);
  for (const reason of ['rate', 'too_long']) t.is(scrape.value('rxim_lines_dropped_total', { reason }), 0, reason);
  t.is(scrape.value('rxim_delivery_seconds_count'), 0);
  t.is(metrics.contentType.split(';')[0], 'text/plain');
});

test('two servers in one process: two registries, no collision, no shared counts', async (t) => {
  const a = new ServerMetrics({ online: () => 1 });
  const b = new ServerMetrics({ online: () => 2 });
  a.received += 5;
  a.opened.tcp++;
  const [sa, sb] = [parseExposition(await a.text()), parseExposition(await b.text())];
  t.is(sa.value('rxim_lines_received_total'), 5);
  t.is(sb.value('rxim_lines_received_total'), 0);
  t.is(sa.value('rxim_connections_total', { transport: 'tcp' }), 1);
  t.is(sb.value('rxim_connections_total', { transport: 'tcp' }), 0);
  t.is(sa.value('rxim_online_users'), 1);
  t.is(sb.value('rxim_online_users'), 2);
});

test('tallies are read when scraped: counters keep counting between scrapes', async (t) => {
  const metrics = new ServerMetrics({ online: () => 0 });
  metrics.delivered += 1000;
  metrics.dropped.rate += 2;
  metrics.disconnects.idle++;
  metrics.open.ws++;
  let scrape = parseExposition(await metrics.text());
  t.is(scrape.value('rxim_lines_delivered_total'), 1000);
  t.is(scrape.value('rxim_lines_dropped_total', { reason: 'rate' }), 2);
  t.is(scrape.value('rxim_disconnects_total', { reason: 'idle' }), 1);
  t.is(scrape.value('rxim_connections', { transport: 'ws' }), 1);
  metrics.delivered += 10;
  metrics.open.ws--;
  scrape = parseExposition(await metrics.text());
  t.is(scrape.value('rxim_lines_delivered_total'), 1010);
  t.is(scrape.value('rxim_connections', { transport: 'ws' }), 0);
});

test('delivery: one observation per line rendered, made at the flush, none for an empty flush', async (t) => {
  const metrics = new ServerMetrics({ online: () => 0 });
  metrics.flushing();
  metrics.arrived();
  metrics.arrived();
  const started = performance.now();
  while (performance.now() - started < 3); // a flush 3 ms later (a busy wait: performance.now cannot be faked here)
  metrics.flushing();
  metrics.flushing();
  const scrape = parseExposition(await metrics.text());
  t.is(scrape.value('rxim_delivery_seconds_count'), 2);
  t.is(scrape.value('rxim_delivery_seconds_bucket', { le: '0.0025' }), 0, 'both waited at least 3 ms');
  t.is(scrape.value('rxim_delivery_seconds_bucket', { le: '+Inf' }), 2);
  t.true((scrape.value('rxim_delivery_seconds_sum') ?? 0) >= 0.006);
});

test('a cluster node: linked 0/1 and the nodes it sees; NaN when Redis cannot say', async (t) => {
  let clustered = true;
  let nodes: number | Error = 3;
  const metrics = new ServerMetrics({
    online: () => 4,
    cluster: {
      get clustered() {
        return clustered;
      },
      nodes: () => (nodes instanceof Error ? Promise.reject(nodes) : Promise.resolve(nodes)),
    },
  });
  let scrape = parseExposition(await metrics.text());
  t.is(scrape.value('rxim_cluster_linked'), 1);
  t.is(scrape.value('rxim_cluster_nodes'), 3);
  clustered = false;
  nodes = new Error('Connection is closed.');
  scrape = parseExposition(await metrics.text());
  t.is(scrape.value('rxim_cluster_linked'), 0);
  t.true(Number.isNaN(scrape.value('rxim_cluster_nodes')));
});

test('the in-memory hub has no cluster metrics', async (t) => {
  const scrape = parseExposition(await new ServerMetrics({ online: () => 0 }).text());
  t.false(scrape.types.has('rxim_cluster_linked'));
  t.false(scrape.types.has('rxim_cluster_nodes'));
});

test('the reader refuses what a scraper would', (t) => {
  t.throws(() => parseExposition('rxim_x 1\n'), { message: /before its # TYPE/ });
  t.throws(() => parseExposition('# TYPE a gauge\na{b=c} 1\n'), { message: /bad label/ });
  t.throws(() => parseExposition('# TYPE a gauge\na one\n'), { message: /bad value/ });
  t.throws(() => parseExposition('# TYPE a gauge\na 1'), { message: /newline/ });
});
