#!/usr/bin/env node
/** rx-im-server: flags -> ChatServer; logs to stderr; exit codes; signals. */
import { readFileSync } from 'node:fs';
import { collectDefaultMetrics } from 'prom-client';
import { loadServerConfig, reload } from '../lib/env';
import { SERVER_USAGE } from '../lib/flags';
import { LEVELS, createLogger } from '../lib/logger';
import { fitConnections } from '../lib/admission';
import { openAccounts } from '../lib/auth/open';
import { RedisHub } from '../lib/redis/hub';
import { Address, ChatServer, DEFAULTS } from '../lib/server';
import type { MessageLog } from '../lib/store/log';
import { openSqliteLog } from '../lib/store/sqlite';
import { TlsCertificate, describeCertificate } from '../lib/tcp/tls';
import { packageVersion } from '../lib/version';
import { startWeb, WebHandle } from '../lib/web';
import { OpsHandle, startOps } from '../lib/web/health';

const NAME = 'rx-im-server';

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const readFile = (path: string) => readFileSync(path, 'utf8');
  const loaded = loadServerConfig(argv, process.env, readFile);
  const flags = loaded.parsed;
  if (flags.ok === 'help') {
    process.stdout.write(SERVER_USAGE);
    return;
  }
  if (flags.ok === 'version') {
    process.stdout.write(`${packageVersion()}\n`);
    return;
  }
  if (!flags.ok) {
    process.stderr.write(`${NAME}: ${flags.error} (see --help)\n`);
    process.exit(1);
  }
  const { ops } = flags.value;
  const logger = createLogger({ format: ops.logFormat, level: ops.logLevel, write: (chunk) => process.stderr.write(chunk) });
  // Read and checked before anything opens: a wrong file is one line, not a handshake failing for everyone.
  let certificate: TlsCertificate | undefined;
  if (flags.value.tls) {
    const pair = TlsCertificate.load(flags.value.tls.certFile, flags.value.tls.keyFile);
    if (!pair.ok) {
      process.stderr.write(`${NAME}: ${pair.error}\n`);
      process.exit(1);
    }
    certificate = pair.value;
    const expired = certificate.info.validTo.getTime() <= Date.now();
    logger.log(expired ? 'warn' : 'info', `TLS certificate: ${describeCertificate(certificate.info)}`, { component: 'tls' });
  }
  let hub: RedisHub | undefined;
  if (flags.value.redisUrl !== undefined) {
    const redisLog = (line: string) => logger.log(/^redis: (linked|link restored)/.test(line) ? 'info' : 'warn', line, { component: 'redis' });
    const { streamLog, outageBuffer } = flags.value;
    hub = new RedisHub({
      url: flags.value.redisUrl,
      nodeTimeoutMs: flags.value.nodeTimeoutMs,
      maxLines: streamLog ? streamLog.maxLines : undefined,
      outageBuffer,
      log: redisLog,
    });
    try {
      await hub.start();
    } catch (err) {
      // Unusable at start: say so and stop. Once running, a Redis that goes away only degrades.
      process.stderr.write(`${NAME}: cannot use Redis at ${flags.value.redisUrl}: ${(err as Error).message}\n`);
      await hub.close();
      process.exit(1);
    }
  }
  let history: MessageLog | false = false;
  if (hub) {
    // The cluster's log is its Redis stream (lib/redis/stream-log.ts), the same on every node.
    history = flags.value.streamLog ? hub.log : false;
    if (flags.value.history) logger.log('warn', '--data-dir is not used with --redis: the message log is the Redis stream', { component: 'history' });
  } else if (flags.value.history) {
    const { dir, maxLines } = flags.value.history;
    try {
      history = openSqliteLog({ dir, maxLines, onTrouble: (why) => logger.log('error', `history: ${why}`, { component: 'history' }) });
    } catch (err) {
      process.stderr.write(`${NAME}: ${(err as Error).message}\n`);
      process.exit(1);
    }
  }
  let accounts;
  try {
    accounts = await openAccounts({ redisUrl: flags.value.redisUrl, history, allowPlaintext: flags.value.allowPlaintextAuth });
  } catch (err) {
    process.stderr.write(`${NAME}: ${(err as Error).message}\n`);
    process.exit(1);
  }
  if (!accounts.config.store) logger.log('warn', accounts.where, { component: 'accounts' });
  // Within the open-files limit (lib/admission.ts): a flood meets the server's refusal, never EMFILE.
  let procLimits: string | undefined;
  try {
    procLimits = readFile('/proc/self/limits');
  } catch {
    procLimits = undefined; // not Linux: the limit as given
  }
  const fitted = fitConnections(flags.value.server.maxConnections ?? DEFAULTS.maxConnections, procLimits);
  if (fitted.lowered)
    logger.log('warn', `--max-connections lowered to ${fitted.max}: the process may open ${fitted.openFiles} files (ulimit -n)`, { component: 'admission' });
  const server = new ChatServer({ ...flags.value.server, maxConnections: fitted.max, logger, hub, history, accounts: accounts.config });
  collectDefaultMetrics({ register: server.metrics.registry });
  // Signals are handled from here on, before anything is announced: a SIGTERM right after the
  // "listening" line (a supervisor stopping a fresh start) still shuts down cleanly.
  let web: WebHandle | undefined;
  let opsServer: OpsHandle | undefined;
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    logger.log('info', `${signal}: shutting down`, { event: 'shutdown', signal });
    server
      .close(1000)
      .then(() => web?.close())
      .then(() => opsServer?.close())
      .then(() => hub?.close())
      .then(() => accounts.close())
      .then(() => history && history.close())
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // Listens, or says in one line why it cannot and exits 1.
  const listenOrExit = async (transport: 'tcp' | 'tls', port: number, flag: string, listen: () => Promise<Address>) => {
    let address: Address;
    try {
      address = await listen();
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const where = `${flags.value.server.host ?? DEFAULTS.host}:${port}`;
      const why =
        e.code === 'EADDRINUSE'
          ? `port in use: ${where} is already taken (another server running? try ${flag})`
          : e.code === 'EACCES'
            ? `permission denied to listen on ${where}`
            : e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND'
              ? `cannot listen on ${where}: no such local address`
              : `cannot listen on ${where}: ${e.message}`;
      process.stderr.write(`${NAME}: ${why}\n`);
      process.exit(1);
    }
    process.stdout.write(`${NAME} listening on ${address.host}:${address.port} (${transport})\n`);
  };
  if (flags.value.tls?.plain !== false) await listenOrExit('tcp', flags.value.server.port ?? DEFAULTS.port, '--port', () => server.listen());
  if (certificate && flags.value.tls) {
    const { port } = flags.value.tls;
    const tls = certificate;
    await listenOrExit('tls', port, '--tls-port', () => server.listenTls({ certificate: tls, port }));
  }

  if (flags.value.web) {
    const host = flags.value.server.host ?? DEFAULTS.host;
    try {
      web = await startWeb(server, {
        host,
        port: flags.value.httpPort,
        maxLineBytes: flags.value.server.maxLineBytes ?? DEFAULTS.maxLineBytes,
        origins: flags.value.webOrigins,
        metrics: ops.metrics === undefined,
        tls: certificate,
      });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const where = `${host}:${flags.value.httpPort}`;
      const why =
        e.code === 'EADDRINUSE'
          ? `port in use: ${where} is already taken (try --http-port, or --no-web)`
          : `cannot serve the web chat on ${where}: ${e.message}`;
      process.stderr.write(`${NAME}: ${why}\n`);
      await server.close(0);
      process.exit(1);
    }
    const shown = web.host.includes(':') ? `[${web.host}]` : web.host;
    process.stdout.write(`${NAME} web chat on ${certificate ? 'https' : 'http'}://${shown}:${web.port}/\n`);
  }

  if (ops.metrics) {
    const where = `${ops.metrics.host}:${ops.metrics.port}`;
    try {
      opsServer = await startOps(server, ops.metrics);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const why = e.code === 'EADDRINUSE' ? `port in use: ${where} is already taken (try --metrics-port)` : `cannot serve metrics on ${where}: ${e.message}`;
      process.stderr.write(`${NAME}: ${why}\n`);
      await server.close(0);
      await web?.close();
      process.exit(1);
    }
    const shown = opsServer.host.includes(':') ? `[${opsServer.host}]` : opsServer.host;
    process.stdout.write(`${NAME} metrics on http://${shown}:${opsServer.port}/metrics\n`);
  }

  // Reloads what can change while running (the TLS certificate; the log level, from --env-file) and says what it did.
  process.on('SIGHUP', () => {
    if (certificate) {
      // New handshakes (line protocol and HTTPS) get the files' pair; open connections keep theirs.
      const renewed = certificate.reload();
      const fields = { event: 'reload', component: 'tls' };
      if (renewed.ok) logger.log('info', `SIGHUP: TLS certificate reloaded: ${describeCertificate(renewed.value)}`, fields);
      else logger.log('warn', `SIGHUP: TLS certificate not reloaded (still serving the one loaded before): ${renewed.error}`, fields);
    }
    const result = reload(loaded, loadServerConfig(argv, process.env, readFile), logger.level);
    // Said at whichever of the two levels is the more verbose, so that it is seen.
    const quieter = LEVELS.indexOf(result.level) > LEVELS.indexOf(logger.level);
    if (quieter) logger.log('info', result.message, { event: 'reload' });
    logger.setLevel(result.level);
    if (!quieter) logger.log(result.ok ? 'info' : 'warn', result.message, { event: 'reload' });
  });
}

main().catch((err: Error) => {
  process.stderr.write(`${NAME}: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
