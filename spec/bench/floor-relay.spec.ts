// The floor relay is a yardstick: it must do the private path right, or its figure means nothing.
import test from 'ava';
import { AddressInfo } from 'node:net';
import { parseBenchArgs } from '../../bench/args';
import { floorRelay } from '../../bench/floor-relay';
import { Bench } from '../../bench/run';

test('the private scenario against the floor relay: every message reaches its partner only, well formed', async (t) => {
  const relay = floorRelay();
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = relay.address() as AddressInfo;
    const parsed = parseBenchArgs(['private', '-c', '6', '-m', '5', '--port', `${port}`, '--quiet', '--sources', '2', '--stall', '20']);
    if (parsed.ok !== true) throw new Error(JSON.stringify(parsed));
    const r = await new Bench(parsed.value, () => {}).run();
    t.is(r.stalled, undefined);
    t.like(r.run, { sent: 30, expected: 30, delivered: 30, lost: 0, misrouted: 0, malformed: 0 });
  } finally {
    await new Promise<void>((resolve) => relay.close(() => resolve()));
  }
});
