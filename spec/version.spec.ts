/** `--version`: where the version comes from, and the server's flag (the client's and the bench's are in their flag specs). */
import test from 'ava';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseServerFlags, SERVER_USAGE } from '../lib/flags';
import { packageVersion } from '../lib/version';

const ROOT = path.resolve(__dirname, '..');
const MANIFEST = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string };

test("the version is package.json's, from the sources' directory and from a directory deeper down", (t) => {
  t.is(packageVersion(), MANIFEST.version);
  t.is(packageVersion(path.join(ROOT, 'dist', 'lib')), MANIFEST.version, 'as the compiled dist/lib/version.js looks for it');
});

test('a package.json of another package on the way up is passed over; none at all is an error', (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rx-im-version-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: MANIFEST.name, version: '9.8.7' }));
  fs.mkdirSync(path.join(dir, 'node_modules', 'other', 'lib'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'node_modules', 'other', 'package.json'), JSON.stringify({ name: 'other', version: '1.0.0' }));
  t.is(packageVersion(path.join(dir, 'node_modules', 'other', 'lib')), '9.8.7');
  fs.rmSync(path.join(dir, 'package.json'));
  t.throws(() => packageVersion(path.join(dir, 'node_modules', 'other', 'lib')), { message: /no package\.json of rx-im/ });
});

test("the server's --version: an outcome of its own, --help wins, and the usage lists it", (t) => {
  t.deepEqual(parseServerFlags(['--version']), { ok: 'version' });
  t.deepEqual(parseServerFlags(['--port', '1', '--version']), { ok: 'version' });
  t.deepEqual(parseServerFlags(['--version', '--help']), { ok: 'help' });
  t.regex(SERVER_USAGE, /^ {2}--version +print the version and exit$/m);
});
