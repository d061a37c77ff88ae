/**
 * The operator's log: one event a call, with a level, a message and fields (`addr`, `reason`,
 * ...). Two formats: `text`, today's lines byte for byte (`TIME message`, the fields unwritten:
 * the message already says them), and `json`, one pino object a line for log shippers. lib/
 * code logs through the `Logger` interface and never writes anywhere itself; the CLI decides
 * where the lines go.
 */
import pino from 'pino';

/** From the most to the least verbose; `silent` logs nothing. */
export const LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type Threshold = (typeof LEVELS)[number];
/** What an event is logged at. */
export type Level = Exclude<Threshold, 'silent'>;

export const LOG_FORMATS = ['text', 'json'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

/** Structured context of one event. Never a user's message text or a password. */
export type Fields = Readonly<Record<string, string | number | boolean | undefined>>;

export interface Logger {
  log(level: Level, msg: string, fields?: Fields): void;
}

export function isThreshold(raw: string): raw is Threshold {
  return (LEVELS as readonly string[]).includes(raw);
}

export function isLogFormat(raw: string): raw is LogFormat {
  return (LOG_FORMATS as readonly string[]).includes(raw);
}

/** Every event as its message alone: what a `log: (line) => void` option (tests, embedders) gets. */
export function lineLogger(write: (line: string) => void): Logger {
  return { log: (_level, msg) => write(msg) };
}

export const SILENT: Logger = { log: () => {} };

export interface LoggerOptions {
  readonly format: LogFormat;
  readonly level: Threshold;
  /** Where each finished line goes, with its `\n` (the CLI: stderr). */
  readonly write: (chunk: string) => void;
  /** The clock of the text format's timestamps (pino reads `Date.now()` itself). */
  readonly now?: () => Date;
}

/** The CLI's logger: a level that SIGHUP may change, and one of the two formats. */
export interface RootLogger extends Logger {
  readonly format: LogFormat;
  readonly level: Threshold;
  setLevel(level: Threshold): void;
}

const RANK: Record<Threshold, number> = { debug: 0, info: 1, warn: 2, error: 3, silent: 4 };

export function createLogger(options: LoggerOptions): RootLogger {
  return options.format === 'json' ? jsonLogger(options) : textLogger(options);
}

function textLogger(options: LoggerOptions): RootLogger {
  const now = options.now ?? (() => new Date());
  let level = options.level;
  return {
    format: 'text',
    get level() {
      return level;
    },
    setLevel: (next) => (level = next),
    log(at, msg) {
      if (RANK[at] >= RANK[level]) options.write(`${now().toISOString()} ${msg}\n`);
    },
  };
}

/**
 * pino, writing synchronously to `write` (no worker thread, no buffer to lose at exit: the
 * server logs per connection, not per line). `time` as ISO 8601 and `level` as its name rather
 * than pino's epoch ms and number: readable as is, and every log tool parses both. No pid or
 * hostname: journald, Docker and Kubernetes add where a line came from.
 */
function jsonLogger(options: LoggerOptions): RootLogger {
  const logger = pino(
    {
      level: options.level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    { write: options.write },
  );
  return {
    format: 'json',
    get level() {
      return logger.level as Threshold;
    },
    setLevel: (next) => (logger.level = next),
    log(at, msg, fields) {
      if (fields === undefined) logger[at](msg);
      else logger[at](fields, msg);
    },
  };
}
