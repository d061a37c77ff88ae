/**
 * The coordinator: spreads the clients over worker threads (shard.ts), walks a scenario
 * through its phases, watches for stalls, samples the server's /proc and its own CPU, and
 * returns the figures. Printing is the caller's (cli.ts).
 */
import * as net from 'node:net';
import { Worker } from 'node:worker_threads';
import { BenchOptions } from './args';
import { Histogram, Summary } from './histogram';
import { ProcSample, sampleProcess } from './proc';
import { nowMicros } from './records';
import { ClientSpec, Counters, PhaseStats, Request, ShardConfig } from './shard';

export class StallError extends Error {}

export interface PhaseResult {
  readonly seconds: number;
  readonly sent: number;
  readonly expected: number;
  readonly delivered: number;
  readonly deliveredPerSec: number;
  readonly lost: number;
  readonly lostBySender: Readonly<Record<number, number>>;
  readonly reordered: number;
  readonly reorderedBySender: Readonly<Record<number, number>>;
  readonly duplicates: number;
  readonly malformed: number;
  readonly misrouted: number;
  /** Readers the server disconnected during the phase. */
  readonly disconnected: number;
  readonly latencyMs: Omit<Summary, 'count'>;
  readonly serverCpuSeconds?: number;
  readonly serverCpuPerMillion?: number;
  readonly serverRssBytes?: number;
  readonly generatorCpuSeconds: number;
  /** Generator CPU / wall time: near `threads` + 1 means the generator may be the bottleneck. */
  readonly generatorCores: number;
}

export interface ConnectResult {
  readonly connections: number;
  readonly connected: number;
  /** Connections that saw their own join line. */
  readonly joined: number;
  /** Until the last connection was established (the kernel's handshake, not the server's accept). */
  readonly connectSeconds: number;
  readonly acceptedPerSec: number;
  /** Until every connection saw its own join line; undefined when --duration ran out first. */
  readonly joinSeconds?: number;
  readonly timedOutAfterSeconds?: number;
  readonly linesReceived: number;
  /** Each join announced to everyone already there: C(C+1)/2 (more when a server announces late). */
  readonly linesAtLeast: number;
  readonly settleSeconds: number;
  readonly serverRssBeforeBytes?: number;
  readonly serverRssJoinedBytes?: number;
  readonly serverRssSettledBytes?: number;
  /** (RSS once all joined - RSS before) / C; undefined when not all joined within --duration. */
  readonly rssPerConnectionKiB?: number;
  readonly serverCpuSeconds?: number;
  readonly serverCpuPerMillion?: number;
  readonly generatorCpuSeconds: number;
  readonly generatorCores: number;
}

export interface BenchResult {
  readonly bench: 'rx-im-bench';
  readonly scenario: BenchOptions['scenario'];
  readonly label: string;
  readonly options: Omit<BenchOptions, 'json' | 'quiet' | 'label'>;
  readonly startedAt: string;
  /** fanout, private, and the second (with non-readers) phase of slow. */
  readonly run?: PhaseResult;
  /** slow: the same fanout before the non-readers came. */
  readonly baseline?: PhaseResult;
  /** slow: readers' delivered/s with non-readers over without. */
  readonly throughputRatio?: number;
  /** slow: ms until a new connection saw its own join line after the run, or undefined if it never did. */
  readonly probeJoinMs?: number;
  readonly connect?: ConnectResult;
  /** Why the run stopped early: the server made no progress. */
  readonly stalled?: string;
}

type Sink = (line: string) => void;

class ShardHandle {
  private nextId = 0;
  private failure: Error | undefined;
  constructor(readonly worker: Worker) {
    worker.on('message', (m: { id: number; reply: unknown }) => {
      const waiting = this.pending.get(m.id);
      this.pending.delete(m.id);
      waiting?.resolve(m.reply);
    });
    worker.on('error', (err: Error) => {
      this.failure = err;
      for (const waiting of this.pending.values()) waiting.reject(err);
      this.pending.clear();
    });
  }
  private readonly pending = new Map<number, { resolve: (reply: unknown) => void; reject: (err: Error) => void }>();
  send<T>(message: { config?: ShardConfig; request?: Request }): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      if (this.failure) return reject(this.failure);
      this.pending.set(id, { resolve: resolve as (reply: unknown) => void, reject });
      this.worker.postMessage({ id, ...message });
    });
  }
  request<T>(request: Request): Promise<T> {
    return this.send<T>({ request });
  }
}

