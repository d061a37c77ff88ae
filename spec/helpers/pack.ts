/**
 * The package as a user gets it: the working tree packed by `npm pack` (which builds it) in a
 * copy, so that this repository's dist/ is left alone, then installed from the tarball into an
 * empty folder, and its server started there through npx.
 */
import type { ExecutionContext } from 'ava';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = path.resolve(__dirname, '../..');

/** Runs a command to its end; rejects with its output when it fails. */
function run(command: string, args: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(output) : reject(new Error(`${command} ${args.join(' ')} exited ${code}:\n${output}`))));
  });
}

export interface Installed {
  /** The folder it was installed into (its node_modules/.bin has rx-im-server). */
  readonly app: string;
  /** The tarball's entries, without the leading `package/`. */
  readonly files: readonly string[];
  /** Seconds spent packing and installing. */
  readonly packSeconds: number;
  readonly installSeconds: number;
}

/**
 * Packs the working tree (tracked and new files, as `npm pack` in it would see them) and
 * installs the tarball into an empty folder. `ignoreScripts`: the dependencies' install
 * scripts do not run (better-sqlite3 then has no native module: the server runs, without a
 * message log).
 */
export async function packAndInstall(t: ExecutionContext, options: { readonly ignoreScripts: boolean }): Promise<Installed> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rx-im-pack-'));
  t.teardown(() => fs.rmSync(work, { recursive: true, force: true }));
  const src = path.join(work, 'src');
  const app = path.join(work, 'app');
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT }).toString().split('\0');
  for (const file of listed) {
    const from = path.join(ROOT, file);
    if (file === '' || !fs.existsSync(from)) continue; // deleted in the working tree
    fs.mkdirSync(path.dirname(path.join(src, file)), { recursive: true });
    fs.copyFileSync(from, path.join(src, file));
  }
  // The build (npm pack runs `prepare`) needs the dev dependencies: this repository's.
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(src, 'node_modules'), 'dir');
  fs.mkdirSync(app);
  let started = Date.now();
  await run('npm', ['pack', '--pack-destination', work], src);
  const packSeconds = (Date.now() - started) / 1000;
  const tarball = fs.readdirSync(work).find((name) => name.endsWith('.tgz'));
  if (!tarball) throw new Error('npm pack made no tarball');
  const files = execFileSync('tar', ['-tzf', path.join(work, tarball)])
    .toString()
    .split('\n')
    .filter(Boolean)
    .map((entry) => entry.replace(/^package\//, ''));
  started = Date.now();
  await run('npm', ['install', '--no-audit', '--no-fund', ...(options.ignoreScripts ? ['--ignore-scripts'] : []), path.join(work, tarball)], app);
  return { app, files, packSeconds, installSeconds: (Date.now() - started) / 1000 };
}

/**
 * `npx rx-im-server ARGS` in `app`: waits for its listening line, then stops it with SIGTERM
 * (sent to npx and the server alike: npm exec dies of it, the server shuts down cleanly and
 * says so on stderr).
 */
export async function startInstalled(app: string, args: string[], timeoutMs = 30_000): Promise<{ listening: string; stderr: string[] }> {
  // Its own process group: npx and the server it starts are stopped together.
  const child: ChildProcess = spawn('npx', ['--no-install', 'rx-im-server', ...args], { cwd: app, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const stderr: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => stderr.push(line));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  // npm exec forwards the signal and goes; the server's own lines may come a moment later.
  const stopped = new Promise<void>((resolve) => child.stderr!.once('end', () => resolve()));
  const listening = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line within ${timeoutMs} ms; stderr: ${stderr.join('\n')}`)), timeoutMs);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.includes('listening on')) return;
      clearTimeout(timer);
      resolve(line);
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`rx-im-server exited ${code} before listening; stderr: ${stderr.join('\n')}`));
    });
  });
  process.kill(-child.pid!, 'SIGTERM');
  await Promise.all([exited, stopped]);
  return { listening, stderr };
}
