#!/usr/bin/env node
/**
 * rx-im-client: the terminal edge of lib/client. Connects, turns stdin and the socket into
 * line streams, and acts on the core's effects: lines printed above the prompt (the partial
 * input redrawn under them), colour when it is wanted, socket writes, exit codes.
 */
import * as net from 'node:net';
import * as readline from 'node:readline';
import * as tls from 'node:tls';
import { Observable } from 'rxjs';
import { eachValueFrom } from 'rxjs-for-await';
import { reason, runClient } from '../lib/client/client';
import { Effect, Tone } from '../lib/client/effects';
import { CLIENT_USAGE, CONNECT_TIMEOUT_MS, parseClientFlags } from '../lib/client/flags';
import { clientTexts } from '../lib/client/texts';
import { splitLines } from '../lib/lines';
import { socketBytes } from '../lib/socket';
import { clientTlsOptions, tlsFailure } from '../lib/tcp/tls';
import { packageVersion } from '../lib/version';

const NAME = 'rx-im-client';
/** Far above any line a chat server sends; what is longer is dropped with a notice. */
const MAX_SERVER_LINE_BYTES = 64 * 1024;

const COLOURS: Record<Tone, string | undefined> = {
  plain: undefined,
  public: undefined,
  private: '\x1b[35m', // magenta
  notice: '\x1b[33m', // yellow
  error: '\x1b[31m', // red
};

/** With `secure`, over TLS: connected once the handshake is done and the certificate accepted. */
function connectTo(host: string, port: number, secure?: tls.ConnectionOptions): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = secure ? tls.connect({ ...secure, host, port }) : net.connect({ host, port });
    socket.setTimeout(CONNECT_TIMEOUT_MS, () =>
      socket.destroy(Object.assign(new Error(`connect timed out after ${CONNECT_TIMEOUT_MS} ms`), { code: 'ETIMEDOUT' })),
    );
    socket.once('error', reject);
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      socket.setTimeout(0);
      socket.off('error', reject);
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

/**
 * Password prompts (chat mode's `/register`, `/login`, `/passwd`): while one is up, what is typed
 * is not echoed (the prompt alone is drawn) and the line is not kept in the history (up-arrow).
 * readline has no public switch for either, so its output writer and history size are
 * replaced for that time; piped input is never echoed anyway.
 */
function hideWhileSecret(rl: readline.Interface): { set(on: boolean): void } {
  // Internal to readline (stable since Node 0.x, used by every password-prompt package): the
  // writer every echo goes through, and the history bound `_addHistory` reads.
  const inner = rl as unknown as { _writeToOutput(text: string): void; historySize: number };
  const write = inner._writeToOutput.bind(rl);
  const historySize = inner.historySize;
  let on = false;
  inner._writeToOutput = (text: string) => {
    if (!on) return write(text);
    const shown = rl.getPrompt();
    if (text.startsWith(shown)) write(shown);
    else if (text === '\r\n' || text === '\n') write(text);
  };
  return {
    set(secret: boolean) {
      on = secret;
      inner.historySize = secret ? 0 : historySize;
    },
  };
}

