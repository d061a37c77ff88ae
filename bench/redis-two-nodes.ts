#!/usr/bin/env node
/**
 * Delivered lines a second: one node (in memory), one node on Redis, two nodes on one Redis
 * with the clients split between them (the Redis hub delivers from the log stream). With
 * `--pubsub-ref REV`, the same two Redis scenarios again with the server as it was at git
 * commit REV (the pub/sub hub before the stream), in the same sitting. Bounded in clients,
 * messages and time; servers and redis-server are child processes on 127.0.0.1, stopped at
 * the end. The load average is printed with the figures: the machine may be shared.
 *
 *   node -r ts-node/register/transpile-only bench/redis-two-nodes.ts [--clients 100] [--senders 10] [--messages 200] [--runs 3] [--timeout 20] [--pubsub-ref c833758^]
 *
 * Each scenario runs `--runs` times on the same servers; the table shows the median.
 */
import { ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { HAVE_REDIS, NO_REDIS, RedisServer, startRedis } from '../spec/helpers/redis';
import { TranspiledCli, transpileCli } from '../spec/redis/transpiled-cli';

const ROOT = path.resolve(__dirname, '..');

interface Options {
  clients: number;
  senders: number;
  messages: number;
  timeoutS: number;
  runs: number;
  /** A git commit whose server to measure too (the pub/sub hub). */
  pubsubRef?: string;
  /** Cross-node latency samples, public line and private message (0: none). */
  latency: number;
}

function options(argv: readonly string[]): Options {
  const o: Options = { clients: 100, senders: 10, messages: 200, timeoutS: 20, runs: 3, latency: 0 };
  for (let i = 0; i < argv.length; i += 2) {
    if (argv[i] === '--pubsub-ref') {
      o.pubsubRef = argv[i + 1];
      continue;
    }
    const value = Number(argv[i + 1]);
    if (!Number.isFinite(value) || value <= 0) throw new Error(`bad value for ${argv[i]}: ${argv[i + 1]}`);
    if (argv[i] === '--clients') o.clients = Math.min(Math.floor(value), 2000);
    else if (argv[i] === '--senders') o.senders = Math.floor(value);
    else if (argv[i] === '--messages') o.messages = Math.min(Math.floor(value), 100_000);
    else if (argv[i] === '--timeout') o.timeoutS = Math.min(value, 120);
    else if (argv[i] === '--runs') o.runs = Math.min(Math.floor(value), 10);
    else if (argv[i] === '--latency') o.latency = Math.min(Math.floor(value), 10_000);
    else throw new Error(`unknown flag ${argv[i]}`);
  }
  o.senders = Math.min(o.senders, o.clients);
  return o;
}

const cli = transpileCli();

function startServer(redisUrl?: string, from: TranspiledCli = cli): Promise<{ port: number; child: ChildProcess }> {
  const args = ['--port', '0', '--no-web', '--rate-limit', '0', '--idle-timeout', '3600', '--max-connections', '100000'];
  if (redisUrl) args.push('--redis', redisUrl);
  const child = spawn(process.execPath, [...from.args, ...args], { cwd: ROOT, env: from.env, stdio: ['ignore', 'pipe', 'ignore'] });
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
  /** CPU seconds per million deliveries: the server processes, and redis-server. */
  readonly nodeCpu: number;
  readonly redisCpu: number;
}

/** A scenario: the ports its clients connect to, the processes whose CPU it costs. */
interface Setup {
  readonly name: string;
  readonly ports: readonly number[];
  readonly pids: readonly number[];
  readonly redisPid?: number;
}

/** utime + stime of a process, in seconds (Linux /proc); 0 where it cannot be read. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/**
 * Every setup's runs, interleaved (run 1 of each, then run 2 of each...): on a shared machine
 * whose load changes over minutes, each scenario gets the same mix of quiet and busy moments.
 * The median run by lines a second, with every run's figure.
 */
async function interleaved(setups: readonly Setup[], o: Options): Promise<(Result & { readonly all: readonly number[] })[]> {
  const runs = setups.map((): Result[] => []);
  for (let i = 0; i < o.runs; i++) for (const [k, setup] of setups.entries()) runs[k].push(await once(setup, o));
  return runs.map((all) => {
    const sorted = [...all].sort((a, b) => a.linesPerSecond - b.linesPerSecond);
    return { ...sorted[Math.floor(sorted.length / 2)], all: all.map((r) => r.linesPerSecond) };
  });
}

async function once(setup: Setup, o: Options): Promise<Result> {
  const { ports } = setup;
  const clients: Counter[] = [];
  for (let i = 0; i < o.clients; i++) clients.push(await connect(ports[i % ports.length]));
  await settle(clients);
  const expected = o.clients * o.senders * o.messages;
  const total = () => clients.reduce((sum, c) => sum + c.count, 0);
  const cpu = () => [setup.pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0), cpuSeconds(setup.redisPid)];
  const [nodeBefore, redisBefore] = cpu();
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
  const [nodeAfter, redisAfter] = cpu();
  const delivered = total();
  for (const c of clients) c.socket.destroy();
  const perMillion = (used: number) => (delivered > 0 ? (used * 1e6) / delivered : 0);
  return {
    scenario: setup.name,
    nodes: ports.length,
    clients: o.clients,
    expected,
    delivered,
    seconds,
    linesPerSecond: Math.round(delivered / seconds),
    nodeCpu: perMillion(nodeAfter - nodeBefore),
    redisCpu: perMillion(redisAfter - redisBefore),
  };
}

