#!/usr/bin/env node
/**
 * Delivered lines a second: one node (in memory), one node on Redis, two nodes on one Redis
 * with the clients split between them. Bounded in clients, messages and time; servers and
 * redis-server are child processes on 127.0.0.1, stopped at the end.
 *
 *   node -r ts-node/register/transpile-only bench/redis-two-nodes.ts [--clients 100] [--senders 10] [--messages 200] [--runs 3] [--timeout 20]
 *
 * Each scenario runs `--runs` times on the same servers; the table shows the median.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { HAVE_REDIS, NO_REDIS, startRedis } from '../spec/helpers/redis';
import { transpileCli } from '../spec/redis/transpiled-cli';

const ROOT = path.resolve(__dirname, '..');

interface Options {
  clients: number;
  senders: number;
  messages: number;
  timeoutS: number;
  runs: number;
}

function options(argv: readonly string[]): Options {
  const o: Options = { clients: 100, senders: 10, messages: 200, timeoutS: 20, runs: 3 };
  for (let i = 0; i < argv.length; i += 2) {
    const value = Number(argv[i + 1]);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`bad value for ${argv[i]}: ${argv[i + 1]}`);
    if (argv[i] === '--clients') o.clients = Math.min(Math.floor(value), 2000);
    else if (argv[i] === '--senders') o.senders = Math.floor(value);
    else if (argv[i] === '--messages') o.messages = Math.min(Math.floor(value), 100_000);
    else if (argv[i] === '--timeout') o.timeoutS = Math.min(value, 120);
    else if (argv[i] === '--runs') o.runs = Math.min(Math.floor(value), 10);
    else throw new Error(`unknown flag ${argv[i]}`);
  }
  o.senders = Math.min(o.senders, o.clients);
  return o;
}

const cli = transpileCli();

function startServer(redisUrl?: string): Promise<{ port: number; child: ChildProcess }> {
  const args = ['--port', '0', '--no-web', '--rate-limit', '0', '--idle-timeout', '3600', '--max-connections', '100000'];
  if (redisUrl) args.push('--redis', redisUrl);
  const child = spawn(process.execPath, [...cli.args, ...args], { cwd: ROOT, env: cli.env, stdio: ['ignore', 'pipe', 'ignore'] });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on \S+:(\d+) \(tcp\)/.exec(out);
      if (match) resolve({ port: Number(match[1]), child });
    });
    child.once('exit', (code) => reject(new Error(`server exited (${code})`)));
  });
}

/** A client that counts the benchmark's lines it receives (`bench:` in them). */
class Counter {
  count = 0;
  private carry = '';
  constructor(readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (data: string) => {
      const text = this.carry + data;
      const lines = text.split('\n');
      this.carry = lines.pop() ?? '';
      for (const line of lines) if (line.includes(':bench ')) this.count++;
    });
    socket.on('error', () => undefined);
  }
}

function connect(port: number): Promise<Counter> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('error', reject);
    socket.once('connect', () => resolve(new Counter(socket)));
  });
}

/** A `who` round trip on every client: after it, each one's join has been handled everywhere. */
async function settle(clients: readonly Counter[]): Promise<void> {
  await Promise.all(
    clients.map(
      (c) =>
        new Promise<void>((resolve) => {
          let seen = '';
          const onData = (data: string) => {
            seen += data;
            if (seen.includes('bench-sync用户不存在')) {
              c.socket.off('data', onData);
              resolve();
            }
          };
          c.socket.on('data', onData);
          c.socket.write('to|bench-sync|x\n');
        }),
    ),
  );
}

interface Result {
  readonly scenario: string;
  readonly nodes: number;
  readonly clients: number;
  readonly expected: number;
  readonly delivered: number;
  readonly seconds: number;
  readonly linesPerSecond: number;
}

/** The median run of `o.runs`, by lines a second. */
async function scenario(name: string, ports: readonly number[], o: Options): Promise<Result & { readonly all: readonly number[] }> {
  const runs: Result[] = [];
  for (let i = 0; i < o.runs; i++) runs.push(await once(name, ports, o));
  const sorted = [...runs].sort((a, b) => a.linesPerSecond - b.linesPerSecond);
  return { ...sorted[Math.floor(sorted.length / 2)], all: runs.map((r) => r.linesPerSecond) };
}

async function once(name: string, ports: readonly number[], o: Options): Promise<Result> {
  const clients: Counter[] = [];
  for (let i = 0; i < o.clients; i++) clients.push(await connect(ports[i % ports.length]));
  await settle(clients);
  const expected = o.clients * o.senders * o.messages;
  const total = () => clients.reduce((sum, c) => sum + c.count, 0);
  const started = process.hrtime.bigint();
  // Senders alternate between nodes (client i is on node i % nodes).
  for (let s = 0; s < o.senders; s++) {
    const lines = Array.from({ length: o.messages }, (_, m) => `bench ${s} ${m}\n`).join('');
    clients[s].socket.write(lines);
  }
  const deadline = Date.now() + o.timeoutS * 1000;
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      if (total() >= expected || Date.now() > deadline) {
        clearInterval(poll);
        resolve();
      }
    }, 5);
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const delivered = total();
  for (const c of clients) c.socket.destroy();
  return { scenario: name, nodes: ports.length, clients: o.clients, expected, delivered, seconds, linesPerSecond: Math.round(delivered / seconds) };
}

async function main(): Promise<void> {
  const o = options(process.argv.slice(2));
  if (!HAVE_REDIS) {
    process.stderr.write(`${NO_REDIS}\n`);
    process.exitCode = 1;
    return;
  }
  const children: ChildProcess[] = [];
  const redis = await startRedis();
  const results: (Result & { readonly all: readonly number[] })[] = [];
  try {
    const memory = await startServer();
    children.push(memory.child);
    results.push(await scenario('1 node, in memory', [memory.port], o));
    const one = await startServer(redis.url);
    children.push(one.child);
    results.push(await scenario('1 node, Redis hub', [one.port], o));
    const two = await startServer(redis.url);
    children.push(two.child);
    results.push(await scenario('2 nodes, Redis hub', [one.port, two.port], o));
  } finally {
    for (const child of children) child.kill('SIGKILL');
    await redis.stop();
    cli.remove();
  }
  process.stdout.write(`${o.clients} clients, ${o.senders} senders x ${o.messages} lines (each delivered to every client)\n`);
  process.stdout.write(`median of ${o.runs} runs each\n`);
  process.stdout.write('| scenario | nodes | delivered / expected | seconds | delivered lines/s | all runs |\n|---|---|---|---|---|---|\n');
  for (const r of results) {
    process.stdout.write(
      `| ${r.scenario} | ${r.nodes} | ${r.delivered} / ${r.expected} | ${r.seconds.toFixed(2)} | ${r.linesPerSecond} | ${r.all.join(', ')} |\n`,
    );
  }
  process.stdout.write(JSON.stringify({ options: o, results }) + '\n');
}

main().catch((err: Error) => {
  process.stderr.write(`redis-two-nodes: ${err.message}\n`);
  process.exit(1);
});