async function main(): Promise<void> {
  const flags = parseClientFlags(process.argv.slice(2));
  if (flags.ok === 'help') {
    process.stdout.write(CLIENT_USAGE);
    return;
  }
  if (flags.ok === 'version') {
    process.stdout.write(`${packageVersion()}\n`);
    return;
  }
  if (!flags.ok) {
    process.stderr.write(`${NAME}: ${flags.error}\n${NAME}: try --help\n`);
    process.exit(1);
  }
  const { host, port, lang, mode } = flags.value;
  const t = clientTexts[lang];
  const secure = flags.value.tls && clientTlsOptions(flags.value.tls);
  if (secure && !secure.ok) {
    process.stderr.write(`${NAME}: ${secure.error}\n`);
    process.exit(1);
  }
  if (flags.value.tls?.insecure) process.stderr.write(`${NAME}: --insecure: the server's certificate is not checked\n`);

  let socket: net.Socket;
  try {
    socket = await connectTo(host, port, secure ? secure.value : undefined);
  } catch (err) {
    process.stderr.write(`${t.connectFailed}\n${t.cannotConnect(`${host}:${port}`, reason(tlsFailure(err), t))}\n`);
    process.exit(1);
  }
  process.stdout.write(`${t.connected}\n`);

  const { stdin, stdout, stderr } = process;
  // A line editor only when a person is at a terminal; piped input is read line by line.
  const terminal = Boolean(stdin.isTTY && stdout.isTTY);
  // https://no-color.org: any non-empty NO_COLOR turns colour off.
  const colour = Boolean(stdout.isTTY) && !process.env.NO_COLOR;
  const rl = readline.createInterface({ input: stdin, output: terminal ? stdout : undefined, terminal, prompt: '' });
  let editing = terminal; // the prompt and the partial input are on screen and must be kept
  const secret = hideWhileSecret(rl);
  rl.on('close', () => {
    // Ctrl-D: leave the prompt's row as it is and go on below it, as a shell does.
    if (editing) stdout.write('\n');
    editing = false;
  });
  stdout.on('error', () => process.exit(1)); // e.g. EPIPE when piped into `head`

  const paint = (text: string, tone: Tone) => {
    const code = colour ? COLOURS[tone] : undefined;
    return code === undefined ? text : `${code}${text}\x1b[0m`;
  };

  // Erases the prompt and the partial input, however many rows they wrap to.
  const erasePrompt = () => {
    readline.moveCursor(stdout, 0, -rl.getCursorPos().rows);
    readline.cursorTo(stdout, 0);
    readline.clearScreenDown(stdout);
  };

  // Prints a line above the prompt: erase the prompt and the partial input, print, then let
  // readline draw them again under the new line.
  const above = (stream: NodeJS.WriteStream, text: string) => {
    if (!editing) {
      stream.write(text + '\n');
      return;
    }
    erasePrompt();
    stream.write(text + '\n');
    // readline's redraw first moves up by the rows it drew last time; they are gone already.
    (rl as unknown as { prevRows: number }).prevRows = 0;
    rl.prompt(true);
  };

  let finished = false;
  const finish = (code: number) => {
    if (finished) return;
    finished = true;
    // The prompt and the partial input go; what was printed above them stays.
    if (editing) erasePrompt();
    editing = false;
    rl.close();
    socket.destroy();
    process.exitCode = code;
    // Exit once what was printed is flushed, even if stdin is still open.
    stdout.write('', () => stderr.write('', () => process.exit(code)));
  };

  const act = (effect: Effect) => {
    switch (effect.kind) {
      case 'show':
        above(effect.tone === 'error' ? stderr : stdout, paint(effect.text, effect.tone));
        return;
      case 'prompt':
        secret.set(effect.secret === true);
        if (editing) {
          rl.setPrompt(effect.text);
          rl.prompt();
        } else if (!terminal && effect.announce) {
          stdout.write(effect.text + '\n');
        }
        return;
      case 'send':
        if (socket.writable) socket.write(effect.lines.map((line) => line + '\n').join(''));
        return;
      case 'hangup':
        if (editing) {
          editing = false;
          rl.pause();
        }
        if (socket.writable) socket.end();
        return;
      case 'exit':
        finish(effect.code);
        return;
    }
  };

  // Ctrl-C: leave at once; what was typed stays on screen, as a shell leaves it.
  rl.on('SIGINT', () => {
    if (editing) stdout.write('\n');
    editing = false;
    finish(130);
  });

  const input$ = new Observable<string>((subscriber) => {
    rl.on('line', (line) => subscriber.next(line));
    rl.on('close', () => subscriber.complete());
  });
  const server$ = socketBytes(socket).pipe(splitLines(MAX_SERVER_LINE_BYTES));
  // The client's whole life is one stream of effects, read to its end as a loop.
  try {
    for await (const effect of eachValueFrom(runClient({ input$, server$ }, { texts: t, mode }))) act(effect);
  } catch (err) {
    stderr.write(`${NAME}: ${(err as Error).stack ?? (err as Error).message}\n`);
    finish(1);
  }
}

main().catch((err: Error) => {
  process.stderr.write(`${NAME}: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
