/**
 * lib/env.ts: every server flag from RXIM_ variables, the command line winning, the env file
 * under the process environment, complaints naming the variable, and what SIGHUP reloads. The
 * real process reading its environment: spec/e2e/ops-cli.spec.ts.
 */
import test from 'ava';
import { envName, loadServerConfig, Loaded, nameVariables, parseEnvFile, reload, withEnv } from '../lib/env';
import { ServerConfig, SERVER_FLAGS, SERVER_USAGE } from '../lib/flags';

const noFile = (path: string): string => {
  throw new Error(`ENOENT: no such file, open '${path}'`);
};

function config(argv: string[], env: Record<string, string>, files: Record<string, string> = {}): ServerConfig {
  const loaded = loadServerConfig(argv, env, (path) => files[path] ?? noFile(path));
  if (loaded.parsed.ok !== true) throw new Error(`expected a configuration, got ${JSON.stringify(loaded.parsed)}`);
  return loaded.parsed.value;
}

function error(argv: string[], env: Record<string, string>, files: Record<string, string> = {}): string {
  const parsed = loadServerConfig(argv, env, (path) => files[path] ?? noFile(path)).parsed;
  if (parsed.ok !== false) throw new Error(`expected an error, got ${JSON.stringify(parsed)}`);
  return parsed.error;
}

test('names: RXIM_ and the flag in upper snake case', (t) => {
  t.is(envName('port'), 'RXIM_PORT');
  t.is(envName('max-connections-per-ip'), 'RXIM_MAX_CONNECTIONS_PER_IP');
  t.is(envName('no-web'), 'RXIM_NO_WEB');
});

test('every flag but --help and --version has a variable, and --help says so', (t) => {
  const flags = Object.keys(SERVER_FLAGS).filter((f) => f !== 'help' && f !== 'version');
  t.true(flags.length >= 25, flags.join(' '));
  for (const flag of flags) {
    const value = SERVER_FLAGS[flag].type === 'boolean' ? '1' : 'x';
    const merged = withEnv([], { [envName(flag)]: value });
    t.false('error' in merged, flag);
    if (!('error' in merged)) t.deepEqual(merged.argv, [SERVER_FLAGS[flag].type === 'boolean' ? `--${flag}` : `--${flag}=x`], flag);
  }
  t.regex(SERVER_USAGE, /RXIM_/);
  t.regex(SERVER_USAGE, /command line wins/);
});

test('values from the environment become the options', (t) => {
  const c = config([], {
    RXIM_PORT: '9000',
    RXIM_REDIS: 'redis://127.0.0.1:6390',
    RXIM_NO_WEB: 'true',
    RXIM_LOG_FORMAT: 'json',
    RXIM_IDLE_TIMEOUT: '2.5',
    RXIM_DATA_DIR: '/var/lib/rx-im',
  });
  t.is(c.server.port, 9000);
  t.is(c.redisUrl, 'redis://127.0.0.1:6390');
  t.false(c.web);
  t.is(c.ops.logFormat, 'json');
  t.is(c.server.idleTimeoutMs, 2500);
  t.deepEqual(c.history, { dir: '/var/lib/rx-im', maxLines: 100_000 });
});

test('the command line wins over the environment, in either spelling', (t) => {
  t.is(config(['--port', '7000'], { RXIM_PORT: '9000' }).server.port, 7000);
  t.is(config(['--port=7001'], { RXIM_PORT: '9000' }).server.port, 7001);
  t.is(config(['--port', '7002'], { RXIM_PORT: 'not a port' }).server.port, 7002, 'a bad variable the command line overrides is not looked at');
  t.is(config([], { RXIM_PORT: '9000' }).server.port, 9000);
});

test('booleans: 1/true/yes/on set the flag, 0/false/no/off and empty leave it unset', (t) => {
  for (const on of ['1', 'true', 'TRUE', 'yes', 'on']) t.false(config([], { RXIM_NO_WEB: on }).web, on);
  for (const off of ['0', 'false', 'no', 'off', '']) t.true(config([], { RXIM_NO_WEB: off }).web, off);
  t.is(error([], { RXIM_NO_WEB: 'maybe' }), "RXIM_NO_WEB must be 1 or true (to set --no-web) or 0 or false, got 'maybe'");
});

test('an empty variable is unset (as an empty Environment= line)', (t) => {
  t.is(config([], { RXIM_PORT: '' }).server.port, undefined);
});

test('invalid values are reported naming the variable, with every check of the flag reused', (t) => {
  t.is(error([], { RXIM_PORT: '70000' }), "RXIM_PORT must be a whole number from 0 to 65535, got '70000'");
  t.is(error([], { RXIM_LANG: 'fr' }), "RXIM_LANG must be one of zh, en, got 'fr'");
  t.regex(error([], { RXIM_LOG_LEVEL: 'loud' }), /^RXIM_LOG_LEVEL must be one of debug, info, warn, error, silent/);
  t.regex(error([], { RXIM_TRUST_PROXY: '10.0.0.0/40' }), /^RXIM_TRUST_PROXY must be .*'10\.0\.0\.0\/40'/);
  t.is(error([], { RXIM_NODE_TIMEOUT: '5' }), 'RXIM_NODE_TIMEOUT needs --redis');
  t.is(error([], { RXIM_MAX_CONNECTIONS_PER_IP: 'x' }), "RXIM_MAX_CONNECTIONS_PER_IP must be a whole number from 0 to 1000000, got 'x'");
  // The command line's own mistakes keep their flag's name.
  t.is(error(['--port', 'x'], { RXIM_LANG: 'en' }), "--port must be a whole number from 0 to 65535, got 'x'");
});

