#!/usr/bin/env node
/** rx-im-bench: argv -> a benchmark run; progress on stderr, a summary and one JSON line on stdout. */
import { packageVersion } from '../lib/version';
import { BENCH_USAGE, parseBenchArgs } from './args';
import { Bench } from './run';
import { summarize } from './summary';

const NAME = 'rx-im-bench';

async function main(): Promise<number> {
  const parsed = parseBenchArgs(process.argv.slice(2));
  if (parsed.ok === 'help') {
    process.stdout.write(BENCH_USAGE);
    return 0;
  }
  if (parsed.ok === 'version') {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  if (!parsed.ok) {
    process.stderr.write(`${NAME}: ${parsed.error}\n${NAME}: try --help\n`);
    return 1;
  }
  const o = parsed.value;
  const tty = process.stderr.isTTY === true;
  const progress = (line: string) => process.stderr.write(tty ? `\r\x1b[K${line}` : `${line}\n`);
  const result = await new Bench(o, progress).run();
  if (tty && !o.quiet) process.stderr.write('\r\x1b[K');
  if (!o.json) process.stdout.write(summarize(result) + '\n');
  process.stdout.write(JSON.stringify(result) + '\n');
  if (result.stalled) {
    process.stderr.write(`${NAME}: ${result.stalled}\n`);
    return 2;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    process.stderr.write(`${NAME}: ${err.message}\n`);
    process.exit(1);
  },
);
