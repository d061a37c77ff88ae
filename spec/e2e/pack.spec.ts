/**
 * `npm pack` ships what runs and what a user reads, and nothing else; the tarball installs
 * into an empty folder and `npx rx-im-server` starts from it. The dependencies' install scripts
 * are skipped (`--ignore-scripts`): building better-sqlite3 from source takes about two minutes
 * here (no prebuilt binary without GitHub), so this runs the server with --no-history, which
 * never loads it. spec/e2e/pack-native.slow.ts is the same with the native build, on demand.
 */
import test from 'ava';
import { packAndInstall, startInstalled } from '../helpers/pack';

test('npm pack: the tarball holds the compiled code, the page, README, LICENSE and deploy/, not the sources; it installs and starts', async (t) => {
  t.timeout(240_000);
  const { app, files, packSeconds, installSeconds } = await packAndInstall(t, { ignoreScripts: true });
  t.log(`pack ${packSeconds.toFixed(1)} s, install ${installSeconds.toFixed(1)} s, ${files.length} files`);
  for (const wanted of [
    'package.json',
    'README.md',
    'LICENSE',
    'dist/cli/server.js',
    'dist/cli/client.js',
    'dist/bench/cli.js',
    'dist/lib/index.js',
    'dist/lib/index.d.ts',
    'web/index.html',
    'deploy/rx-im.service',
    'deploy/rx-im.env',
  ]) {
    t.true(files.includes(wanted), `ships ${wanted}`);
  }
  const unwanted = files.filter(
    (file) =>
      /^(spec|bench|lib|cli|tools|\.ci|dist\/spec|dist\/tools)\//.test(file) ||
      /\.map$/.test(file) ||
      (/\.ts$/.test(file) && !/\.d\.ts$/.test(file)) ||
      /^(tsconfig|eslint|\.prettier)/.test(file),
  );
  t.deepEqual(unwanted, []);
  const { listening, stderr } = await startInstalled(app, ['--port', '0', '--no-web', '--no-history']);
  t.regex(listening, /^rx-im-server listening on 127\.0\.0\.1:\d+ \(tcp\)$/);
  t.true(
    stderr.some((line) => line.endsWith('SIGTERM: shutting down')),
    stderr.join('\n'),
  );
});