/** A line socket read line by line, for the latency probe. */
function lineReader(socket: net.Socket): (match: (line: string) => boolean) => Promise<void> {
  let carry = '';
  let waiting: { match: (line: string) => boolean; done: () => void } | undefined;
  socket.setEncoding('utf8');
  socket.on('data', (data: string) => {
    const lines = (carry + data).split('\n');
    carry = lines.pop() ?? '';
    for (const line of lines) {
      if (waiting?.match(line)) {
        const w = waiting;
        waiting = undefined;
        w.done();
      }
    }
  });
  return (match) => new Promise((resolve) => (waiting = { match, done: resolve }));
}

/**
 * Milliseconds from a client on node A sending to a client on node B receiving, one at a time:
 * a public line (through the log stream or pub/sub) and a private message (pub/sub either way).
 */
async function latency(a: number, b: number, samples: number): Promise<{ say: number[]; whisper: number[] }> {
  const open = (port: number) =>
    new Promise<net.Socket>((resolve, reject) => {
      const socket = net.connect({ port, host: '127.0.0.1' });
      socket.once('error', reject);
      // Without it the client's Nagle waits for the server's delayed ACK: 40 ms a sample.
      socket.setNoDelay(true);
      socket.once('connect', () => resolve(socket));
    });
  const [from, to] = [await open(a), await open(b)];
  const hear = lineReader(to);
  lineReader(from);
  to.write('rename|bench-b\n');
  await hear((line) => line.endsWith(':bench-b'));
  const out = { say: [] as number[], whisper: [] as number[] };
  for (let i = 0; i < samples; i++) {
    for (const kind of ['say', 'whisper'] as const) {
      const text = `probe ${kind} ${i}`;
      const heard = hear((line) => line.endsWith(text));
      const started = process.hrtime.bigint();
      from.write(kind === 'say' ? `${text}\n` : `to|bench-b|${text}\n`);
      await heard;
      out[kind].push(Number(process.hrtime.bigint() - started) / 1e6);
    }
  }
  from.destroy();
  to.destroy();
  return out;
}

const quantile = (values: readonly number[], q: number) => [...values].sort((x, y) => x - y)[Math.min(values.length - 1, Math.floor(q * values.length))] ?? NaN;

