/**
 * The terminal client's account commands for real: in a terminal (tmux), `/register`,
 * `/passwd` and `/login` ask for passwords that are not echoed and not kept in the line history
 * (up-arrow); with piped input the same commands work line by line and print no password.
 * Needs the `tmux` package for the terminal half (skipped loudly without it).
 */
import test, { ExecutionContext } from 'ava';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { clientTexts } from '../../lib/client/texts';
import { ChatServer } from '../../lib/server';
import { texts } from '../../lib/texts';
import { compiledClient, removeCompiledClient } from '../client/compiled';
import { waitFor } from '../helpers/server';

const DEADLINE_MS = 10_000;
const CHEAP = { logN: 10, r: 8, p: 1 };
const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const t$ = texts.en;
const c$ = clientTexts.en;

test.after.always(removeCompiledClient);

async function server(t: ExecutionContext): Promise<number> {
  const s = new ChatServer({ host: '127.0.0.1', port: 0, lang: 'en', accounts: { kdf: CHEAP } });
  const { port } = await s.listen();
  t.teardown(() => s.close(100));
  return port;
}

/** A tmux server of our own (its own socket), so that nobody else's sessions are touched. */
class Terminal {
  private readonly socket = `rx-im-acct-${process.pid}-${Math.random().toString(36).slice(2)}`;

  constructor(command: readonly string[]) {
    this.tmux('new-session', '-d', '-s', 'client', '-x', '120', '-y', '30', ...command);
  }

  tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' });
  }

  type(text: string, enter = false): void {
    this.tmux('send-keys', '-t', 'client', '-l', text);
    if (enter) this.key('Enter');
  }

  key(name: string): void {
    this.tmux('send-keys', '-t', 'client', name);
  }

  screen(): string[] {
    return this.tmux('capture-pane', '-p', '-t', 'client')
      .split('\n')
      .map((row) => row.trimEnd());
  }

  /** Polls the screen until `ready` holds (the terminal is another process: there is no event to await). */
  async until(what: string, ready: (rows: string[]) => boolean): Promise<string[]> {
    const start = Date.now();
    for (;;) {
      const rows = this.screen();
      if (ready(rows)) return rows;
      if (Date.now() - start > DEADLINE_MS) throw new Error(`${what}: not on screen within ${DEADLINE_MS} ms:\n${rows.join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  kill(): void {
    spawnSync('tmux', ['-L', this.socket, 'kill-server']);
  }
}

const lastRow = (rows: string[]) => [...rows].reverse().find((row) => row !== '') ?? '';

if (!hasTmux) {
  console.warn('spec/e2e/accounts-client.spec.ts: SKIPPED (terminal half): the `tmux` package is not installed (apt-get install tmux)');
  test.skip('needs the tmux package (not installed): password prompts do not echo in a terminal', () => {});
} else {
  test('in a terminal: password prompts do not echo, the password never reaches the screen or the history', async (t) => {
    const port = await server(t);
    const terminal = new Terminal(['env', 'NO_COLOR=1', process.execPath, compiledClient(), '--port', String(port), '--chat', '--lang', 'en']);
    t.teardown(() => terminal.kill());
    const secrets = ['Tmux-Secret-1', 'Tmux-Secret-2'];
    const prompt = c$.chatPrompt.trimEnd();

    await terminal.until('the chat prompt', (rows) => lastRow(rows) === prompt);
    terminal.type('/nick alice', true);
    await terminal.until('the rename', (rows) => rows.includes(t$.renamed('alice')));
    terminal.type('/register', true);
    await terminal.until('the password prompt', (rows) => lastRow(rows) === c$.passwordPrompt.trimEnd());
    terminal.type(secrets[0]);
    // Typed, not shown: the prompt row is the prompt alone (a short pause lets a wrong echo appear).
    await new Promise((resolve) => setTimeout(resolve, 200));
    t.is(lastRow(terminal.screen()), c$.passwordPrompt.trimEnd());
    terminal.key('Enter');
    await terminal.until('the second prompt', (rows) => lastRow(rows) === c$.passwordAgainPrompt.trimEnd());
    terminal.type(secrets[0], true);
    await terminal.until('the registration', (rows) => rows.includes(t$.registered('alice')));

    terminal.type('/passwd', true);
    await terminal.until('the old password prompt', (rows) => lastRow(rows) === c$.oldPasswordPrompt.trimEnd());
    terminal.type(secrets[0], true);
    await terminal.until('the new password prompt', (rows) => lastRow(rows) === c$.newPasswordPrompt.trimEnd());
    terminal.type(secrets[1], true);
    await terminal.until('the confirmation prompt', (rows) => lastRow(rows) === c$.passwordAgainPrompt.trimEnd());
    terminal.type(secrets[1], true);
    await terminal.until('the change', (rows) => rows.includes(t$.passwordChanged));

    terminal.type('/logout', true);
    await terminal.until('the logout', (rows) => rows.some((r) => r.startsWith('Logged out: your name is 127.0.0.1:')));
    terminal.type('/login alice', true);
    await terminal.until('the login password prompt', (rows) => lastRow(rows) === c$.passwordPrompt.trimEnd());
    terminal.type(secrets[1], true);
    await terminal.until('the login', (rows) => rows.includes(t$.loggedIn('alice')));

    // The history holds the commands, never what was typed at a password prompt.
    const recalled: string[] = [];
    for (let i = 0; i < 5; i++) {
      terminal.key('Up');
      await new Promise((resolve) => setTimeout(resolve, 100));
      recalled.push(lastRow(terminal.screen()));
    }
    t.deepEqual(
      recalled.map((row) => row.slice(c$.chatPrompt.length)),
      ['/login alice', '/logout', '/passwd', '/register', '/nick alice'],
    );
    const everything = terminal.tmux('capture-pane', '-p', '-S', '-', '-t', 'client');
    for (const s of secrets) t.false(everything.includes(s), s);
  });
}

test('piped input: the same commands work line by line, and no password is printed', async (t) => {
  const port = await server(t);
  const child = spawn(process.execPath, [compiledClient(), '--port', String(port), '--chat', '--lang', 'en'], { stdio: ['pipe', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGKILL'));
  const out: string[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => out.push(line));
  createInterface({ input: child.stderr }).on('line', (line) => out.push(line));
  const secret = 'Piped-Secret-9';
  child.stdin.write(`/nick bob\n/register\n${secret}\n${secret}\n`);
  await waitFor('the registration', () => out.includes(t$.registered('bob')), DEADLINE_MS);
  child.stdin.write(`/logout\n/login bob\n${secret}\n`);
  await waitFor('the login', () => out.includes(t$.loggedIn('bob')), DEADLINE_MS);
  child.stdin.end();
  await new Promise((resolve) => child.once('exit', resolve));
  t.false(
    out.some((line) => line.includes(secret)),
    out.join('\n'),
  );
});
