/**
 * npm run bench:compare: builds the Go reference, runs the same scenarios against it and
 * against rx-im (each run on a fresh server process), prints the figures side by side with
 * their ratios and the issue's targets, and writes BENCHMARKS.md and docs/bench-fanout.svg.
 *
 *     npm run bench:compare -- [--rounds N] [SCENARIO_KEY ...]
 *
 * Naming scenario keys (fanout-1000, private-1000, ...) runs only those and writes nothing.
 */
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BenchResult } from './run';
import { ROOT, RX_IM_LISTENING, runBench, spawnListening } from './spawn';
import { chart } from './svg';

/** BENCHMARKS.md below this line is not written by bench:compare. */
const KEPT = '<!-- kept by bench:compare -->';

interface Scenario {
  readonly key: string;
  readonly title: string;
  readonly args: readonly string[];
  /** At least this many rounds, whatever --rounds says (a scenario whose runs swing widely). */
  readonly rounds?: number;
  /** The floor relay (bench/floor-relay.ts) runs it too: Node alone, a yardstick. */
  readonly floor?: boolean;
}

// Each run is bounded by --duration (sending, or the whole connect scenario) and --stall.
const CHART_CLIENTS = [10, 100, 300, 1000];
const SCENARIOS: readonly Scenario[] = [
  ...CHART_CLIENTS.map((c) => ({
    key: `fanout-${c}`,
    title: `fanout C=${c} S=10, closed loop`,
    args: ['fanout', '-c', `${c}`, '-s', '10', '-m', '100000', '--duration', '4'],
  })),
  {
    key: 'fanout-100-pipelined',
    title: 'fanout C=100 S=10, pipelined (window 16)',
    args: ['fanout', '-c', '100', '-s', '10', '-m', '2000', '--mode', 'pipelined', '--window', '16', '--duration', '4'],
  },
  // Short runs whose rate swings by ±20% from one run to the next on a small shared machine:
  // each server's best of three, taking turns; the floor relay runs it too (Node alone).
  {
    key: 'private-1000',
    title: 'private C=1000 (500 pairs), closed loop',
    args: ['private', '-c', '1000', '-m', '100000', '--duration', '4'],
    rounds: 3,
    floor: true,
  },
  // O(C²) join lines: a server that needs longer than --duration gets a lower bound.
  // C=5000 took the reference 127-175 s here, rx-im 16-23 s: the bound leaves room for both.
  { key: 'connect-5000', title: 'connect C=5000, until all saw their own join line', args: ['connect', '-c', '5000', '--duration', '240'] },
  { key: 'connect-10000', title: 'connect C=10000: RSS per connection', args: ['connect', '-c', '10000', '--duration', '150'] },
  // Readers few enough that the non-readers' kernel buffers (several MB each) fill within the
  // run, many enough that five extra recipients (until cut off) are a small share of the work.
  {
    key: 'slow-50',
    title: 'slow: fanout C=50 S=10, 1000-char messages, then K=5 non-readers',
    args: ['slow', '-c', '50', '-s', '10', '-k', '5', '--size', '1000', '-m', '100000', '--duration', '10', '--stall', '5'],
  },
];

interface Server {
  readonly name: string;
  start(): Promise<{ child: ChildProcess; port: number }>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

function waitForPort(port: number, ms: number): Promise<void> {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => (Date.now() > until ? reject(new Error(`nothing listens on 127.0.0.1:${port}`)) : setTimeout(attempt, 100)));
    };
    attempt();
  });
}

