/**
 * The package's version for `--version`, read from package.json when asked. The file is
 * looked for upwards from this module's own directory, because that directory differs by
 * how the code runs: lib/ under ts-node, dist/lib/ once compiled, node_modules/rx-im/dist/lib/
 * when installed, a transpiled copy under node_modules/.cache/ in the client's tests.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';

const PACKAGE = 'rx-im';

/** The version in the nearest package.json named rx-im at or above `from`. */
export function packageVersion(from: string = __dirname): string {
  // Ends at the filesystem root: a path has finitely many parents.
  for (let dir = path.resolve(from); ; dir = path.dirname(dir)) {
    const manifest = readManifest(path.join(dir, 'package.json'));
    if (manifest?.name === PACKAGE && typeof manifest.version === 'string') return manifest.version;
    if (path.dirname(dir) === dir) break;
  }
  throw new Error(`no package.json of ${PACKAGE} at or above ${from}`);
}

function readManifest(file: string): { name?: unknown; version?: unknown } | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as { name?: unknown; version?: unknown };
  } catch {
    return undefined; // absent or not JSON: keep looking further up
  }
}
