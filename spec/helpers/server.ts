/** Shared by the end-to-end specs: an in-process server on a free port, and bounded waits. */
import type { ExecutionContext } from 'ava';
import type { Socket } from 'node:net';
import { ChatServer, ServerOptions } from '../../lib/server';

export { userLine } from '../../lib/protocol';

/** A ChatServer on 127.0.0.1, a free port, in English unless told, closed after the test; its log kept. */
export async function startServer(t: ExecutionContext, options: ServerOptions = {}): Promise<{ server: ChatServer; port: number; logs: string[] }> {
  const logs: string[] = [];
  const server = new ChatServer({ host: '127.0.0.1', port: 0, lang: 'en', log: (l) => logs.push(l), ...options });
  const { port } = await server.listen();
  t.teardown(() => server.close(100));
  return { server, port, logs };
}

/**
 * Records every unhandled rejection and uncaught exception while the test runs (the server
 * shares this process). Tests in a file run concurrently, so each sees all of them: it is
 * the file's tests together that must raise none.
 */
export function watchProcess(t: ExecutionContext): () => string[] {
  const seen: string[] = [];
  const onRejection = (reason: unknown) => seen.push(`unhandledRejection: ${String(reason)}`);
  const onException = (err: Error) => seen.push(`uncaughtException: ${err.stack ?? err.message}`);
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  t.teardown(() => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  });
  return () => seen;
}

/** Waits for a condition (a state, not a duration); fails naming it after `timeoutMs`. */
export async function waitFor(what: string, condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** A raw socket's own address, as the server names it. */
export const addrOf = (socket: Socket): string => `${socket.localAddress}:${socket.localPort}`;

/** How many times each address appears in `lines` as `[addr]addr:suffix`. */
export function count(lines: readonly string[], suffix: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of lines) {
    const m = /^\[([^\]]+)\]\1:(.*)$/.exec(line);
    if (m && m[2] === suffix) counts.set(m[1], (counts.get(m[1]) ?? 0) + 1);
  }
  return counts;
}

/** How many log lines of each kind: `connected`, `disconnected (transport error)`, ... */
export function reasons(logs: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const line of logs) {
    const kind = line.startsWith('disconnected') ? `disconnected${/\(([^)]*)\)$/.exec(line)?.[0] ?? ''}` : line.split(' ')[0];
    counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}
