/** The server flags that belong to the Redis hub: --redis and --node-timeout. */
import test from 'ava';
import { parseServerFlags } from '../../lib/flags';

test('--node-timeout takes seconds (fractions allowed) and needs --redis', (t) => {
  const ok = parseServerFlags(['--redis', 'redis://127.0.0.1:6379', '--node-timeout', '1.5']);
  t.true(ok.ok === true && ok.value.redisUrl === 'redis://127.0.0.1:6379' && ok.value.nodeTimeoutMs === 1500, JSON.stringify(ok));
  const absent = parseServerFlags(['--redis', 'redis://127.0.0.1:6379']);
  t.true(absent.ok === true && absent.value.nodeTimeoutMs === undefined);
  t.deepEqual(parseServerFlags(['--node-timeout', '2']), { ok: false, error: '--node-timeout needs --redis' });
  const bad = parseServerFlags(['--redis', 'redis://127.0.0.1:6379', '--node-timeout', '0']);
  t.deepEqual(bad, { ok: false, error: "--node-timeout must be a positive number of seconds, got '0'" });
});

test('--redis must look like a Redis URL', (t) => {
  const bad = parseServerFlags(['--redis', '127.0.0.1:6379']);
  t.is(bad.ok, false);
  t.is(parseServerFlags([]).ok === true && parseServerFlags([]).ok, true);
});
