/**
 * Configuration from the environment, the way containers and systemd give it: every server
 * flag also as `RXIM_` + its name in upper snake case (`--port` is RXIM_PORT, `--no-web` is
 * RXIM_NO_WEB=1), from the process environment or from `--env-file`. A variable becomes the
 * flag it stands for, added to the command line unless the flag is there already (the
 * command line wins); lib/flags.ts then checks it like any flag, and its complaint names the
 * variable. Pure functions of (argv, env, the file's text): the CLI reads the world.
 */
import { parseArgs } from 'node:util';
import { Parsed, SERVER_FLAGS, ServerConfig, Spec, parseServerFlags } from './flags';
import type { Threshold } from './logger';

export const ENV_PREFIX = 'RXIM_';

/** Flags that make no sense as configuration: they ask the CLI a question. */
const NOT_FROM_ENV = new Set(['help', 'version']);

/** `max-line-bytes` -> `RXIM_MAX_LINE_BYTES`. */
export function envName(flag: string): string {
  return ENV_PREFIX + flag.toUpperCase().replace(/-/g, '_');
}

export type Env = Readonly<Record<string, string | undefined>>;

/** A flag taken from a variable: which, and from where (a file, or the process environment). */
export interface Taken {
  readonly flag: string;
  readonly variable: string;
  readonly value: string;
  /** The env file it came from; undefined: the process environment. */
  readonly file?: string;
}

const TRUE = /^(1|true|yes|on)$/i;
const FALSE = /^(0|false|no|off)$/i;

/** The flags named on the command line (whatever their values; the parser judges those). */
function onCommandLine(argv: readonly string[], spec: Spec): Set<string> {
  const { tokens } = parseArgs({ args: [...argv], options: spec, strict: false, allowPositionals: true, tokens: true });
  return new Set(tokens.flatMap((token) => (token.kind === 'option' ? [token.name] : [])));
}

/**
 * `argv` with the flags the environment sets and the command line does not, in front. An
 * empty variable counts as unset (as an empty `Environment=` line in a unit means). `files`
 * says which variables came from which env file, for the messages.
 */
export function withEnv(
  argv: readonly string[],
  env: Env,
  spec: Spec = SERVER_FLAGS,
  files: ReadonlyMap<string, string> = new Map(),
): { readonly argv: string[]; readonly taken: Taken[] } | { readonly error: string } {
  const given = onCommandLine(argv, spec);
  const known = new Map(Object.keys(spec).flatMap((flag) => (NOT_FROM_ENV.has(flag) ? [] : [[envName(flag), flag] as const])));
  const unknown = Object.keys(env)
    .filter((name) => name.startsWith(ENV_PREFIX) && !known.has(name) && env[name] !== undefined)
    .sort();
  // A typo (RXIM_PROT) would otherwise be ignored without a word.
  if (unknown.length > 0) return { error: `${where(unknown[0], files)} is not an option of rx-im-server (each option's variable is RXIM_ + its name)` };
  const extra: string[] = [];
  const taken: Taken[] = [];
  for (const [variable, flag] of known) {
    const value = env[variable];
    if (value === undefined || value === '' || given.has(flag)) continue;
    const file = files.get(variable);
    if (spec[flag].type === 'boolean') {
      if (FALSE.test(value.trim())) continue;
      if (!TRUE.test(value.trim())) return { error: `${where(variable, files)} must be 1 or true (to set --${flag}) or 0 or false, got '${value}'` };
      extra.push(`--${flag}`);
    } else {
      extra.push(`--${flag}=${value}`);
    }
    taken.push({ flag, variable, value, ...(file !== undefined ? { file } : {}) });
  }
  return { argv: [...extra, ...argv], taken };
}

function where(variable: string, files: ReadonlyMap<string, string>): string {
  const file = files.get(variable);
  return file === undefined ? variable : `${variable} (from ${file})`;
}

/** A flag parser's message about flags that came from variables, naming the variables instead. */
export function nameVariables(error: string, taken: readonly Taken[]): string {
  let named = error;
  for (const { flag, variable, file } of taken) {
    const escaped = flag.replace(/[-]/g, '\\-');
    named = named.replace(new RegExp(`--${escaped}(?![\\w-])`, 'g'), file === undefined ? variable : `${variable} (from ${file})`);
  }
  return named;
}

