/**
 * The server's flags for running it in production: logs, metrics, proxies, the env file. Their
 * spec joins `SERVER_FLAGS` (lib/flags.ts), which parses them with the rest; this file checks
 * their values. Kept apart so lib/flags.ts grows by a line, not by a page.
 */
import { LEVELS, LOG_FORMATS, LogFormat, Threshold, isLogFormat, isThreshold } from './logger';
import { TrustedProxies, parseTrustProxy } from './trust';

export const OPS_FLAGS = {
  'log-format': { type: 'string' },
  'log-level': { type: 'string' },
  'metrics-port': { type: 'string' },
  'metrics-host': { type: 'string' },
  'proxy-protocol': { type: 'boolean' },
  'trust-proxy': { type: 'string' },
  'env-file': { type: 'string' },
} as const;

export const OPS_DEFAULTS = { logFormat: 'text' as LogFormat, logLevel: 'info' as Threshold, metricsHost: '127.0.0.1' };

export const OPS_USAGE = `  --log-format text|json        text: a line per event, as ever; json: one JSON object a line (default ${OPS_DEFAULTS.logFormat})
  --log-level LEVEL             ${LEVELS.join(', ')}; SIGHUP re-reads it from --env-file (default ${OPS_DEFAULTS.logLevel})
  --metrics-port PORT           serve /metrics, /healthz and /readyz on a port of their own (else /metrics is on the web port)
  --metrics-host HOST           interface of --metrics-port (default ${OPS_DEFAULTS.metricsHost}: not public by accident)
  --proxy-protocol              the TCP port is behind a proxy sending the PROXY protocol (v1 or v2): users are named
                                after the client it names; needs --trust-proxy
  --trust-proxy CIDR[,CIDR...]  the proxies whose word on a client's address is taken: PROXY headers on the TCP port,
                                X-Forwarded-For and X-Forwarded-Proto on the web port; e.g. 127.0.0.1,10.0.0.0/8
  --env-file FILE               RXIM_ variables read from FILE (the environment wins over it); SIGHUP reads it again
`;

/** What the CLI does with these flags. */
export interface OpsConfig {
  readonly logFormat: LogFormat;
  readonly logLevel: Threshold;
  /** `--metrics-port`: the operator's endpoints on their own port. */
  readonly metrics?: { readonly host: string; readonly port: number };
  readonly envFile?: string;
}

/** The ChatServer options these flags set. */
export interface OpsServerOptions {
  proxyProtocol?: boolean;
  trustProxy?: TrustedProxies;
}

type Values = Readonly<Record<string, string | boolean | undefined>>;

export function parseOpsFlags(v: Values): { readonly ops: OpsConfig; readonly server: OpsServerOptions } | { readonly error: string } {
  const str = (name: keyof typeof OPS_FLAGS) => v[name] as string | undefined;
  const format = str('log-format') ?? OPS_DEFAULTS.logFormat;
  if (!isLogFormat(format)) return { error: `--log-format must be one of ${LOG_FORMATS.join(', ')}, got '${format}'` };
  const level = str('log-level') ?? OPS_DEFAULTS.logLevel;
  if (!isThreshold(level)) return { error: `--log-level must be one of ${LEVELS.join(', ')}, got '${level}'` };
  let metrics: OpsConfig['metrics'];
  const rawPort = str('metrics-port');
  const host = str('metrics-host');
  if (rawPort !== undefined) {
    const port = /^\d+$/.test(rawPort.trim()) ? Number(rawPort) : NaN;
    if (!(port >= 0 && port <= 65535)) return { error: `--metrics-port must be a whole number from 0 to 65535, got '${rawPort}'` };
    if (host === '') return { error: '--metrics-host must not be empty' };
    metrics = { host: host ?? OPS_DEFAULTS.metricsHost, port };
  } else if (host !== undefined) return { error: '--metrics-host needs --metrics-port' };
  const server: OpsServerOptions = {};
  const rawTrust = str('trust-proxy');
  if (rawTrust !== undefined) {
    const trusted = parseTrustProxy(rawTrust);
    if (!(trusted instanceof TrustedProxies))
      return { error: `--trust-proxy must be addresses or CIDR ranges like 10.0.0.0/8,::1, separated by commas; got '${trusted.bad}'` };
    server.trustProxy = trusted;
  }
  if (v['proxy-protocol']) {
    if (!server.trustProxy) return { error: '--proxy-protocol needs --trust-proxy: the addresses of the proxies allowed to name clients' };
    server.proxyProtocol = true;
  }
  const envFile = str('env-file');
  if (envFile === '') return { error: '--env-file must not be empty' };
  return { ops: { logFormat: format, logLevel: level, ...(metrics ? { metrics } : {}), ...(envFile !== undefined ? { envFile } : {}) }, server };
}