/** Copies the reference into a temp dir, sets its port and a long idle timeout, builds it. */
function buildReference(dir: string, port: number): string {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
  } catch {
    throw new Error('the reference is built with Go, which is not installed: apt-get install golang-go (Debian/Ubuntu), then run again');
  }
  const source = process.env.RX_IM_REFERENCE ?? path.resolve(ROOT, '../shared/reference/go/server');
  if (!existsSync(source)) throw new Error(`no reference source at ${source} (set RX_IM_REFERENCE to its go/server directory)`);
  const build = path.join(dir, 'reference');
  mkdirSync(build);
  for (const f of readdirSync(source)) if (f.endsWith('.go') || f === 'go.mod') copyFileSync(path.join(source, f), path.join(build, f));
  // Its only settings are constants: the port (fixed 8888, which may be taken) and the 60 s idle kick.
  const patch = (file: string, from: string, to: string) => {
    const p = path.join(build, file);
    const text = readFileSync(p, 'utf8');
    if (!text.includes(from)) throw new Error(`cannot patch the reference: '${from}' not found in ${file}`);
    writeFileSync(p, text.replace(from, to));
  };
  patch('main.go', 'NewServer("127.0.0.1", 8888)', `NewServer("127.0.0.1", ${port})`);
  patch('server.go', 'time.After(60 * time.Second)', 'time.After(3600 * time.Second)');
  const binary = path.join(dir, 'ref-server');
  execFileSync('go', ['build', '-o', binary, '.'], { cwd: build, stdio: 'inherit', env: { ...process.env, GOFLAGS: '-mod=mod', GOTOOLCHAIN: 'local' } });
  return binary;
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

type Outcome = BenchResult | { error: string };
const ok = (r: Outcome | undefined): r is BenchResult => r !== undefined && !('error' in r);

const fmt = (v: number | undefined, d = 0) =>
  v === undefined || !Number.isFinite(v) ? '-' : v.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

interface Row {
  readonly scenario: string;
  readonly metric: string;
  readonly ours: string;
  readonly ref: string;
  readonly ratio: string;
  readonly target: string;
}

