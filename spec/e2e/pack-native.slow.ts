/**
 * On demand, not in `npm test` (about two and a half minutes): spec/e2e/pack.spec.ts with the
 * dependencies' install scripts run, so better-sqlite3 is built from source as on a fresh
 * machine, and the server starts with its message log. Run: `npx ava spec/e2e/pack-native.slow.ts`.
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { packAndInstall, startInstalled } from '../helpers/pack';

test('the tarball installs with its native module and the server starts with its SQLite log', async (t) => {
  t.timeout(900_000);
  const { app, packSeconds, installSeconds } = await packAndInstall(t, { ignoreScripts: false });
  t.log(`pack ${packSeconds.toFixed(1)} s, install ${installSeconds.toFixed(1)} s`);
  const data = fs.mkdtempSync(path.join(os.tmpdir(), 'rx-im-pack-data-'));
  t.teardown(() => fs.rmSync(data, { recursive: true, force: true }));
  const { listening, stderr } = await startInstalled(app, ['--port', '0', '--no-web', '--data-dir', data]);
  t.regex(listening, /^rx-im-server listening on 127\.0\.0\.1:\d+ \(tcp\)$/);
  t.true(
    stderr.some((line) => line.endsWith('SIGTERM: shutting down')),
    stderr.join('\n'),
  );
  t.true(fs.readdirSync(data).length > 0, 'the message log was created');
});
