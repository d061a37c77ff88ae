/**
 * A strict reader of the Prometheus text format (0.0.4) for the metrics specs: every line is
 * a `# HELP`, a `# TYPE` or a sample of a declared family, or the reading fails; samples come
 * back by name and labels. Enough of the format to catch what a scraper would reject.
 */

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Exposition {
  readonly samples: readonly Sample[];
  readonly types: ReadonlyMap<string, string>;
  /** The value of `name` with exactly these labels (a subset match when `partial`); undefined when absent. */
  value(name: string, labels?: Record<string, string>): number | undefined;
}

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: -?\\d+)?$`);
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseLabels(raw: string | undefined, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  if (raw === undefined || raw === '') return labels;
  for (const pair of raw.split(/,(?=[a-zA-Z_][a-zA-Z0-9_]*=")/)) {
    const match = LABEL.exec(pair);
    if (!match) throw new Error(`bad label ${JSON.stringify(pair)} in ${JSON.stringify(line)}`);
    labels[match[1]] = match[2].replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1');
  }
  return labels;
}

/** As Prometheus reads it (Go's ParseFloat: NaN and Inf in any case; prom-client writes `Nan`). */
function value(raw: string, line: string): number {
  if (/^\+?inf$/i.test(raw)) return Infinity;
  if (/^-inf$/i.test(raw)) return -Infinity;
  if (/^nan$/i.test(raw)) return NaN;
  const n = Number(raw);
  if (raw === '' || Number.isNaN(n)) throw new Error(`bad value in ${JSON.stringify(line)}`);
  return n;
}

/** The family a sample belongs to: a histogram's `_bucket`, `_sum` and `_count` are its own. */
function familyOf(name: string, types: ReadonlyMap<string, string>): string | undefined {
  if (types.has(name)) return name;
  const base = name.replace(/_(bucket|sum|count|total|created)$/, '');
  return types.has(base) ? base : undefined;
}

export function parseExposition(text: string): Exposition {
  if (!text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    const help = /^# HELP (\S+) .*$/.exec(line);
    if (help) continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      if (!TYPES.has(type[2])) throw new Error(`unknown type in ${JSON.stringify(line)}`);
      if (types.has(type[1])) throw new Error(`family ${type[1]} declared twice`);
      types.set(type[1], type[2]);
      continue;
    }
    if (line.startsWith('#')) continue;
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`not a sample: ${JSON.stringify(line)}`);
    if (familyOf(match[1], types) === undefined) throw new Error(`sample before its # TYPE: ${JSON.stringify(line)}`);
    samples.push({ name: match[1], labels: parseLabels(match[2], line), value: value(match[3], line) });
  }
  return {
    samples,
    types,
    value(name, labels = {}) {
      const keys = Object.keys(labels);
      const found = samples.find((s) => s.name === name && Object.keys(s.labels).length === keys.length && keys.every((k) => s.labels[k] === labels[k]));
      return found?.value;
    },
  };
}