function rows(sc: Scenario, ours: Outcome | undefined, ref: Outcome | undefined): Row[] {
  const out: Row[] = [];
  const add = (
    metric: string,
    get: (r: BenchResult) => number | undefined,
    digits: number,
    target = '',
    ratioOf?: (o: number, r: number) => number,
    note?: (r: BenchResult) => string,
  ) => {
    const o = ok(ours) ? get(ours) : undefined;
    const f = ok(ref) ? get(ref) : undefined;
    const show = (r: Outcome | undefined, v: number | undefined) =>
      r === undefined ? 'not run' : !ok(r) ? `error: ${r.error}` : r.stalled && v === undefined ? 'STALLED' : `${fmt(v, digits)}${note ? note(r) : ''}`;
    const ratio = o !== undefined && f !== undefined && ratioOf ? ratioOf(o, f) : undefined;
    out.push({
      scenario: sc.title,
      metric,
      ours: show(ours, o),
      ref: show(ref, f),
      ratio: ratio === undefined || !Number.isFinite(ratio) ? '' : `${fmt(ratio, 2)}×`,
      target,
    });
  };
  const per = (o: number, r: number) => o / r;
  const inv = (o: number, r: number) => r / o;
  const stalled = (r: BenchResult) => (r.stalled ? ' (stalled)' : '');
  switch (sc.key.split('-')[0]) {
    case 'fanout':
      add(
        'delivered lines/s',
        (r) => r.run?.deliveredPerSec,
        0,
        sc.key === 'fanout-1000' ? '≥ 2.5× the reference' : sc.key === 'fanout-100' ? '≥ 1.5×' : '',
        per,
        stalled,
      );
      add('latency p99 ms', (r) => r.run?.latencyMs.p99, 2, sc.key === 'fanout-1000' ? '≤ the reference (ratio ≥ 1)' : '', inv);
      add('latency p50 ms', (r) => r.run?.latencyMs.p50, 2, '', inv);
      add('server CPU s per million lines', (r) => r.run?.serverCpuPerMillion, 2, sc.key === 'fanout-1000' ? '≤ 1/3 (ratio ≥ 3)' : '', inv);
      add(
        'lost / malformed',
        (r) => (r.run ? r.run.lost + r.run.malformed : undefined),
        0,
        sc.key.includes('pipelined') ? 'zero' : '',
        undefined,
        (r) => (r.run ? ` (${fmt(r.run.lost)} lost, ${fmt(r.run.malformed)} malformed)` : ''),
      );
      add('generator CPU cores', (r) => r.run?.generatorCores, 2);
      break;
    case 'private':
      add('delivered/s', (r) => r.run?.deliveredPerSec, 0, '≥ 1.0× the reference', per, stalled);
      add('latency p99 ms', (r) => r.run?.latencyMs.p99, 2, '', inv);
      add('misrouted', (r) => r.run?.misrouted, 0, 'zero');
      add(
        'lost / malformed',
        (r) => (r.run ? r.run.lost + r.run.malformed : undefined),
        0,
        '',
        undefined,
        (r) => (r.run ? ` (${fmt(r.run.lost)} lost, ${fmt(r.run.malformed)} malformed)` : ''),
      );
      add('server CPU s per million lines', (r) => r.run?.serverCpuPerMillion, 2, '≤ the reference (ratio ≥ 1)', inv);
      break;
    case 'connect': {
      add('connected/s', (r) => r.connect?.acceptedPerSec, 0, '', per);
      // A server that did not finish within --duration gives a lower bound, and so does the ratio.
      const o = ok(ours) ? ours.connect : undefined;
      const f = ok(ref) ? ref.connect : undefined;
      const time = (c: typeof o) =>
        c === undefined
          ? 'STALLED'
          : c.joinSeconds !== undefined
            ? fmt(c.joinSeconds, 2)
            : `> ${fmt(c.timedOutAfterSeconds)} (${fmt(c.joined)} of ${fmt(c.connections)} joined)`;
      const ot = o?.joinSeconds;
      const ft = f?.joinSeconds ?? f?.timedOutAfterSeconds;
      const ratio = ot !== undefined && ft !== undefined ? `${f?.joinSeconds === undefined ? '> ' : ''}${fmt(ft / ot, 2)}×` : '';
      out.push({
        scenario: sc.title,
        metric: 's until all saw their own join line',
        ours: time(o),
        ref: time(f),
        ratio,
        target: sc.key === 'connect-5000' ? '≤ 1/4 (ratio ≥ 4)' : sc.key === 'connect-10000' ? '≤ 45 s' : '',
      });
      add(
        'server RSS KiB per connection (all joined)',
        (r) => r.connect?.rssPerConnectionKiB,
        1,
        sc.key === 'connect-10000' ? '≤ 12 KiB' : '',
        inv,
        (r) =>
          r.connect && r.connect.rssPerConnectionKiB === undefined
            ? ` (not all joined; RSS grew ${fmt(((r.connect.serverRssJoinedBytes ?? 0) - (r.connect.serverRssBeforeBytes ?? 0)) / 1048576, 1)} MiB)`
            : '',
      );
      break;
    }
    case 'slow':
      add('readers lines/s without non-readers', (r) => r.baseline?.deliveredPerSec, 0, '', per);
      add('readers lines/s with 5 non-readers', (r) => r.run?.deliveredPerSec, 0, '', per, stalled);
      add(
        'with / without',
        (r) => (r.throughputRatio === undefined ? undefined : r.throughputRatio * 100),
        1,
        '≥ 90%',
        undefined,
        () => '%',
      );
      add('latency p99 ms with non-readers', (r) => r.run?.latencyMs.p99, 2, '', inv);
      add(
        'new connection served after (ms)',
        (r) => r.probeJoinMs,
        1,
        '',
        inv,
        (r) => (r.probeJoinMs === undefined ? ' (no answer in 5 s)' : ''),
      );
      break;
  }
  return out;
}

/** How many rounds each scenario had, for the header. */
function roundsNote(scenarios: readonly Scenario[], rounds: number): string {
  const more = scenarios.filter((sc) => (sc.rounds ?? 1) > rounds);
  const most = rounds > 1 ? `each server's best of ${rounds} rounds` : 'one round each';
  return more.length === 0 ? most : `${most}, ${more.map((sc) => `${sc.key} best of ${sc.rounds}`).join(', ')}`;
}

