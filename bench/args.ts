/** rx-im-bench's command line -> options, as a pure function of argv; one clear message per bad value. */
import { parseArgs } from 'node:util';

export const SCENARIOS = ['fanout', 'private', 'connect', 'slow'] as const;
export type Scenario = (typeof SCENARIOS)[number];
export type Mode = 'closed' | 'pipelined';

export interface BenchOptions {
  readonly scenario: Scenario;
  readonly host: string;
  readonly port: number;
  /** Clients that read (fanout, slow), pairs * 2 (private), connections (connect). */
  readonly clients: number;
  /** Clients that also send (fanout, slow). */
  readonly senders: number;
  /** Messages each sender sends (at most; `durationS` may stop it sooner). */
  readonly messages: number;
  /** Characters of text per message. */
  readonly size: number;
  readonly mode: Mode;
  /** Messages in flight per sender in pipelined mode. */
  readonly window: number;
  /** Stop sending after this many seconds. */
  readonly durationS: number;
  /** Clients that connect and never read (slow). */
  readonly slow: number;
  /** Worker threads that hold the clients. */
  readonly threads: number;
  /** Source addresses 127.0.0.1 .. 127.0.0.N, spread over the connections. */
  readonly sources: number;
  /** Connection attempts in flight at once (per thread). */
  readonly concurrency: number;
  /** No progress for this long: the server stalled; exit non-zero. */
  readonly stallS: number;
  /** After the last send, wait this long for stragglers before counting them lost. */
  readonly drainS: number;
  /** The server's process id, for its CPU time and RSS from /proc. */
  readonly pid?: number;
  /** A name for the server under test, carried into the JSON line. */
  readonly label: string;
  /** Only the JSON line on stdout. */
  readonly json: boolean;
  /** No progress line. */
  readonly quiet: boolean;
}

export type ParsedArgs =
  { readonly ok: true; readonly value: BenchOptions } | { readonly ok: false; readonly error: string } | { readonly ok: 'help' } | { readonly ok: 'version' };

export const BENCH_USAGE = `Usage: rx-im-bench SCENARIO [options]

A load generator for any server that speaks the rx-im / Go IM line protocol.

Scenarios:
  fanout    C clients, S of them send M messages each; every client reads everything
  private   C/2 pairs: each renames itself, then sends M private messages to its partner
  connect   C connections: accepted/s, time until all saw their own join line, RSS per connection
  slow      fanout, then the same again with K more clients that never read

Options:
  --host HOST            server address (default 127.0.0.1)
  --port PORT            server port (default 8888)
  -c, --clients C        clients (default 100)
  -s, --senders S        senders among them (fanout, slow; default 10)
  -m, --messages M       messages per sender (default 200)
  --size N               characters of text per message (default 64)
  --mode closed|pipelined  one message in flight per sender, or a window of them (default closed)
  --window W             messages in flight per sender when pipelined (default 16)
  --duration SECONDS     stop sending after this long (default 30)
  -k, --slow K           clients that never read (slow; default 5)
  --threads N            worker threads holding the clients (default 1)
  --sources N            spread connections over source addresses 127.0.0.1..N (default 8)
  --concurrency N        connection attempts in flight per thread (default 200)
  --stall SECONDS        no progress this long: report a stalled server, exit 2 (default 10)
  --drain SECONDS        after the last send, wait this long for stragglers (default 2)
  --pid PID              the server's process id: its CPU and RSS from /proc
  --label TEXT           the server's name in the output (default: HOST:PORT)
  --json                 print only the JSON line
  --quiet                no progress line
  -h, --help             this help
  --version              print the version and exit

Exit status: 0 done, 1 bad arguments or cannot connect, 2 the server stalled.
`;

function whole(flag: string, raw: string | undefined, fallback: number, min: number, max: number): number | string {
  if (raw === undefined) return fallback;
  const n = /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) return `--${flag} must be a whole number from ${min} to ${max}, got '${raw}'`;
  return n;
}

function secs(flag: string, raw: string | undefined, fallback: number): number | string {
  if (raw === undefined) return fallback;
  const n = /^\d*\.?\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  if (!(n > 0) || n > 86_400) return `--${flag} must be a positive number of seconds, got '${raw}'`;
  return n;
}

export function parseBenchArgs(argv: readonly string[]): ParsedArgs {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    const parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        clients: { type: 'string', short: 'c' },
        senders: { type: 'string', short: 's' },
        messages: { type: 'string', short: 'm' },
        size: { type: 'string' },
        mode: { type: 'string' },
        window: { type: 'string' },
        duration: { type: 'string' },
        slow: { type: 'string', short: 'k' },
        threads: { type: 'string' },
        sources: { type: 'string' },
        concurrency: { type: 'string' },
        stall: { type: 'string' },
        drain: { type: 'string' },
        pid: { type: 'string' },
        label: { type: 'string' },
        json: { type: 'boolean' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
    });
    values = parsed.values;
    positionals = parsed.positionals;
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
  if (values.help) return { ok: 'help' };
  if (values.version) return { ok: 'version' };
  if (positionals.length !== 1) return { ok: false, error: `name one scenario (${SCENARIOS.join(', ')})` };
  const scenario = positionals[0];
  if (!(SCENARIOS as readonly string[]).includes(scenario)) return { ok: false, error: `unknown scenario '${scenario}' (one of ${SCENARIOS.join(', ')})` };
  const str = (k: string) => values[k] as string | undefined;

  const numbers = {
    port: whole('port', str('port'), 8888, 1, 65535),
    clients: whole('clients', str('clients'), 100, 1, 100_000),
    senders: whole('senders', str('senders'), 10, 1, 100_000),
    messages: whole('messages', str('messages'), 200, 1, 999_999),
    size: whole('size', str('size'), 64, 1, 1_000_000),
    window: whole('window', str('window'), 16, 1, 100_000),
    slow: whole('slow', str('slow'), 5, 0, 100_000),
    threads: whole('threads', str('threads'), 1, 1, 64),
    sources: whole('sources', str('sources'), 8, 1, 254),
    concurrency: whole('concurrency', str('concurrency'), 200, 1, 100_000),
    durationS: secs('duration', str('duration'), 30),
    stallS: secs('stall', str('stall'), 10),
    drainS: secs('drain', str('drain'), 2),
  };
  for (const v of Object.values(numbers)) if (typeof v === 'string') return { ok: false, error: v };
  const n = numbers as { [K in keyof typeof numbers]: number };

  const mode = str('mode') ?? 'closed';
  if (mode !== 'closed' && mode !== 'pipelined') return { ok: false, error: `--mode must be closed or pipelined, got '${mode}'` };
  if ((scenario === 'fanout' || scenario === 'slow') && n.senders > n.clients) {
    return { ok: false, error: `--senders (${n.senders}) must not exceed --clients (${n.clients})` };
  }
  if (scenario === 'private' && (n.clients < 2 || n.clients % 2 !== 0)) {
    return { ok: false, error: `private needs an even number of clients (pairs), got ${n.clients}` };
  }
  let pid: number | undefined;
  if (str('pid') !== undefined) {
    const p = whole('pid', str('pid'), 0, 1, 2 ** 31 - 1);
    if (typeof p === 'string') return { ok: false, error: p };
    pid = p;
  }
  const host = str('host') ?? '127.0.0.1';
  if (host === '') return { ok: false, error: '--host must not be empty' };
  return {
    ok: true,
    value: {
      scenario: scenario as Scenario,
      host,
      ...n,
      mode,
      pid,
      label: str('label') ?? `${host}:${n.port}`,
      json: values.json === true,
      quiet: values.quiet === true,
    },
  };
}