async function main(): Promise<void> {
  const o = options(process.argv.slice(2));
  if (!HAVE_REDIS) {
    process.stderr.write(`${NO_REDIS}\n`);
    process.exitCode = 1;
    return;
  }
  const children: ChildProcess[] = [];
  const redises: RedisServer[] = [];
  const results: (Result & { readonly all: readonly number[] })[] = [];
  const latencies: string[] = [];
  const old = o.pubsubRef === undefined ? undefined : transpileCli(o.pubsubRef);
  const loadBefore = os.loadavg();
  const start = async (redisUrl: string | undefined, from: TranspiledCli) => {
    const server = await startServer(redisUrl, from);
    children.push(server.child);
    return { port: server.port, pid: server.child.pid ?? 0 };
  };
  try {
    // One Redis per hub version: the two must not share keys.
    const versions = [['Redis stream', cli] as const, ...(old ? [[`Redis pub/sub (${o.pubsubRef})`, old] as const] : [])];
    const memory = await start(undefined, cli);
    const firsts = [];
    for (const [label, from] of versions) {
      const redis = await startRedis();
      redises.push(redis);
      firsts.push({ label, from, redis, one: await start(redis.url, from) });
    }
    // One node each first (no second node reading the log meanwhile), then two.
    results.push(
      ...(await interleaved(
        [
          { name: '1 node, in memory', ports: [memory.port], pids: [memory.pid] },
          ...firsts.map(({ label, redis, one }) => ({ name: `1 node, ${label}`, ports: [one.port], pids: [one.pid], redisPid: redis.pid })),
        ],
        o,
      )),
    );
    const pairs = [];
    for (const first of firsts) pairs.push({ ...first, two: await start(first.redis.url, first.from) });
    for (const { label, one, two } of o.latency > 0 ? pairs : []) {
      const probe = await latency(one.port, two.port, o.latency);
      latencies.push(
        `${label}: public line median ${quantile(probe.say, 0.5).toFixed(2)} ms, p99 ${quantile(probe.say, 0.99).toFixed(2)} ms; ` +
          `private message median ${quantile(probe.whisper, 0.5).toFixed(2)} ms, p99 ${quantile(probe.whisper, 0.99).toFixed(2)} ms (${o.latency} each)`,
      );
    }
    results.push(
      ...(await interleaved(
        pairs.map(({ label, redis, one, two }) => ({ name: `2 nodes, ${label}`, ports: [one.port, two.port], pids: [one.pid, two.pid], redisPid: redis.pid })),
        o,
      )),
    );
  } finally {
    for (const child of children) child.kill('SIGKILL');
    for (const redis of redises) await redis.stop();
    cli.remove();
    old?.remove();
  }
  const loadAfter = os.loadavg();
  process.stdout.write(
    `load average (1, 5, 15 min): before ${loadBefore.map((l) => l.toFixed(2)).join(', ')}; after ${loadAfter.map((l) => l.toFixed(2)).join(', ')}; ${os.cpus().length} cores\n`,
  );
  process.stdout.write(`${o.clients} clients, ${o.senders} senders x ${o.messages} lines (each delivered to every client)\n`);
  process.stdout.write(`median of ${o.runs} runs each, the scenarios' runs interleaved\n`);
  process.stdout.write(
    '| scenario | nodes | delivered / expected | seconds | delivered lines/s | CPU s per 1M: nodes, redis | all runs |\n|---|---|---|---|---|---|---|\n',
  );
  for (const r of results) {
    process.stdout.write(
      `| ${r.scenario} | ${r.nodes} | ${r.delivered} / ${r.expected} | ${r.seconds.toFixed(2)} | ${r.linesPerSecond} | ${r.nodeCpu.toFixed(2)}, ${r.redisCpu.toFixed(2)} | ${r.all.join(', ')} |\n`,
    );
  }
  for (const line of latencies) process.stdout.write(`cross-node latency, ${line}\n`);
  process.stdout.write(JSON.stringify({ options: o, loadBefore, loadAfter, results, latencies }) + '\n');
}

main().catch((err: Error) => {
  process.stderr.write(`redis-two-nodes: ${err.message}\n`);
  process.exit(1);
});
