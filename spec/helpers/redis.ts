/**
 * A throwaway redis-server for tests: on a free loopback port, no persistence (or, when asked,
 * an append-only file in a temporary directory), stopped (and restartable on the same port) by
 * the test. Tests that need it skip loudly when the Debian
 * package `redis-server` is not installed.
 *
 * ```ts
 * const redis = await startRedis();
 * t.teardown(() => redis.stop());
 * new RedisHub({ url: redis.url });
 * ```
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

/** Whether `redis-server` can be run here. */
export const HAVE_REDIS = spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;

/** Says loudly why the Redis tests do not run. */
export const NO_REDIS = 'SKIPPED: redis-server is not installed (Debian/Ubuntu: apt-get install redis-server)';
if (!HAVE_REDIS) console.warn(`\n*** ${NO_REDIS} ***\n`);

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** The running process's id (for a benchmark's CPU accounting). */
  readonly pid: number | undefined;
  /** Stops it (SIGKILL: what is not persisted is lost) and waits for its exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port: empty, or from its append-only file. */
  restart(): Promise<void>;
  /** Stops it and removes its files (its teardown). */
  dispose(): Promise<void>;
  /** Freezes it (SIGSTOP): its sockets stay open, nothing answers. */
  pause(): void;
  /** Lets it run again (SIGCONT). */
  resume(): void;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

export interface RedisOptions {
  /**
   * Persist to an append-only file (fsync: `always`, or `everysec`) in a temporary directory,
   * so that restart() reloads what was written; no persistence by default.
   */
  readonly aof?: 'always' | 'everysec';
}

/** Spawns redis-server and resolves once it accepts connections; rejects if it exits first. */
function launch(port: number, aof?: { readonly fsync: string; readonly dir: string }): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const persistence = aof ? ['--appendonly', 'yes', '--appendfsync', aof.fsync, '--dir', aof.dir] : ['--appendonly', 'no'];
    const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--loglevel', 'warning'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const onData = (chunk: Buffer) => (output += chunk.toString());
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    const onExit = () => reject(new Error(`redis-server on port ${port} exited: ${output.trim()}`));
    child.once('exit', onExit);
    child.once('error', reject);
    const started = Date.now();
    const poll = () => {
      const socket = net.connect({ port, host: '127.0.0.1' });
      socket.once('connect', () => {
        socket.write('PING\r\n');
        socket.once('data', (data) => {
          socket.destroy();
          if (data.toString().startsWith('+PONG')) {
            child.off('exit', onExit);
            resolve(child);
          } else setTimeout(poll, 20); // -LOADING
        });
      });
      socket.once('error', () => {
        socket.destroy();
        if (Date.now() - started > 5000) {
          child.kill('SIGKILL');
          reject(new Error(`redis-server on port ${port} did not start: ${output.trim()}`));
        } else setTimeout(poll, 20);
      });
    };
    poll();
  });
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** Starts a redis-server on a free loopback port (retrying if another process took the port first). */
export async function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  let lastError: unknown;
  const aof = options.aof ? { fsync: options.aof, dir: fs.mkdtempSync(path.join(os.tmpdir(), 'rx-im-redis-')) } : undefined;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    try {
      let child = await launch(port, aof);
      return {
        port,
        url: `redis://127.0.0.1:${port}`,
        get pid() {
          return child.pid;
        },
        stop: () => kill(child),
        dispose: async () => {
          await kill(child);
          if (aof) fs.rmSync(aof.dir, { recursive: true, force: true });
        },
        restart: async () => {
          await kill(child);
          child = await launch(port, aof);
        },
        pause: () => void child.kill('SIGSTOP'),
        resume: () => void child.kill('SIGCONT'),
      };
    } catch (err) {
      lastError = err;
    }
  }
  throw lastError;
}
