/**
 * The client in a real terminal, driven through tmux (send-keys, capture-pane): a message that
 * arrives while the user is half-way through a line appears above the prompt, and the
 * half-typed line is redrawn under it intact and still editable. Needs the `tmux` package.
 */
import test, { ExecutionContext } from 'ava';
import { execFileSync, spawnSync } from 'node:child_process';
import { ChatServer } from '../../lib/server';
import { compiledClient, removeCompiledClient } from '../client/compiled';
import { connect } from '../helpers/tcp';

const DEADLINE_MS = 10_000;
const hasTmux = spawnSync('tmux', ['-V']).status === 0;

/** A tmux server of our own (its own socket), so that nobody else's sessions are touched. */
class Terminal {
  private readonly socket = `rx-im-spec-${process.pid}-${Math.random().toString(36).slice(2)}`;

  constructor(command: readonly string[]) {
    this.tmux('new-session', '-d', '-s', 'client', '-x', '100', '-y', '24', ...command);
  }

  tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8' });
  }

  /** Types text literally (no key names), without Enter unless asked. */
  type(text: string, enter = false): void {
    this.tmux('send-keys', '-t', 'client', '-l', text);
    if (enter) this.tmux('send-keys', '-t', 'client', 'Enter');
  }

  /** The visible screen, one string per row, trailing blanks dropped. */
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

  /** Resolves once the program in the terminal has exited (tmux ends the session with it). */
  async exited(): Promise<void> {
    const start = Date.now();
    while (spawnSync('tmux', ['-L', this.socket, 'has-session', '-t', 'client']).status === 0) {
      if (Date.now() - start > DEADLINE_MS) throw new Error(`still running after ${DEADLINE_MS} ms:\n${this.screen().join('\n')}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  kill(): void {
    spawnSync('tmux', ['-L', this.socket, 'kill-server']);
  }
}

/** The last row with something on it: where the prompt and the user's input are. */
const lastRow = (rows: string[]) => [...rows].reverse().find((row) => row !== '') ?? '';

if (!hasTmux) {
  console.warn('spec/e2e/client-tmux.spec.ts: SKIPPED: the `tmux` package is not installed (apt-get install tmux)');
  test.skip('needs the tmux package (not installed): an incoming message does not garble a half-typed line', () => {});
} else {
  test.after.always(removeCompiledClient);

  test('menu mode in a terminal: an incoming message does not garble a half-typed line', async (t: ExecutionContext) => {
    const server = new ChatServer({ host: '127.0.0.1', port: 0 });
    const { port } = await server.listen();
    t.teardown(() => server.close(100));
    const terminal = new Terminal(['env', 'NO_COLOR=1', process.execPath, compiledClient(), '-port', String(port)]);
    t.teardown(() => terminal.kill());

    await terminal.until('the menu', (rows) => rows.includes('**********0.退出**************'));
    terminal.type('1', true);
    await terminal.until('the public chat prompt', (rows) => lastRow(rows) === '>>>>>请输入聊天内容:');
    terminal.type('hello wor');
    await terminal.until('the half-typed line', (rows) => lastRow(rows) === '>>>>>请输入聊天内容:hello wor');

    // Another user joins and speaks while our user is mid-line.
    const bob = await connect(port);
    t.teardown(() => bob.destroy());
    await bob.expectLine(/已上线$/);
    await bob.send('incoming message');
    const bobSaid = `[${bob.addr}]${bob.addr}:incoming message`;
    await bob.expectLine(bobSaid);
    const rows = await terminal.until('the incoming message', (r) => r.includes(bobSaid));

    t.is(lastRow(rows), '>>>>>请输入聊天内容:hello wor', rows.join('\n'));
    t.true(rows.indexOf(bobSaid) < rows.lastIndexOf('>>>>>请输入聊天内容:hello wor'), 'the message is above the prompt');
    t.true(rows.includes(`[${bob.addr}]${bob.addr}:已上线`), 'the join, too, is a line of its own');
    t.false(
      rows.some((row) => row.includes('hello wor') && row !== '>>>>>请输入聊天内容:hello wor'),
      `the partial input appears once, on the prompt row:\n${rows.join('\n')}`,
    );

    // The half-typed line is still in the editor: finishing it sends it whole.
    terminal.type('ld', true);
    await bob.expectLine(/^\[127\.0\.0\.1:\d+\]127\.0\.0\.1:\d+:hello world$/);
    terminal.type('exit', true);
    terminal.type('0', true);
    await terminal.exited();
  });
}
