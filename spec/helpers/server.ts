/** Shared by the end-to-end specs: an in-process server on a free port, and bounded waits. */
import type { ExecutionContext } from 'ava';
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
