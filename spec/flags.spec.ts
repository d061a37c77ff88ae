import test from 'ava';
import { parseServerFlags } from '../lib/flags';

const error = (argv: string[]) => {
  const parsed = parseServerFlags(argv);
  return parsed.ok === false ? parsed.error : `no error: ${JSON.stringify(parsed)}`;
};

test('no flags: the defaults (TCP 8888 and web 8080 are applied by the server)', (t) => {
  t.deepEqual(parseServerFlags([]), {
    ok: true,
    value: {
      server: {},
      httpPort: 8080,
      web: true,
      redisUrl: undefined,
      nodeTimeoutMs: undefined,
      history: { dir: './data', maxLines: 100_000 },
      ops: { logFormat: 'text', logLevel: 'info' },
    },
  });
});

test('the message log: --data-dir, --history-max-lines, --history-page, --no-history; with --redis only when given a dir', (t) => {
  const parsed = parseServerFlags(['--data-dir', '/tmp/x', '--history-max-lines', '50', '--history-page', '7']);
  if (parsed.ok !== true) return t.fail(JSON.stringify(parsed));
  t.deepEqual(parsed.value.history, { dir: '/tmp/x', maxLines: 50 });
  t.is(parsed.value.server.historyPage, 7);
  const off = parseServerFlags(['--no-history']);
  t.is(off.ok === true && off.value.history, false);
  const redis = parseServerFlags(['--redis', 'redis://127.0.0.1:6379']);
  t.is(redis.ok === true && redis.value.history, false);
  const redisWithDir = parseServerFlags(['--redis', 'redis://127.0.0.1:6379', '--data-dir', 'd1']);
  t.deepEqual(redisWithDir.ok === true && redisWithDir.value.history, { dir: 'd1', maxLines: 100_000 });
  t.is(error(['--history-max-lines', '0']), "--history-max-lines must be a whole number from 1 to 1000000000, got '0'");
  t.is(error(['--history-page', 'lots']), "--history-page must be a whole number from 1 to 100000, got 'lots'");
  t.is(error(['--data-dir', '']), '--data-dir must not be empty');
  t.is(error(['--no-history', '--data-dir', 'x']), '--no-history cannot be combined with --data-dir or --history-max-lines');
});

test('every flag is read into its option', (t) => {
  const parsed = parseServerFlags([
    '--host',
    '127.0.0.2',
    '--port',
    '0',
    '--idle-timeout',
    '0.5',
    '--lang',
    'en',
    '--max-line-bytes',
    '64',
    '--max-queue-bytes',
    '65536',
    '--max-connections',
    '5',
    '--max-connections-per-ip',
    '2',
    '--rate-limit',
    '0',
    '--rate-burst',
    '3',
    '--http-port',
    '0',
    '--no-web',
  ]);
  if (parsed.ok !== true) return t.fail(JSON.stringify(parsed));
  t.deepEqual(parsed.value.server, {
    host: '127.0.0.2',
    port: 0,
    idleTimeoutMs: 500,
    lang: 'en',
    maxLineBytes: 64,
    maxQueueBytes: 65536,
    maxConnections: 5,
    maxConnectionsPerIp: 2,
    rateLimit: 0,
    rateBurst: 3,
  });
  t.is(parsed.value.httpPort, 0);
  t.false(parsed.value.web);
});

test('--help wins', (t) => {
  t.deepEqual(parseServerFlags(['--port', '1', '--help']), { ok: 'help' });
  t.deepEqual(parseServerFlags(['-h']), { ok: 'help' });
});

test('each bad value gets one specific message naming the flag and the value', (t) => {
  t.is(error(['--port', '99999']), "--port must be a whole number from 0 to 65535, got '99999'");
  t.is(error(['--port', 'abc']), "--port must be a whole number from 0 to 65535, got 'abc'");
  t.is(error(['--port', '-5']), "--port must be a whole number from 0 to 65535, got '-5'");
  t.is(error(['--port=1.5']), "--port must be a whole number from 0 to 65535, got '1.5'");
  t.is(error(['--idle-timeout', '-1']), "--idle-timeout must be a positive number of seconds, got '-1'");
  t.is(error(['--idle-timeout', '0']), "--idle-timeout must be a positive number of seconds, got '0'");
  t.is(error(['--lang', 'fr']), "--lang must be one of zh, en, got 'fr'");
  t.is(error(['--rate-limit', 'fast']), "--rate-limit must be a number of lines a second from 0 (no limit) to 1000000, got 'fast'");
  t.is(error(['--redis', 'localhost:6379']), "--redis must be a URL like redis://127.0.0.1:6379, got 'localhost:6379'");
  t.is(error(['--host', '']), '--host must not be empty');
});

test('unknown flags, missing values and stray arguments are one line each', (t) => {
  for (const argv of [['--bogus'], ['--port'], ['stray']]) {
    const message = error(argv);
    t.false(message.includes('\n'), message);
    t.false(message.startsWith('no error'), message);
  }
});

test('--allow-plaintext-auth is off unless given', (t) => {
  const off = parseServerFlags([]);
  t.is(off.ok === true && off.value.allowPlaintextAuth, undefined);
  const on = parseServerFlags(['--allow-plaintext-auth']);
  t.is(on.ok === true && on.value.allowPlaintextAuth, true);
});