/** rx-im against the floor relay (and the reference beside it) in the scenarios the floor runs. */
function floorTable(scenarios: readonly Scenario[], results: ReadonlyMap<string, Outcome>): string {
  if (scenarios.length === 0) return '';
  const lines = ['| scenario | figure | rx-im | floor relay | reference | rx-im / floor | target |', '|---|---|---|---|---|---|---|'];
  for (const sc of scenarios) {
    const [ours, floor, ref] = ['rx-im', 'floor', 'reference'].map((name) => results.get(`${name}/${sc.key}`));
    const value = (r: Outcome | undefined, get: (b: BenchResult) => number | undefined) => (ok(r) && !r.stalled ? get(r) : undefined);
    const cell = (r: Outcome | undefined, v: number | undefined, digits: number) =>
      r === undefined ? 'not run' : !ok(r) ? `error: ${r.error}` : r.stalled ? 'STALLED' : fmt(v, digits);
    const rate = (b: BenchResult) => b.run?.deliveredPerSec;
    const cpu = (b: BenchResult) => b.run?.serverCpuPerMillion;
    const [or, fr] = [value(ours, rate), value(floor, rate)];
    const [oc, fc] = [value(ours, cpu), value(floor, cpu)];
    lines.push(
      `| ${sc.title} | delivered/s | ${cell(ours, or, 0)} | ${cell(floor, fr, 0)} | ${cell(ref, value(ref, rate), 0)} | ${or !== undefined && fr ? `${fmt(or / fr, 2)}×` : ''} | |`,
      `| | server CPU s per million lines | ${cell(ours, oc, 2)} | ${cell(floor, fc, 2)} | ${cell(ref, value(ref, cpu), 2)} | ${oc !== undefined && fc ? `${fmt(oc / fc, 2)}× (${fmt((oc / fc - 1) * 100, 0)}% above)` : ''} | within 20% of the floor |`,
    );
  }
  return lines.join('\n');
}

function table(all: readonly Row[]): string {
  const lines = ['| scenario | figure | rx-im | reference | rx-im / reference | target |', '|---|---|---|---|---|---|'];
  let last = '';
  for (const r of all) {
    lines.push(`| ${r.scenario === last ? '' : r.scenario} | ${r.metric} | ${r.ours} | ${r.ref} | ${r.ratio} | ${r.target} |`);
    last = r.scenario;
  }
  return lines.join('\n');
}

