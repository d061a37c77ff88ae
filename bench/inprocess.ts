/**
 * The fan-out's hot path without sockets: N sessions on one ChatServer with fake peers, lines
 * from 10 senders, nanoseconds of server work per delivery (a line to one recipient). No
 * syscalls, no generator: steady enough to compare two builds of the pipeline on a busy machine.
 *
 *     node -r ts-node/register/transpile-only bench/inprocess.ts [--no-history] [--clients N]
 */
import { Subject } from 'rxjs';
import { ChatServer } from '../lib/server';
import type { Peer } from '../lib/peer';

const args = process.argv.slice(2);
const clients = Number(args[args.indexOf('--clients') + 1]) || 1000;
const lines = 3000;
const server = new ChatServer({ lang: 'en', idleTimeoutMs: 3_600_000, rateLimit: 0, ...(args.includes('--no-history') ? { history: false } : {}) });
let delivered = 0;
const inputs: Subject<string>[] = [];
for (let i = 0; i < clients; i++) {
  const lines$ = new Subject<string>();
  inputs.push(lines$);
  const ip = `10.0.${i >> 8}.${i & 255}`;
  const peer: Peer = {
    addr: `${ip}:${1000 + i}`,
    ip,
    lines$,
    write: () => void delivered++,
    queued: () => 0,
    end: () => {},
    destroy: () => {},
    onClose: () => {},
  };
  server.accept(peer);
}

function run(): number {
  delivered = 0;
  const started = process.hrtime.bigint();
  for (let k = 0; k < lines; k++) inputs[k % 10].next(`hello world ${k}`);
  return Number(process.hrtime.bigint() - started) / delivered;
}

for (let i = 0; i < 3; i++) run(); // warm up
const runs = Array.from({ length: 7 }, run).sort((a, b) => a - b);
process.stdout.write(`${clients} sessions, ${lines} lines from 10 senders: ${runs[3].toFixed(0)} ns per delivery (median of 7; min ${runs[0].toFixed(0)})\n`);
process.exit(0);
