import test from 'ava';
import { parseBenchArgs } from '../../bench/args';
import { Bench } from '../../bench/run';
import { ChatServer } from '../../lib/server';

async function bench(argv: string[]) {
  const server = new ChatServer({ port: 0, rateLimit: 0, idleTimeoutMs: 60_000 });
  const { port } = await server.listen();
  try {
    const parsed = parseBenchArgs([...argv, '--port', `${port}`, '--quiet', '--sources', '2', '--stall', '20']);
    if (parsed.ok !== true) throw new Error(JSON.stringify(parsed));
    return await new Bench(parsed.value, () => {}).run();
  } finally {
    await server.close(100);
  }
}

test('fanout against rx-im: everything delivered, in order, well formed', async (t) => {
  const r = await bench(['fanout', '-c', '6', '-s', '2', '-m', '5']);
  t.is(r.stalled, undefined);
  t.like(r.run, { sent: 10, expected: 60, delivered: 60, lost: 0, reordered: 0, duplicates: 0, malformed: 0, misrouted: 0 });
  t.is(r.run?.latencyMs.p50 !== undefined && r.run.latencyMs.p50 >= 0, true);
});

test('pipelined fanout against rx-im: nothing lost or malformed', async (t) => {
  const r = await bench(['fanout', '-c', '4', '-s', '2', '-m', '20', '--mode', 'pipelined', '--window', '8']);
  t.like(r.run, { sent: 40, delivered: 160, lost: 0, malformed: 0 });
});

test('private against rx-im: every message reaches its partner only', async (t) => {
  const r = await bench(['private', '-c', '4', '-m', '5']);
  t.like(r.run, { sent: 20, expected: 20, delivered: 20, lost: 0, misrouted: 0, malformed: 0 });
});

test('connect against rx-im: everyone sees their own join line', async (t) => {
  const r = await bench(['connect', '-c', '20', '--duration', '10']);
  t.is(r.connect?.connected, 20);
  t.is(r.connect?.joined, 20);
  t.true((r.connect?.linesReceived ?? 0) >= 210);
});