test('a mistyped RXIM_ variable is an error, not silently ignored; other variables are none of our business', (t) => {
  t.is(error([], { RXIM_PROT: '9000' }), "RXIM_PROT is not an option of rx-im-server (each option's variable is RXIM_ + its name)");
  t.is(error([], { RXIM_HELP: '1' }), "RXIM_HELP is not an option of rx-im-server (each option's variable is RXIM_ + its name)");
  t.is(config([], { PORT: '1', HOME: '/root' }).server.port, undefined);
});

test('nameVariables does not take a flag for a longer one', (t) => {
  const taken = [{ flag: 'max-connections', variable: 'RXIM_MAX_CONNECTIONS', value: 'x' }];
  t.is(nameVariables('--max-connections-per-ip and --max-connections', taken), '--max-connections-per-ip and RXIM_MAX_CONNECTIONS');
});

test('env files: NAME=VALUE, comments, export, quotes; only RXIM_ variables', (t) => {
  const parsed = parseEnvFile(
    [
      '# rx-im',
      '; also a comment',
      '',
      'RXIM_PORT=9000',
      'export RXIM_LANG = en ',
      'RXIM_WEB_ORIGIN="https://chat.example.org"',
      "RXIM_DATA_DIR='/srv/rx im'",
      'PATH=/bin',
    ].join('\n'),
  );
  t.deepEqual(parsed, { vars: { RXIM_PORT: '9000', RXIM_LANG: 'en', RXIM_WEB_ORIGIN: 'https://chat.example.org', RXIM_DATA_DIR: '/srv/rx im' } });
  t.deepEqual(parseEnvFile('RXIM_PORT=1\nthis is not\n'), { error: 'expected NAME=VALUE', line: 2 });
});

test('--env-file: under the process environment, over nothing; complaints name the file', (t) => {
  const files = { '/etc/rx-im.env': 'RXIM_PORT=9000\nRXIM_LANG=en\nRXIM_LOG_LEVEL=debug\n' };
  const c = config(['--env-file', '/etc/rx-im.env'], { RXIM_LANG: 'zh' }, files);
  t.is(c.server.port, 9000);
  t.is(c.server.lang, 'zh', 'the process environment wins over the file');
  t.is(c.ops.logLevel, 'debug');
  t.is(config(['--env-file', '/etc/rx-im.env', '--port', '1'], {}, files).server.port, 1, 'and the command line over both');
  t.is(config([], { RXIM_ENV_FILE: '/etc/rx-im.env' }, files).server.port, 9000, 'the file may be named by RXIM_ENV_FILE');
  t.is(
    error(['--env-file', '/etc/rx-im.env'], {}, { '/etc/rx-im.env': 'RXIM_PORT=x\n' }),
    "RXIM_PORT (from /etc/rx-im.env) must be a whole number from 0 to 65535, got 'x'",
  );
  t.is(
    error(['--env-file', '/etc/rx-im.env'], {}, { '/etc/rx-im.env': 'RXIM_PORTT=1\n' }),
    "RXIM_PORTT (from /etc/rx-im.env) is not an option of rx-im-server (each option's variable is RXIM_ + its name)",
  );
  t.is(error(['--env-file', '/etc/rx-im.env'], {}, { '/etc/rx-im.env': 'junk\n' }), '/etc/rx-im.env line 1: expected NAME=VALUE');
  t.regex(error(['--env-file', '/nope'], {}), /^cannot read the env file \/nope: ENOENT/);
});

function load(argv: string[], env: Record<string, string>, files: Record<string, string>): Loaded {
  return loadServerConfig(argv, env, (path) => files[path] ?? noFile(path));
}

test('SIGHUP: the log level from the file takes effect; other changes are named, not applied', (t) => {
  const argv = ['--env-file', '/e'];
  const start = load(argv, {}, { '/e': 'RXIM_LOG_LEVEL=info\nRXIM_PORT=9000\n' });
  const same = reload(start, load(argv, {}, { '/e': 'RXIM_LOG_LEVEL=info\nRXIM_PORT=9000\n' }), 'info');
  t.deepEqual(same, { level: 'info', message: 'SIGHUP: log level stays info from /e', ok: true });
  const changed = reload(start, load(argv, {}, { '/e': 'RXIM_LOG_LEVEL=debug\nRXIM_PORT=9001\nRXIM_LANG=en\n' }), 'info');
  t.deepEqual(changed, {
    level: 'debug',
    message: 'SIGHUP: log level info -> debug from /e; RXIM_LANG, RXIM_PORT changed: not applied until a restart',
    ok: true,
  });
  const broken = reload(start, load(argv, {}, { '/e': 'RXIM_LOG_LEVEL=chatty\n' }), 'info');
  t.is(broken.level, 'info');
  t.false(broken.ok);
  t.regex(broken.message, /^SIGHUP: nothing reloaded, the configuration is invalid: RXIM_LOG_LEVEL \(from \/e\) must be one of/);
});

test('SIGHUP without an env file says there is nothing to re-read', (t) => {
  const start = load(['--log-level', 'warn'], {}, {});
  t.deepEqual(reload(start, load(['--log-level', 'warn'], {}, {}), 'warn'), {
    level: 'warn',
    message: 'SIGHUP: log level stays warn (no --env-file to re-read)',
    ok: true,
  });
});
