/**
 * End to end, the server CLI as a child process (issue 13, item 2): under a load it cannot keep
 * up with, SIGTERM is still served at once, every client gets the shutdown notice, every
 * session's end is logged, and the process exits 0 within 2 s. The scenario is
 * tools/overload.ts, as `npm run soak -- --overload` runs it with 1,000 clients; here 300
 * clients x 15 lines a second for 3 s (each line goes to all 300: 1.35 million deliveries a
 * second asked for). Before the read budget (lib/overload.ts), this scale took 9-30 s to exit
 * on the development machine, or was killed, with no client notified.
 */
import test from 'ava';
import { describeOverload, runOverload } from '../../tools/overload';

const CLIENTS = 300;
const PER_SECOND = 15;
const SECONDS = 3;

test('overload then SIGTERM: the signal is served at once, every client is notified, every end is logged, exit 0 within 2 s', async (t) => {
  t.timeout(180_000);
  const report = await runOverload({ clients: CLIENTS, perSecond: PER_SECOND, seconds: SECONDS, exitTimeoutMs: 30_000, progress: (line) => t.log(line) });
  for (const line of describeOverload(report)) t.log(line);
  t.is(report.joined, CLIENTS, 'every client joined before the load');
  t.true(report.linesSent >= 0.8 * CLIENTS * PER_SECOND * SECONDS, `the load ran: ${report.linesSent} lines sent`);
  t.deepEqual(report.crashLines, []);
  t.true(report.signalLoggedAfterMs !== undefined && report.signalLoggedAfterMs < 1000, `SIGTERM logged ${report.signalLoggedAfterMs} ms after it was sent`);
  t.is(report.exitSignal, null);
  t.is(report.exitCode, 0);
  t.true(report.exitAfterMs < 2000, `exited ${report.exitAfterMs.toFixed(0)} ms after SIGTERM`);
  t.is(report.notified, CLIENTS, 'every client got the shutdown notice, as its last line');
  // The load's clients and the probe: each session's end is logged, with its reason.
  t.is(report.disconnectsLoggedAtShutdown, CLIENTS + 1);
});
