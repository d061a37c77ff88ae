/** A run's figures as the few lines a person reads. */
import { BenchResult, ConnectResult, PhaseResult } from './run';

const n = (x: number | undefined, digits = 0) =>
  x === undefined || !Number.isFinite(x) ? '-' : x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function phase(title: string, r: PhaseResult): string[] {
  const l = r.latencyMs;
  const lostSenders = Object.entries(r.lostBySender).filter(([, v]) => v > 0);
  return [
    `${title}: ${n(r.delivered)} of ${n(r.expected)} lines delivered in ${n(r.seconds, 2)} s = ${n(r.deliveredPerSec)} lines/s (${n(r.sent)} messages sent)`,
    `  latency ms: p50 ${n(l.p50, 2)}  p90 ${n(l.p90, 2)}  p99 ${n(l.p99, 2)}  max ${n(l.max, 2)}`,
    `  lost ${n(r.lost)}${
      lostSenders.length
        ? ` (by sender: ${lostSenders
            .slice(0, 10)
            .map(([k, v]) => `${k}:${v}`)
            .join(' ')}${lostSenders.length > 10 ? ' ...' : ''})`
        : ''
    }, reordered ${n(r.reordered)}, duplicates ${n(r.duplicates)}, malformed lines ${n(r.malformed)}, misrouted ${n(r.misrouted)}, readers disconnected ${n(r.disconnected)}`,
    `  server CPU ${n(r.serverCpuSeconds, 2)} s = ${n(r.serverCpuPerMillion, 2)} s per million lines, RSS ${r.serverRssBytes === undefined ? '-' : n(r.serverRssBytes / 1048576, 1)} MiB; generator CPU ${n(r.generatorCpuSeconds, 2)} s (${n(r.generatorCores, 2)} cores)`,
  ];
}

function connect(c: ConnectResult): string[] {
  const mib = (b: number | undefined) => (b === undefined ? '-' : n(b / 1048576, 1));
  return [
    `connect: ${n(c.connected)} of ${n(c.connections)} connections in ${n(c.connectSeconds, 2)} s = ${n(c.acceptedPerSec)} connected/s`,
    c.joinSeconds !== undefined
      ? `  all saw their own join line after ${n(c.joinSeconds, 2)} s`
      : `  only ${n(c.joined)} of ${n(c.connections)} saw their own join line within ${n(c.timedOutAfterSeconds)} s (--duration)`,
    `  join announcements received ${n(c.linesReceived)} (at least ${n(c.linesAtLeast)} once all are announced; waited ${n(c.settleSeconds, 1)} s after the last join)`,
    `  server RSS MiB: before ${mib(c.serverRssBeforeBytes)}, all joined ${mib(c.serverRssJoinedBytes)}, settled ${mib(c.serverRssSettledBytes)}; ${n(c.rssPerConnectionKiB, 1)} KiB per connection`,
    `  server CPU ${n(c.serverCpuSeconds, 2)} s = ${n(c.serverCpuPerMillion, 2)} s per million lines; generator CPU ${n(c.generatorCpuSeconds, 2)} s (${n(c.generatorCores, 2)} cores)`,
  ];
}

export function summarize(r: BenchResult): string {
  const o = r.options;
  const head =
    r.scenario === 'connect'
      ? `rx-im-bench connect against ${r.label}: C=${o.clients}`
      : r.scenario === 'private'
        ? `rx-im-bench private against ${r.label}: ${o.clients / 2} pairs, M=${o.messages}, ${o.size} chars, ${o.mode}${o.mode === 'pipelined' ? ` (window ${o.window})` : ''}`
        : `rx-im-bench ${r.scenario} against ${r.label}: C=${o.clients} S=${o.senders} M=${o.messages}, ${o.size} chars, ${o.mode}${o.mode === 'pipelined' ? ` (window ${o.window})` : ''}${r.scenario === 'slow' ? `, K=${o.slow} non-readers` : ''}`;
  const lines = [head];
  if (r.baseline) lines.push(...phase('without non-readers', r.baseline));
  if (r.run) lines.push(...phase(r.scenario === 'slow' ? `with ${o.slow} non-readers` : r.scenario, r.run));
  if (r.throughputRatio !== undefined) lines.push(`  readers' throughput with non-readers: ${n(r.throughputRatio * 100, 1)}% of without`);
  if (r.scenario === 'slow')
    lines.push(
      `  responsive after: ${r.probeJoinMs === undefined ? 'NO (a new connection saw no join line within 5 s)' : `a new connection saw its join line in ${n(r.probeJoinMs, 1)} ms`}`,
    );
  if (r.connect) lines.push(...connect(r.connect));
  if (r.stalled) lines.push(`STALLED: ${r.stalled}`);
  return lines.join('\n');
}
