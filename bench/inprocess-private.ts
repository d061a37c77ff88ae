/**
 * The private path without sockets: N sessions on one ChatServer (accounts and a message log in
 * memory, as the CLI runs them apart from SQLite) with fake peers, `to|` between pairs,
 * microseconds of server work per message, the flush included. The counterpart of bench/inprocess.ts.
 *
 *     node -r ts-node/register/transpile-only bench/inprocess-private.ts [--pairs N]
 */
import { Chunk } from '../lib/outbox';
import { ChatServer } from '../lib/server';
import { fakePeers } from './fake-peers';

const args = process.argv.slice(2);
const pairs = Number(args[args.indexOf('--pairs') + 1]) || 500;
const server = new ChatServer({ lang: 'en', idleTimeoutMs: 3_600_000, rateLimit: 0 });
let delivered = 0;
const inputs = fakePeers(server, 2 * pairs, (data) => void (delivered += data instanceof Chunk ? 0 : 1));
inputs.forEach((input$, i) => input$.next(`rename|u${i}`));

async function run(): Promise<number> {
  const rounds = 20;
  delivered = 0;
  // CPU time, not wall time: the outbox may pace its flush onto a later timer (lib/outbox.ts),
  // and the wait is not work. The last flush is waited for, and counted.
  const started = process.cpuUsage();
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < 2 * pairs; i++) inputs[i].next(`to|u${i ^ 1}|hello there ${r}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
  while (delivered < rounds * 2 * pairs) await new Promise((resolve) => setTimeout(resolve, 1));
  const used = process.cpuUsage(started);
  return (used.user + used.system) / (rounds * 2 * pairs);
}

void (async () => {
  await new Promise((resolve) => setTimeout(resolve, 100));
  for (let i = 0; i < 3; i++) await run(); // warm up
  const runs: number[] = [];
  for (let i = 0; i < 7; i++) runs.push(await run());
  runs.sort((a, b) => a - b);
  process.stdout.write(
    `${pairs} pairs: ${runs[3].toFixed(2)} µs per private message (median of 7; min ${runs[0].toFixed(2)}; ${delivered} delivered in the last run)\n`,
  );
  process.exit(0);
})();