function machine(): string {
  const cpus = os.cpus();
  let go = '-';
  try {
    go = execFileSync('go', ['version'], { encoding: 'utf8' }).trim();
  } catch {
    /* reported when building */
  }
  return `${cpus[0]?.model ?? '?'} × ${cpus.length} CPUs, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ${os.type()} ${os.release()}; Node ${process.version}; ${go}`;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const roundsAt = argv.indexOf('--rounds');
  const rounds = roundsAt === -1 ? 1 : Number(argv[roundsAt + 1]);
  if (!Number.isInteger(rounds) || rounds < 1 || rounds > 9) throw new Error('--rounds must be a whole number from 1 to 9');
  const only = argv.filter((a, i) => !a.startsWith('-') && argv[i - 1] !== '--rounds');
  const scenarios = only.length ? SCENARIOS.filter((s) => only.includes(s.key)) : SCENARIOS;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rx-im-bench-'));
  const started = new Date();
  const loadAtStart = os.loadavg()[0];
  try {
    const refPort = await freePort();
    process.stderr.write(`building the reference in ${dir} ...\n`);
    const refBinary = buildReference(dir, refPort);
    const servers: Server[] = [
      {
        name: 'rx-im',
        start: async () => {
          // What `npm start` runs: the compiled server (compare.sh builds it first), with its
          // message log on, in a fresh data directory of its own.
          const dataDir = mkdtempSync(path.join(os.tmpdir(), 'rx-im-bench-data-'));
          const args = ['--port', '0', '--no-web', '--rate-limit', '0', '--idle-timeout', '3600', '--max-connections', '100000', '--data-dir', dataDir];
          const { child, port } = await spawnListening(['dist/cli/server.js', ...args], RX_IM_LISTENING, 'rx-im-server');
          child.once('exit', () => rmSync(dataDir, { recursive: true, force: true }));
          return { child, port };
        },
      },
      {
        name: 'reference',
        start: async () => {
          const child = spawn(refBinary, [], { stdio: 'ignore' });
          // It exits at once when its port is taken: then whatever listens there is not it.
          const exited = new Promise<never>((_, reject) =>
            child.once('exit', (code) => reject(new Error(`the reference exited (${code}): is 127.0.0.1:${refPort} taken?`))),
          );
          await Promise.race([waitForPort(refPort, 5000), exited]);
          await new Promise((resolve) => setTimeout(resolve, 200));
          if (child.exitCode !== null) throw new Error(`the reference exited (${child.exitCode}): is 127.0.0.1:${refPort} taken?`);
          exited.catch(() => undefined);
          return { child, port: refPort };
        },
      },
      {
        // Not a chat server: the private path in bare Node, the yardstick for rx-im's own cost.
        name: 'floor',
        start: async () => {
          const { child, port } = await spawnListening(['dist/bench/floor-relay.js', '0'], /floor relay on [^\s]+:(\d+)/, 'the floor relay');
          return { child, port };
        },
      },
    ];
    const results = new Map<string, Outcome>();
    // With --rounds N the servers take turns N times and each keeps its best round (the one
    // least disturbed by whatever else the machine was doing).
    const score = (r: Outcome | undefined) =>
      !ok(r) ? -Infinity : r.stalled ? -1 : (r.run?.deliveredPerSec ?? (r.connect ? -(r.connect.joinSeconds ?? 1e9) : 0));
    for (const sc of scenarios) {
      const turns = Math.max(rounds, sc.rounds ?? 1);
      for (let round = 1; round <= turns; round++) {
        for (const server of servers) {
          if (server.name === 'floor' && !sc.floor) continue;
          process.stderr.write(`${sc.title}: ${server.name}${turns > 1 ? ` (round ${round} of ${turns})` : ''} ...\n`);
          const { child, port } = await server.start();
          try {
            const key = `${server.name}/${sc.key}`;
            const r = await runBench(sc.args, port, child.pid!, { label: server.name, progress: true });
            if (!results.has(key) || score(r) > score(results.get(key))) results.set(key, r);
          } finally {
            await stop(child);
          }
        }
      }
    }
    const all = scenarios.flatMap((sc) => rows(sc, results.get(`rx-im/${sc.key}`), results.get(`reference/${sc.key}`)));
    const text = table(all);
    const floorText = floorTable(
      scenarios.filter((sc) => sc.floor),
      results,
    );
    process.stdout.write(`\n${text}\n${floorText ? `\n${floorText}\n` : ''}`);
    if (only.length) return; // a partial run does not overwrite the published figures

    const point = (name: string, get: (r: BenchResult) => number | undefined) =>
      CHART_CLIENTS.map((c) => {
        const r = results.get(`${name}/fanout-${c}`);
        return [c, ok(r) && !r.stalled ? get(r) : undefined] as const;
      });
    const svg = chart(
      'fanout, 10 senders, one message in flight each: rx-im and the Go reference',
      CHART_CLIENTS,
      [
        { name: 'rx-im', color: '#1f77b4', points: point('rx-im', (r) => r.run?.deliveredPerSec) },
        { name: 'Go reference', color: '#d62728', points: point('reference', (r) => r.run?.deliveredPerSec) },
      ],
      [
        { name: 'rx-im', color: '#1f77b4', points: point('rx-im', (r) => r.run?.latencyMs.p99) },
        { name: 'Go reference', color: '#d62728', points: point('reference', (r) => r.run?.latencyMs.p99) },
      ],
    );
    mkdirSync(path.join(ROOT, 'docs'), { recursive: true });
    writeFileSync(path.join(ROOT, 'docs/bench-fanout.svg'), svg);
    const minutes = ((Date.now() - started.getTime()) / 60000).toFixed(1);
    const md = [
      '# Benchmarks',
      '',
      `Measured ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC by \`npm run bench:compare${rounds > 1 ? ` -- --rounds ${rounds}` : ''}\` (${minutes} minutes; ${roundsNote(scenarios, rounds)}), on one machine: ${machine()}.`,
      'Generator and server share the machine, so every figure is a ratio measured in the same run, not an absolute.',
      `Load average (1 min) when the run started: ${loadAtStart.toFixed(2)}${loadAtStart > os.cpus().length / 2 ? ' (other work was running: figures are noisier than on an idle machine)' : ''}.`,
      '',
      '![fanout: delivered lines/s and p99 latency against client count](docs/bench-fanout.svg)',
      '',
      '## Figures',
      '',
      text,
      '',
      ...(floorText
        ? [
            '### Against the floor relay',
            '',
            "`bench/floor-relay.ts` is the private path in bare Node (no RxJS, limits, log, metrics or checks), run like the servers: what Node's sockets cost per message on this machine. rx-im's own work is the gap between them.",
            '',
            floorText,
            '',
          ]
        : []),
      '## Reading them',
      '',
      '- Generator and server share the machine: in the fanout runs each uses close to one core (see "generator CPU cores"), so on a small machine the lines/s ratios are bounded by the machine; server CPU seconds per million lines is the steadier comparison.',
      '- connect: announcing every join to everyone is O(C²) lines; a server that needs longer than `--duration` gets a lower bound ("> N s"), and RSS per connection is only reported once every connection has joined.',
      "- slow: the reference stops delivering to everyone once a non-reader's kernel buffers are full (the run reports it stalled); rx-im cuts the non-readers off at their send-queue bound.",
      '',
      '## How they were measured',
      '',
      '- Each scenario runs against a fresh server process: rx-im as `npm start` runs it, compiled (`node dist/cli/server.js --port 0 --no-web --rate-limit 0 --idle-timeout 3600 --max-connections 100000 --data-dir TMP`, the message log on; `bench/compare.sh` builds it first),',
      '  the reference built from `../shared/reference/go/server` with two constants changed in a temporary copy: its port (a free one instead of 8888) and its idle kick (3600 s instead of 60 s).',
      '- The generator is `rx-im-bench` (`npm run bench -- SCENARIO ...`); the runs were:',
      '',
      ...scenarios.map((s) => `      npm run bench -- ${s.args.join(' ')} --port PORT --pid PID`),
      '',
      '- Latency is send → receive over every receiver (each message carries its send time); lost, reordered and malformed lines are counted from per-sender sequence numbers in the text.',
      '  Server CPU is utime + stime from `/proc/PID/stat` over the run; RSS is `VmRSS` from `/proc/PID/status`.',
      '  "generator CPU cores" is the generator\'s own CPU time over wall time (it shares the machine\'s cores with the server).',
      '- `--duration` bounds each run; a connect run that reaches it reports a lower bound. `bench/compare.sh` raises `ulimit -n` first (a shell limit: each connection is a file descriptor in both processes).',
      '',
      '## Raw results (one JSON line per run)',
      '',
      '```',
      ...[...results.entries()].map(([k, v]) => `${k}: ${JSON.stringify(v)}`),
      '```',
      '',
    ].join('\n');
    // Sections measured by other tools (the Redis scale-out figures) live below this marker and
    // survive a new comparison.
    const file = path.join(ROOT, 'BENCHMARKS.md');
    const old = existsSync(file) ? readFileSync(file, 'utf8') : '';
    const kept = old.includes(KEPT) ? old.slice(old.indexOf(KEPT)) : '';
    writeFileSync(file, kept ? `${md}\n${kept}` : md);
    process.stdout.write(`\nwrote BENCHMARKS.md and docs/bench-fanout.svg (${minutes} minutes)\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  process.stderr.write(`bench:compare: ${err.message}\n`);
  process.exit(1);
});
