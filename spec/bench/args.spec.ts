import test from 'ava';
import { BENCH_USAGE, parseBenchArgs } from '../../bench/args';

test('defaults', (t) => {
  const r = parseBenchArgs(['fanout']);
  if (r.ok !== true) return t.fail(JSON.stringify(r));
  t.like(r.value, {
    scenario: 'fanout',
    host: '127.0.0.1',
    port: 8888,
    clients: 100,
    senders: 10,
    messages: 200,
    mode: 'closed',
    threads: 1,
    json: false,
    label: '127.0.0.1:8888',
  });
  t.is(r.value.pid, undefined);
});

test('every option', (t) => {
  const r = parseBenchArgs([
    'slow',
    '--host',
    '127.0.0.2',
    '--port',
    '9000',
    '-c',
    '50',
    '-s',
    '5',
    '-m',
    '7',
    '--size',
    '1000',
    '--mode',
    'pipelined',
    '--window',
    '4',
    '--duration',
    '2.5',
    '-k',
    '3',
    '--threads',
    '2',
    '--sources',
    '4',
    '--concurrency',
    '10',
    '--stall',
    '3',
    '--drain',
    '0.5',
    '--pid',
    '123',
    '--label',
    'x',
    '--json',
    '--quiet',
  ]);
  if (r.ok !== true) return t.fail(JSON.stringify(r));
  t.like(r.value, {
    scenario: 'slow',
    host: '127.0.0.2',
    port: 9000,
    clients: 50,
    senders: 5,
    messages: 7,
    size: 1000,
    mode: 'pipelined',
    window: 4,
    durationS: 2.5,
    slow: 3,
    threads: 2,
    sources: 4,
    concurrency: 10,
    stallS: 3,
    drainS: 0.5,
    pid: 123,
    label: 'x',
    json: true,
    quiet: true,
  });
});

test('help', (t) => {
  t.is(parseBenchArgs(['--help']).ok, 'help');
  t.is(parseBenchArgs(['fanout', '-h']).ok, 'help');
});

test('--version needs no scenario; --help wins over it', (t) => {
  t.deepEqual(parseBenchArgs(['--version']), { ok: 'version' });
  t.deepEqual(parseBenchArgs(['fanout', '--version']), { ok: 'version' });
  t.deepEqual(parseBenchArgs(['--version', '--help']), { ok: 'help' });
  t.regex(BENCH_USAGE, /^ {2}--version +print the version and exit$/m);
});

const bad: [string[], RegExp][] = [
  [[], /one scenario/],
  [['fanout', 'private'], /one scenario/],
  [['storm'], /unknown scenario 'storm'/],
  [['fanout', '--clients', '0'], /--clients must be a whole number/],
  [['fanout', '--clients', 'ten'], /--clients must be a whole number/],
  [['fanout', '--port', '70000'], /--port must be a whole number from 1 to 65535/],
  [['fanout', '--mode', 'open'], /--mode must be closed or pipelined/],
  [['fanout', '--duration', '0'], /--duration must be a positive number of seconds/],
  [['fanout', '-c', '5', '-s', '6'], /--senders \(6\) must not exceed --clients \(5\)/],
  [['private', '-c', '7'], /even number of clients/],
  [['fanout', '--pid', 'me'], /--pid must be a whole number/],
  [['fanout', '--bogus'], /bogus/],
  [['fanout', '--host', ''], /--host must not be empty/],
];
for (const [argv, message] of bad) {
  test(`rejects ${argv.join(' ') || '(nothing)'}`, (t) => {
    const r = parseBenchArgs(argv);
    t.is(r.ok, false);
    if (r.ok === false) t.regex(r.error, message);
  });
}
