/**
 * The fan-out's hot path without sockets: N sessions on one ChatServer with fake peers, lines
 * from 10 senders, nanoseconds of server work per delivery (a line to one recipient). No
 * syscalls, no generator: steady enough to compare two builds of the pipeline on a busy machine.
 *
 *     node -r ts-node/register/transpile-only bench/inprocess.ts [--no-history] [--clients N]
 */
import { Chunk } from '../lib/outbox';
import { ChatServer } from '../lib/server';
import { fakePeers } from './fake-peers';

const args = process.argv.slice(2);
const clients = Number(args[args.indexOf('--clients') + 1]) || 1000;
const lines = 3000;
const server = new ChatServer({ lang: 'en', idleTimeoutMs: 3_600_000, rateLimit: 0, ...(args.includes('--no-history') ? { history: false } : {}) });
const outbox = server.outbox;
let delivered = 0;
// Counted when the outbox flushes (a chunk's lines are known then).
const inputs = fakePeers(server, clients, (data) => outbox.later(() => (delivered += data instanceof Chunk ? data.lines.length : 1)));

/** One line from each sender a turn, as closed-loop senders do; the outbox flushes between turns. */
async function run(): Promise<number> {
  delivered = 0;
  let elapsed = 0n;
  for (let k = 0; k < lines; k += 10) {
    const started = process.hrtime.bigint();
    for (let s = 0; s < 10; s++) inputs[s].next(`hello world ${k + s}`);
    server.outbox.flushAll();
    elapsed += process.hrtime.bigint() - started;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return Number(elapsed) / delivered;
}

void (async () => {
  for (let i = 0; i < 3; i++) await run(); // warm up
  const runs: number[] = [];
  for (let i = 0; i < 7; i++) runs.push(await run());
  runs.sort((a, b) => a - b);
  process.stdout.write(
    `${clients} sessions, ${lines} lines from 10 senders, 10 a turn: ${runs[3].toFixed(0)} ns per delivery (median of 7; min ${runs[0].toFixed(0)})\n`,
  );
  process.exit(0);
})();
