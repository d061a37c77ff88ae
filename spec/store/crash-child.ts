/**
 * Run by sqlite.spec.ts in a child process that the test kills with SIGKILL: stamps and commits
 * turns of events as fast as it can, and after each commit writes `committed LAST_ID` on stdout
 * (a pipe: written synchronously, so a line the parent reads was committed before it).
 */
import { openSqliteLog } from '../../lib/store/sqlite';

const dir = process.argv[2];
const log = openSqliteLog({ dir, maxLines: 1_000_000 });
let turn = 0;

function oneTurn(): void {
  let last = '';
  for (let i = 0; i < 1 + (turn % 10); i++) last = log.stamp({ kind: 'say', addr: '127.0.0.1:1', name: 'child', text: `turn ${turn} line ${i}` }).id;
  log.stamp({ kind: 'private', from: 'child', text: 'not stored' });
  log.commit();
  process.stdout.write(`committed ${last}\n`);
  turn++;
  // Bounded: the parent kills it long before.
  if (turn < 1_000_000) setImmediate(oneTurn);
}
oneTurn();
