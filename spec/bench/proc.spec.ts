import test from 'ava';
import { parseCpuSeconds, parseRssBytes, sampleProcess } from '../../bench/proc';

test('CPU seconds are utime + stime, whatever the command name holds', (t) => {
  // pid (comm) state ppid ... field 14 utime = 250, field 15 stime = 50 (ticks of 1/100 s)
  const stat = '4242 (node (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 11 0 1000 100000 5000';
  t.is(parseCpuSeconds(stat), 3);
});

test('RSS comes from VmRSS in kB', (t) => {
  t.is(parseRssBytes('Name:\tnode\nVmPeak:\t  999 kB\nVmRSS:\t   2048 kB\nThreads:\t7\n'), 2048 * 1024);
  t.throws(() => parseRssBytes('Name:\tnode\n'));
});

test('sampling this process reads real numbers (Linux), and a missing process gives undefined', (t) => {
  const s = sampleProcess(process.pid);
  if (process.platform === 'linux') {
    t.truthy(s);
    t.true(s!.rssBytes > 1024 * 1024);
    t.true(s!.cpuSeconds >= 0);
  }
  t.is(sampleProcess(2 ** 31 - 2), undefined);
});
