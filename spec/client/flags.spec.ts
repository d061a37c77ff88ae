/** The client's flags: the reference's Go-style -ip/-port, our --host/--port, --lang, --chat. */
import test from 'ava';
import { CLIENT_DEFAULTS, CLIENT_USAGE, CONNECT_TIMEOUT_MS, normaliseGoFlags, parseClientFlags } from '../../lib/client/flags';

const value = (argv: string[]) => {
  const parsed = parseClientFlags(argv);
  if (parsed.ok !== true) throw new Error(`expected a value for ${JSON.stringify(argv)}, got ${JSON.stringify(parsed)}`);
  return parsed.value;
};
const error = (argv: string[]) => {
  const parsed = parseClientFlags(argv);
  if (parsed.ok !== false) throw new Error(`expected an error for ${JSON.stringify(argv)}, got ${JSON.stringify(parsed)}`);
  return parsed.error;
};

test('defaults: 127.0.0.1:8888, zh, menu mode', (t) => {
  t.deepEqual(value([]), { host: '127.0.0.1', port: 8888, lang: 'zh', mode: 'menu' });
  t.deepEqual(value([]), CLIENT_DEFAULTS);
});

test('Go-style spellings as the reference declares them: -ip, -port, with a space or =, one dash or two', (t) => {
  t.deepEqual(value(['-ip', '10.0.0.7', '-port', '9000']), { ...CLIENT_DEFAULTS, host: '10.0.0.7', port: 9000 });
  t.deepEqual(value(['-ip=10.0.0.8', '-port=9001']), { ...CLIENT_DEFAULTS, host: '10.0.0.8', port: 9001 });
  t.deepEqual(value(['--ip', '::1', '--port=9002']), { ...CLIENT_DEFAULTS, host: '::1', port: 9002 });
  t.deepEqual(value(['-chat', '-lang', 'en']), { ...CLIENT_DEFAULTS, mode: 'chat', lang: 'en' });
});

test('--host/--port, --lang en, --chat', (t) => {
  t.deepEqual(value(['--host', 'localhost', '--port', '1', '--lang', 'en', '--chat']), { host: 'localhost', port: 1, lang: 'en', mode: 'chat' });
});

test('--help and -h', (t) => {
  t.deepEqual(parseClientFlags(['--help']), { ok: 'help' });
  t.deepEqual(parseClientFlags(['-h']), { ok: 'help' });
  t.deepEqual(parseClientFlags(['-help']), { ok: 'help' });
});

test('--version, also Go-style; --help wins over it', (t) => {
  t.deepEqual(parseClientFlags(['--version']), { ok: 'version' });
  t.deepEqual(parseClientFlags(['-version', '-port', '1']), { ok: 'version' });
  t.deepEqual(parseClientFlags(['--version', '-h']), { ok: 'help' });
  t.regex(CLIENT_USAGE, /^ {2}--version +print the version and exit$/m);
});

test('the usage states the exit status of Ctrl-C and the connect timeout', (t) => {
  t.regex(CLIENT_USAGE, /; 130 on Ctrl-C\./);
  t.regex(CLIENT_USAGE, new RegExp(`gives up after ${CONNECT_TIMEOUT_MS / 1000} s\\.`));
});

test('bad values: one message naming the flag', (t) => {
  t.regex(error(['-port', 'abc']), /--port must be a whole number from 1 to 65535, got 'abc'/);
  t.regex(error(['-port', '-5']), /--port .* got '-5'/);
  t.regex(error(['--port', '70000']), /--port/);
  t.regex(error(['--port', '0']), /--port/);
  t.regex(error(['--lang', 'fr']), /--lang must be one of zh, en, got 'fr'/);
  t.regex(error(['-ip=']), /--host \(-ip\) must not be empty/);
  t.regex(error(['-port']), /--port/);
  t.is(error(['--frob']), "Unknown option '--frob'"); // parseArgs's first sentence, as the server's flags
  t.regex(error(['stray']), /stray/);
});

test('normaliseGoFlags leaves what is not ours, and everything after --, alone', (t) => {
  t.deepEqual(normaliseGoFlags(['-ip', '1.2.3.4', '-x', '--', '-port', '1']), ['--host=1.2.3.4', '-x', '--', '-port', '1']);
  t.deepEqual(normaliseGoFlags(['-h', '-chat']), ['-h', '--chat']);
});
