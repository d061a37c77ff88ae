/**
 * Keeps `npm run test:unit` what it promises: no unit spec opens a socket, starts a process or
 * a browser. A new spec that needs one belongs in spec/e2e/ (or in the E2E list of
 * spec/ava.unit.config.cjs); this check fails until it is there.
 */
import test from 'ava';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..');
// eslint-disable-next-line @typescript-eslint/no-require-imports -- ava's config is CommonJS, read as ava reads it
const unit = require('./ava.unit.config.cjs') as { files: string[] };

/** What a spec must not use to be a unit spec, and why. */
const FORBIDDEN: [RegExp, string][] = [
  [/from '(node:)?(net|http|https|dgram|tls|child_process)'/, 'a socket or a child process module'],
  [/from '(ws|ioredis|playwright-core)'/, 'a network client or the browser driver'],
  [/from '[./]*\/(helpers\/(tcp|redis|server)|web\/ws-client|client\/compiled|redis\/transpiled-cli)'/, 'a helper that connects or spawns'],
  [/\.listen\(/, 'a listening server'],
];

/** The few glob forms the config uses: `**` for any directories, `*` within a name. */
function globToRegExp(glob: string): RegExp {
  const body = glob
    .split(/(\*\*\/|\*)/)
    .map((part) => (part === '**/' ? '(?:.*/)?' : part === '*' ? '[^/]*' : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`);
}

function specFiles(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const file = `${dir}/${entry.name}`;
    if (entry.isDirectory()) return specFiles(file);
    return entry.name.endsWith('.spec.ts') ? [file] : [];
  });
}

const include = unit.files.filter((glob) => !glob.startsWith('!')).map(globToRegExp);
const exclude = unit.files.filter((glob) => glob.startsWith('!')).map((glob) => globToRegExp(glob.slice(1)));
const unitSpecs = specFiles('spec').filter((file) => include.some((re) => re.test(file)) && !exclude.some((re) => re.test(file)));

test('the unit suite holds the specs outside spec/e2e/, this one included, and none of spec/e2e/', (t) => {
  t.true(unitSpecs.includes('spec/suites.spec.ts'), unitSpecs.join('\n'));
  t.true(unitSpecs.includes('spec/session.spec.ts'), unitSpecs.join('\n'));
  const inE2e = unitSpecs.filter((file) => file.startsWith('spec/e2e/'));
  t.deepEqual(inE2e, []);
});

test('no unit spec opens a socket, starts a process or a browser', (t) => {
  // This file names what it looks for; a type-only import loads nothing at run time.
  const offences = unitSpecs.flatMap((file) => {
    if (file === 'spec/suites.spec.ts') return [];
    const source = fs.readFileSync(path.join(ROOT, file), 'utf8').replace(/^import type [^;]*;/gm, '');
    return FORBIDDEN.filter(([pattern]) => pattern.test(source)).map(([, what]) => `${file}: ${what}`);
  });
  t.deepEqual(offences, []);
});

test('the check sees what it looks for', (t) => {
  // The patterns above, on the lines the end-to-end specs really have.
  const e2e = [
    "import * as net from 'node:net';",
    "import { spawn } from 'node:child_process';",
    "import { connect } from '../helpers/tcp';",
    'await server.listen();',
  ];
  const caught = (line: string) => FORBIDDEN.some(([pattern]) => pattern.test(line));
  for (const line of e2e) t.true(caught(line), line);
  t.false(caught("import { splitLines } from '../lib/lines';"));
  t.true(globToRegExp('spec/e2e/**/*.spec.ts').test('spec/e2e/server.spec.ts'));
  t.false(globToRegExp('spec/e2e/**/*.spec.ts').test('spec/e2e-server.spec.ts'));
});