/**
 * An env file as systemd's `EnvironmentFile=` and Docker's `--env-file` read it: `NAME=VALUE`
 * lines, blank lines and `#` or `;` comments, an optional `export `, a value in quotes kept
 * as written inside them. Only RXIM_ variables are taken (the file may serve other tools too).
 */
export function parseEnvFile(text: string): { readonly vars: Record<string, string> } | { readonly error: string; readonly line: number } {
  const vars: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!match) return { error: 'expected NAME=VALUE', line: i + 1 };
    const raw = match[2];
    const quoted = /^(["'])(.*)\1$/.exec(raw);
    if (match[1].startsWith(ENV_PREFIX)) vars[match[1]] = quoted ? quoted[2] : raw;
  }
  return { vars };
}

/** The configuration and where each part came from. */
export interface Loaded {
  readonly parsed: Parsed<ServerConfig>;
  /** The flags set by variables. */
  readonly taken: readonly Taken[];
}

/**
 * The server's configuration: the command line, over the process environment, over the env
 * file (`--env-file` or RXIM_ENV_FILE). `readFile` returns the file's text or throws.
 */
export function loadServerConfig(argv: readonly string[], env: Env, readFile: (path: string) => string): Loaded {
  const first = withEnv(argv, env);
  if ('error' in first) return { parsed: { ok: false, error: first.error }, taken: [] };
  const parsed = parseServerFlags(first.argv);
  if (parsed.ok !== true) return { parsed: parsed.ok === false ? { ok: false, error: nameVariables(parsed.error, first.taken) } : parsed, taken: first.taken };
  const file = parsed.value.ops.envFile;
  if (file === undefined) return { parsed, taken: first.taken };
  let text: string;
  try {
    text = readFile(file);
  } catch (err) {
    return { parsed: { ok: false, error: `cannot read the env file ${file}: ${err instanceof Error ? err.message : String(err)}` }, taken: first.taken };
  }
  const fromFile = parseEnvFile(text);
  if ('error' in fromFile) return { parsed: { ok: false, error: `${file} line ${fromFile.line}: ${fromFile.error}` }, taken: first.taken };
  const combined: Record<string, string> = { ...fromFile.vars };
  delete combined[envName('env-file')]; // the file was chosen already
  const files = new Map(Object.keys(combined).map((name) => [name, file]));
  // The process environment wins over the file.
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value === '') continue;
    combined[name] = value;
    files.delete(name);
  }
  const merged = withEnv(argv, combined, SERVER_FLAGS, files);
  if ('error' in merged) return { parsed: { ok: false, error: merged.error }, taken: first.taken };
  const again = parseServerFlags(merged.argv);
  return { parsed: again.ok === false ? { ok: false, error: nameVariables(again.error, merged.taken) } : again, taken: merged.taken };
}

/** What SIGHUP does: the new log level, and the line that says so. */
export interface Reload {
  /** The level to log at from now on (the current one when nothing could be read). */
  readonly level: Threshold;
  readonly message: string;
  /** False when the configuration could not be read: nothing changed. */
  readonly ok: boolean;
}

/**
 * SIGHUP: the configuration read again (`again`) against the one the server started with
 * (`start`). The log level takes effect; any other setting that changed is named, as needing a
 * restart, rather than silently ignored.
 */
export function reload(start: Loaded, again: Loaded, current: Threshold): Reload {
  if (again.parsed.ok !== true) {
    const why = again.parsed.ok === false ? again.parsed.error : 'no configuration';
    return { level: current, message: `SIGHUP: nothing reloaded, the configuration is invalid: ${why}`, ok: false };
  }
  const config = again.parsed.value;
  const level = config.ops.logLevel;
  const was = new Map(start.taken.map((t) => [t.variable, t.value]));
  const now = new Map(again.taken.map((t) => [t.variable, t.value]));
  const restart = [...new Set([...was.keys(), ...now.keys()])].filter((name) => name !== envName('log-level') && was.get(name) !== now.get(name)).sort();
  const source = config.ops.envFile === undefined ? ' (no --env-file to re-read)' : ` from ${config.ops.envFile}`;
  const parts = [level === current ? `log level stays ${level}${source}` : `log level ${current} -> ${level}${source}`];
  if (restart.length > 0) parts.push(`${restart.join(', ')} changed: not applied until a restart`);
  return { level, message: `SIGHUP: ${parts.join('; ')}`, ok: true };
}
