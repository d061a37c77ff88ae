/**
 * The client's flags -> options, as a pure function of argv. Accepts the reference's Go-style
 * spellings (`-ip 1.2.3.4`, `-port=9000`; Go's flag package takes one dash or two, with a
 * space or `=`) besides `--host`/`--port`; the reference declared them and then ignored them.
 */
import { Parsed, integer, lang, parse } from '../flags';
import { DEFAULT_TLS_PORT } from '../tcp/tls';
import { Lang } from '../texts';

export interface ClientConfig {
  readonly host: string;
  readonly port: number;
  readonly lang: Lang;
  readonly mode: 'menu' | 'chat';
  /** --tls: the server's TLS port; its certificate checked against `ca` (a PEM file) or the system's CAs, or not at all with --insecure. */
  readonly tls?: { readonly ca?: string; readonly insecure: boolean };
}

export const CLIENT_DEFAULTS: ClientConfig = { host: '127.0.0.1', port: 8888, lang: 'zh', mode: 'menu' };

/** A host that never answers must not leave the user waiting for the OS's two minutes. */
export const CONNECT_TIMEOUT_MS = 10_000;

export const CLIENT_USAGE = `Usage: rx-im-client [options]

The chat client: the Go reference client's menus (the default), or a chat prompt (--chat).

Options:
  -ip HOST, --host HOST     server address (default ${CLIENT_DEFAULTS.host})
  -port PORT, --port PORT   server port (default ${CLIENT_DEFAULTS.port}; ${DEFAULT_TLS_PORT} with --tls)
  --tls                     connect with TLS (the server's --tls-port)
  --ca FILE                 with --tls: trust the certificates in this PEM file (a self-signed server's own certificate,
                            or the CA that signed it) instead of the system's
  --insecure                with --tls: do not check the server's certificate (encrypted, but to whoever answers)
  --chat                    chat mode: type to talk to everyone; /help lists the commands
  --lang zh|en              language of the client's own texts (default ${CLIENT_DEFAULTS.lang})
  -h, --help                show this help
  --version                 print the version and exit

Colour is used when stdout is a terminal and NO_COLOR is not set.
Exit status: 0 after quitting, a kick or a server shutdown; 1 when the server cannot be
reached, the connection is lost, or a flag is wrong; 130 on Ctrl-C. A connection attempt
gives up after ${CONNECT_TIMEOUT_MS / 1000} s.
`;

// Go-style names -> our long options; `ip` is the reference's name for the host.
const ALIASES: Readonly<Record<string, string>> = {
  ip: 'host',
  host: 'host',
  port: 'port',
  lang: 'lang',
  chat: 'chat',
  help: 'help',
  version: 'version',
  tls: 'tls',
  ca: 'ca',
  insecure: 'insecure',
};
const TAKES_VALUE: ReadonlySet<string> = new Set(['host', 'port', 'lang', 'ca']);

/**
 * Rewrites Go-style flags to the `--name=value` form node:util's parseArgs expects:
 * `-ip 1.2.3.4` -> `--host=1.2.3.4`, `-port=9000` -> `--port=9000`. Joining a flag and its
 * value with `=` also lets a value start with `-`. Everything after `--` is left alone.
 */
export function normaliseGoFlags(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      out.push(...argv.slice(i));
      break;
    }
    const match = /^--?([a-z]+)(=[\s\S]*)?$/.exec(arg);
    const name = match ? ALIASES[match[1]] : undefined;
    if (!match || name === undefined) {
      out.push(arg);
      continue;
    }
    if (match[2] !== undefined) out.push(`--${name}${match[2]}`);
    else if (TAKES_VALUE.has(name) && i + 1 < argv.length) out.push(`--${name}=${argv[++i]}`);
    else out.push(`--${name}`);
  }
  return out;
}

export function parseClientFlags(argv: readonly string[]): Parsed<ClientConfig> {
  const parsed = parse(normaliseGoFlags(argv), {
    host: { type: 'string' },
    port: { type: 'string' },
    lang: { type: 'string' },
    chat: { type: 'boolean' },
    tls: { type: 'boolean' },
    ca: { type: 'string' },
    insecure: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
    version: { type: 'boolean' },
  });
  if ('error' in parsed) return { ok: false, error: parsed.error };
  const values = parsed.values;
  if (values.help) return { ok: 'help' };
  if (values.version) return { ok: 'version' };
  const host = (values.host as string | undefined) ?? CLIENT_DEFAULTS.host;
  if (host.trim() === '') return { ok: false, error: '--host (-ip) must not be empty' };
  const ca = values.ca as string | undefined;
  if (!values.tls && (ca !== undefined || values.insecure)) return { ok: false, error: `${ca !== undefined ? '--ca' : '--insecure'} needs --tls` };
  if (ca !== undefined && values.insecure) return { ok: false, error: '--ca and --insecure cannot be combined: --insecure checks no certificate' };
  if (ca === '') return { ok: false, error: '--ca must not be empty' };
  let port = values.tls ? DEFAULT_TLS_PORT : CLIENT_DEFAULTS.port;
  if (values.port !== undefined) {
    const n = integer('port', values.port as string, 1, 65535);
    if (typeof n === 'string') return { ok: false, error: n };
    port = n;
  }
  const l = lang('lang', (values.lang as string | undefined) ?? CLIENT_DEFAULTS.lang);
  if (typeof l === 'object') return { ok: false, error: l.error };
  const tls = values.tls ? { tls: { ...(ca !== undefined ? { ca } : {}), insecure: values.insecure === true } } : {};
  return { ok: true, value: { host: host.trim(), port, lang: l, mode: values.chat ? 'chat' : 'menu', ...tls } };
}