function startWorker(): Worker {
  const file = require.resolve('./shard');
  // Under ts-node the worker must register it too; from dist/ it is plain JavaScript.
  const code = file.endsWith('.ts') ? `require('ts-node/register/transpile-only'); require(${JSON.stringify(file)});` : `require(${JSON.stringify(file)});`;
  return new Worker(code, { eval: true });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function sum(list: readonly Counters[], key: keyof Counters): number {
  let n = 0;
  for (const c of list) n += c[key] as number;
  return n;
}

function fmt(n: number): string {
  return n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e4 ? `${(n / 1e3).toFixed(1)}k` : `${Math.round(n)}`;
}

export class Bench {
  private shards: ShardHandle[] = [];
  private readonly started = nowMicros();
  private lastProgress = 0;

  constructor(
    private readonly o: BenchOptions,
    private readonly progress: Sink,
  ) {}

  private source(i: number): string {
    return `127.0.0.${1 + (i % this.o.sources)}`;
  }

  private async poll(): Promise<Counters[]> {
    return Promise.all(this.shards.map((s) => s.request<Counters>({ op: 'poll' })));
  }

  private show(text: string): void {
    const now = Date.now();
    if (this.o.quiet || now - this.lastProgress < 1000) return;
    this.lastProgress = now;
    const t = ((nowMicros() - this.started) / 1e6).toFixed(1);
    this.progress(`[${this.o.scenario} ${this.o.label} ${t}s] ${text}`);
  }

  private proc(): ProcSample | undefined {
    return this.o.pid === undefined ? undefined : sampleProcess(this.o.pid);
  }

  /**
   * Polls until `done` says so; `progress` is a number that grows while anything moves.
   * No growth for the stall timeout: StallError, with `what` saying what was awaited.
   */
  private async until(
    what: string,
    done: (c: Counters[]) => boolean,
    progress: (c: Counters[]) => number,
    show: (c: Counters[]) => string,
    stallS = this.o.stallS,
  ): Promise<Counters[]> {
    let last = -1;
    let since = Date.now();
    for (;;) {
      const c = await this.poll();
      const errors = c.flatMap((x) => x.errors);
      if (sum(c, 'failed') > 0)
        throw new Error(`${sum(c, 'failed')} connection(s) failed or were refused while ${what}${errors.length ? `: ${errors[0]}` : ''}`);
      if (done(c)) return c;
      const p = progress(c);
      if (p !== last) {
        last = p;
        since = Date.now();
      } else if (Date.now() - since > stallS * 1000) {
        throw new StallError(`server stalled: no progress for ${stallS} s while ${what} (${show(c)})`);
      }
      this.show(show(c));
      await sleep(50);
    }
  }

  /** Waits until no line has arrived for `ms` (the join announcements have settled), at most `maxS`. */
  private async quiet(ms: number, maxS: number): Promise<number> {
    const t0 = Date.now();
    let last = -1;
    let since = Date.now();
    for (;;) {
      const c = await this.poll();
      const lines = sum(c, 'lines');
      if (lines !== last) {
        last = lines;
        since = Date.now();
      } else if (Date.now() - since >= ms) break;
      if (Date.now() - t0 > maxS * 1000) break;
      this.show(`settling: ${fmt(lines)} lines`);
      await sleep(50);
    }
    return (Date.now() - t0) / 1000;
  }

  private async open(specs: ClientSpec[], threads: number, shardOf: (s: ClientSpec) => number): Promise<void> {
    const o = this.o;
    const config: ShardConfig = {
      scenario: o.scenario,
      host: o.host,
      port: o.port,
      size: o.size,
      mode: o.mode,
      window: o.window,
      concurrency: o.concurrency,
      senders: o.scenario === 'private' ? o.clients : o.senders,
    };
    this.shards = Array.from({ length: threads }, () => new ShardHandle(startWorker()));
    await Promise.all(this.shards.map((s) => s.send({ config })));
    await Promise.all(this.shards.map((s, i) => s.request({ op: 'connect', clients: specs.filter((c) => shardOf(c) === i) })));
  }

  private async connectReaders(): Promise<void> {
    const { clients: C, threads } = this.o;
    const specs: ClientSpec[] = [];
    for (let i = 0; i < C; i++) {
      specs.push(
        this.o.scenario === 'private'
          ? { index: i, source: this.source(i), sender: true, partner: i ^ 1 }
          : { index: i, source: this.source(i), sender: i < this.o.senders },
      );
    }
    // A private pair lives in one thread, so that a closed loop's acknowledgement stays local.
    await this.open(specs, Math.min(threads, C), (s) => (this.o.scenario === 'private' ? (s.index >> 1) % threads : s.index % threads));
    await this.until(
      'connecting',
      (c) => sum(c, 'joined') >= C,
      (c) => sum(c, 'connected') + sum(c, 'joined'),
      (c) => `connected ${sum(c, 'connected')}/${C}, joined ${sum(c, 'joined')}/${C}`,
    );
    await this.quiet(300, 30);
  }

  private async phase(phase: number, expectedPer: number): Promise<PhaseResult> {
    const o = this.o;
    const senders = o.scenario === 'private' ? o.clients : o.senders;
    const procBefore = this.proc();
    const cpuBefore = process.cpuUsage();
    const t0 = nowMicros();
    await Promise.all(this.shards.map((s) => s.request({ op: 'start', phase, limit: o.messages })));
    const stopTimer = setTimeout(() => this.shards.forEach((s) => void s.request({ op: 'stop' })), o.durationS * 1000);
    let stalled: StallError | undefined;
    let counters: Counters[];
    const disconnectedBefore = sum(await this.poll(), 'closed');
    try {
      let drainingSince = 0;
      let lastDelivered = -1;
      counters = await this.until(
        `sending (phase ${phase})`,
        (c) => {
          const sent = sum(c, 'sent');
          const delivered = sum(c, 'delivered');
          if (sum(c, 'sendersDone') < senders) return false;
          if (delivered >= sent * expectedPer) return true;
          // Everything is sent: stragglers get the drain timeout, then count as lost.
          if (delivered !== lastDelivered) {
            lastDelivered = delivered;
            drainingSince = Date.now();
          }
          return Date.now() - drainingSince > o.drainS * 1000;
        },
        (c) => sum(c, 'sent') + sum(c, 'delivered') + sum(c, 'closed'),
        (c) => {
          const secs = (nowMicros() - t0) / 1e6;
          return `sent ${fmt(sum(c, 'sent'))}, delivered ${fmt(sum(c, 'delivered'))} (${fmt(sum(c, 'delivered') / secs)}/s), malformed ${sum(c, 'malformed')}, disconnected ${sum(c, 'closed') - disconnectedBefore}`;
        },
      );
    } catch (err) {
      if (!(err instanceof StallError)) throw err;
      stalled = err;
      counters = await this.poll();
    } finally {
      clearTimeout(stopTimer);
    }
    const procAfter = this.proc();
    const cpu = process.cpuUsage(cpuBefore);
    await Promise.all(this.shards.map((s) => s.request({ op: 'stop' })));
    const sentBy: Record<number, number> = {};
    for (const c of counters) Object.assign(sentBy, c.sentBy);
    const stats = await Promise.all(this.shards.map((s) => s.request<PhaseStats>({ op: 'finish', sent: sentBy })));
    const end = Math.max(...counters.map((c) => c.lastDeliveryMicros), t0 + 1);
    const wall = stalled ? (nowMicros() - t0) / 1e6 : (end - t0) / 1e6;
    const latency = new Histogram();
    const lostBySender: Record<number, number> = {};
    const reorderedBySender: Record<number, number> = {};
    for (const s of stats) {
      latency.merge(s.latency);
      for (const [k, v] of Object.entries(s.lostBy)) lostBySender[+k] = (lostBySender[+k] ?? 0) + v;
      for (const [k, v] of Object.entries(s.reorderedBy)) reorderedBySender[+k] = (reorderedBySender[+k] ?? 0) + v;
    }
    const add = (key: keyof PhaseStats) => stats.reduce((n, s) => n + (s[key] as number), 0);
    const delivered = add('delivered');
    const sent = sum(counters, 'sent');
    const serverCpu = procBefore && procAfter ? procAfter.cpuSeconds - procBefore.cpuSeconds : undefined;
    const l = latency.summary();
    const ms = (us: number) => Math.round(us) / 1000;
    const genCpu = (cpu.user + cpu.system) / 1e6;
    const result: PhaseResult = {
      seconds: wall,
      sent,
      expected: sent * expectedPer,
      delivered,
      deliveredPerSec: delivered / wall,
      lost: Object.values(lostBySender).reduce((a, b) => a + b, 0),
      lostBySender,
      reordered: add('reordered'),
      reorderedBySender,
      duplicates: add('duplicates'),
      malformed: add('malformed'),
      misrouted: add('misrouted'),
      disconnected: sum(counters, 'closed') - disconnectedBefore,
      latencyMs: { min: ms(l.min), mean: ms(l.mean), p50: ms(l.p50), p90: ms(l.p90), p99: ms(l.p99), max: ms(l.max) },
      serverCpuSeconds: serverCpu,
      serverCpuPerMillion: serverCpu === undefined || delivered === 0 ? undefined : serverCpu / (delivered / 1e6),
      serverRssBytes: procAfter?.rssBytes,
      generatorCpuSeconds: genCpu,
      generatorCores: genCpu / ((nowMicros() - t0) / 1e6),
    };
    if (stalled) throw Object.assign(stalled, { partial: result });
    return result;
  }

  async run(): Promise<BenchResult> {
    const o = this.o;
    const { json: _json, quiet: _quiet, label: _label, ...options } = o;
    const base = { bench: 'rx-im-bench' as const, scenario: o.scenario, label: o.label, options, startedAt: new Date().toISOString() };
    try {
      switch (o.scenario) {
        case 'fanout':
          await this.connectReaders();
          return { ...base, run: await this.phase(0, o.clients) };
        case 'private': {
          await this.connectReaders();
          await Promise.all(this.shards.map((s) => s.request({ op: 'rename' })));
          await this.until(
            'renaming',
            (c) => sum(c, 'renamed') >= o.clients,
            (c) => sum(c, 'renamed'),
            (c) => `renamed ${sum(c, 'renamed')}/${o.clients}`,
          );
          return { ...base, run: await this.phase(0, 1) };
        }
        case 'slow':
          return await this.slow(base);
        case 'connect':
          return { ...base, connect: await this.connect() };
      }
    } catch (err) {
      if (err instanceof StallError) {
        const partial = (err as StallError & { partial?: PhaseResult }).partial;
        return { ...base, ...(o.scenario === 'slow' ? this.slowSoFar : {}), ...(partial ? { run: partial } : {}), stalled: err.message };
      }
      throw err;
    } finally {
      await Promise.all(this.shards.map((s) => s.request({ op: 'close' }).catch(() => undefined)));
      await Promise.all(this.shards.map((s) => s.worker.terminate()));
    }
  }

  private slowSoFar: Partial<BenchResult> = {};

  private async slow(base: Omit<BenchResult, 'run'>): Promise<BenchResult> {
    const o = this.o;
    await this.connectReaders();
    const baseline = await this.phase(0, o.clients);
    this.slowSoFar = { baseline };
    // The non-readers join through shard 0; they never read, so they cannot see their join line.
    const mutes: ClientSpec[] = Array.from({ length: o.slow }, (_, i) => ({
      index: o.clients + i,
      source: this.source(o.clients + i),
      sender: false,
      mute: true,
    }));
    const before = sum(await this.poll(), 'connected');
    await this.shards[0].request({ op: 'connect', clients: mutes });
    await this.until(
      'connecting the non-readers',
      (c) => sum(c, 'connected') >= before + o.slow,
      (c) => sum(c, 'connected'),
      (c) => `non-readers connected ${sum(c, 'connected') - before}/${o.slow}`,
    );
    await this.quiet(300, 10);
    let run: PhaseResult;
    try {
      run = await this.phase(1, o.clients);
    } catch (err) {
      if (err instanceof StallError) this.slowSoFar = { baseline, probeJoinMs: await this.probe() };
      throw err;
    }
    return { ...base, baseline, run, throughputRatio: run.deliveredPerSec / baseline.deliveredPerSec, probeJoinMs: await this.probe() };
  }

  /** Whether the server still answers: a new connection's wait for its own join line (at most 5 s). */
  private probe(): Promise<number | undefined> {
    return new Promise((resolve) => {
      const t0 = nowMicros();
      const socket = net.connect({ host: this.o.host, port: this.o.port });
      let prefix = '';
      let text = '';
      const timer = setTimeout(() => finish(undefined), 5000);
      const finish = (ms: number | undefined) => {
        clearTimeout(timer);
        socket.destroy();
        resolve(ms);
      };
      socket.setEncoding('latin1');
      socket.on('connect', () => (prefix = `\n[${socket.localAddress}:${socket.localPort}]`));
      socket.on('data', (chunk: string) => {
        text = (text + chunk).slice(-4096);
        if (prefix && ('\n' + text).includes(prefix)) finish((nowMicros() - t0) / 1000);
      });
      socket.on('error', () => finish(undefined));
    });
  }

  private async connect(): Promise<ConnectResult> {
    const o = this.o;
    const C = o.clients;
    const before = this.proc();
    const cpuBefore = process.cpuUsage();
    const t0 = nowMicros();
    // --duration bounds the whole scenario: a server that needs longer gets a lower bound.
    const deadline = Date.now() + o.durationS * 1000;
    const specs: ClientSpec[] = Array.from({ length: C }, (_, i) => ({ index: i, source: this.source(i), sender: false }));
    await this.open(specs, Math.min(o.threads, C), (s) => s.index % o.threads);
    let counters = await this.until(
      'connecting',
      (c) => sum(c, 'joined') >= C || Date.now() > deadline,
      (c) => sum(c, 'connected') + sum(c, 'joined') + sum(c, 'lines'),
      (c) => `connected ${sum(c, 'connected')}/${C}, joined ${sum(c, 'joined')}/${C}, lines ${fmt(sum(c, 'lines'))}`,
    );
    const joinedAll = sum(counters, 'joined') >= C;
    const joined = this.proc();
    const connectEnd = Math.max(...counters.map((c) => c.lastConnectMicros));
    const joinEnd = Math.max(...counters.map((c) => c.lastJoinMicros));
    const q0 = Date.now();
    // Let the O(C²) join announcements settle (no line for a second, within --duration) before the last RSS sample.
    let last = -1;
    let since = Date.now();
    while (joinedAll && Date.now() < deadline) {
      counters = await this.poll();
      const lines = sum(counters, 'lines');
      if (lines !== last) {
        last = lines;
        since = Date.now();
      } else if (Date.now() - since > 1000) break;
      this.show(`all joined; ${fmt(lines)} lines`);
      await sleep(50);
    }
    const quiet = this.proc();
    const cpu = process.cpuUsage(cpuBefore);
    const lines = sum(counters, 'lines');
    const serverCpu = before && quiet ? quiet.cpuSeconds - before.cpuSeconds : undefined;
    const genCpu = (cpu.user + cpu.system) / 1e6;
    const connected = sum(counters, 'connected');
    return {
      connections: C,
      connected,
      joined: sum(counters, 'joined'),
      connectSeconds: (connectEnd - t0) / 1e6,
      acceptedPerSec: connected / ((connectEnd - t0) / 1e6),
      joinSeconds: joinedAll ? (joinEnd - t0) / 1e6 : undefined,
      timedOutAfterSeconds: joinedAll ? undefined : o.durationS,
      linesReceived: lines,
      linesAtLeast: (C * (C + 1)) / 2,
      settleSeconds: (Date.now() - q0) / 1000,
      serverRssBeforeBytes: before?.rssBytes,
      serverRssJoinedBytes: joined?.rssBytes,
      serverRssSettledBytes: quiet?.rssBytes,
      // Only once every connection is in: before that the kernel holds some of them, not the server.
      rssPerConnectionKiB: before && joined && joinedAll ? (joined.rssBytes - before.rssBytes) / C / 1024 : undefined,
      serverCpuSeconds: serverCpu,
      serverCpuPerMillion: serverCpu === undefined || lines === 0 ? undefined : serverCpu / (lines / 1e6),
      generatorCpuSeconds: genCpu,
      generatorCores: genCpu / ((nowMicros() - t0) / 1e6),
    };
  }
}
