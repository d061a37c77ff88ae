/**
 * The client CLI transpiled once per test process, for end-to-end tests that start it many
 * times: `node -r ts-node/register` spends about two CPU seconds loading TypeScript on every
 * start, plain `node` a tenth of that. Same sources, same transpiler ts-node would use.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';
import { threadId } from 'node:worker_threads';

const ROOT = path.resolve(__dirname, '../..');
// Inside node_modules, so that the output resolves `rxjs` and the rest as the sources do.
// One directory per test file: ava runs files as worker threads of one process.
const OUT = path.join(ROOT, 'node_modules', '.cache', 'rx-im-spec', `client-${process.pid}-${threadId}`);

function sources(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(file);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [file] : [];
  });
}

let built: string | undefined;

/** The path of `cli/client.js`, transpiled with lib/ on first use. */
export function compiledClient(): string {
  if (built !== undefined) return built;
  for (const file of [...sources('lib'), path.join('cli', 'client.ts')]) {
    const { outputText } = ts.transpileModule(fs.readFileSync(path.join(ROOT, file), 'utf8'), {
      fileName: file,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    });
    const target = path.join(OUT, file.replace(/\.ts$/, '.js'));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, outputText);
  }
  built = path.join(OUT, 'cli', 'client.js');
  return built;
}

/** Removes this test file's output (for `test.after.always`). */
export function removeCompiledClient(): void {
  fs.rmSync(OUT, { recursive: true, force: true });
  built = undefined;
}
