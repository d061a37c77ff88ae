/**
 * deploy/rx-im.service: what the issue asks of it (an unprivileged user, restarts on failure, a
 * state directory for the data dir, hardening, a reload) and `systemd-analyze verify` finding
 * nothing wrong. verify checks that ExecStart's program exists, so it runs on a copy whose
 * ExecStart names a stand-in (the unit itself names /usr/local/bin/rx-im-server, where
 * `npm install -g` puts it). Skipped, saying so, where systemd-analyze is not installed.
 */
import test from 'ava';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const UNIT = path.resolve(__dirname, '../../deploy/rx-im.service');
const HAVE_SYSTEMD = spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).status === 0;
if (!HAVE_SYSTEMD) console.warn('\n*** SKIPPED: systemd-analyze is not installed (Debian/Ubuntu: apt-get install systemd) ***\n');

/** `Key=value` lines of the unit, by key (a key may repeat). */
function settings(text: string): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (match) found.set(match[1], [...(found.get(match[1]) ?? []), match[2]]);
  }
  return found;
}

test('the unit runs rx-im as the issue asks', (t) => {
  const unit = settings(fs.readFileSync(UNIT, 'utf8'));
  const one = (key: string) => unit.get(key)?.join(' ');
  t.true(one('DynamicUser') === 'yes' || (one('User') !== undefined && one('User') !== 'root'), 'an unprivileged user');
  t.is(one('Restart'), 'on-failure');
  t.is(one('StateDirectory'), 'rx-im');
  t.regex(one('ExecStart') ?? '', /^\/usr\/local\/bin\/rx-im-server .*--data-dir \/var\/lib\/rx-im/);
  t.regex(one('ExecReload') ?? '', /kill -HUP \$MAINPID/);
  t.is(one('NoNewPrivileges'), 'yes');
  t.is(one('ProtectSystem'), 'strict');
  t.is(one('ProtectHome'), 'yes');
  t.is(one('CapabilityBoundingSet'), '');
  t.is(one('MemoryDenyWriteExecute'), undefined, "V8's JIT needs W+X memory: the option would kill node");
  t.is(one('WantedBy'), 'multi-user.target');
});

(HAVE_SYSTEMD ? test : test.skip)('systemd-analyze verify finds nothing wrong (needs systemd-analyze)', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rx-im-unit-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const program = path.join(dir, 'rx-im-server');
  fs.writeFileSync(program, '#!/bin/sh\n', { mode: 0o755 });
  const copy = path.join(dir, 'rx-im.service');
  fs.writeFileSync(copy, fs.readFileSync(UNIT, 'utf8').replace('/usr/local/bin/rx-im-server', program));
  const verify = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8', timeout: 20_000 });
  t.is(verify.status, 0, verify.stderr);
  t.is(verify.stderr.trim(), '', 'no warning either');
  // And it can fail: a typo in a key is reported.
  fs.writeFileSync(copy, fs.readFileSync(copy, 'utf8').replace('NoNewPrivileges=yes', 'NoNewPrivilege=yes'));
  const typo = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8', timeout: 20_000 });
  t.regex(typo.stderr, /Unknown key 'NoNewPrivilege'/);
});
