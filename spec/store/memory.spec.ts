/** The in-memory message log against the MessageLog contract, plus its own bounds. */
import test from 'ava';
import { MemoryLog } from '../../lib/store/memory';
import { logContract, manualClock, sayMany } from './log-contract';

logContract('MemoryLog', (_t, options) => ({ log: new MemoryLog(options), settle: () => {} }));

test('MemoryLog: a bound that is not a positive integer is a programmer error', (t) => {
  for (const maxLines of [0, -1, 1.5, Number.NaN]) t.throws(() => new MemoryLog({ maxLines }), { instanceOf: RangeError });
});

test('MemoryLog: many more events than the bound (past its compaction) keep exactly the newest, in order', (t) => {
  const log = new MemoryLog({ maxLines: 10, now: manualClock(1000).now });
  const all = sayMany(log, 5000);
  t.deepEqual(log.last(100), all.slice(4990));
  t.deepEqual(log.after(all[4989].id, 100), { known: true, events: all.slice(4990), truncated: false });
  t.false(log.after(all[4988].id, 100).known);
});
