/**
 * The server CLI transpiled once (TypeScript -> CommonJS, no type check: `npm test` runs tsc)
 * into a temporary directory, for end-to-end tests that start many server processes: each
 * then starts in a fraction of a second instead of paying ts-node's compile every time. From
 * the working tree, or from a git commit (a benchmark comparing with an earlier version).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as ts from 'typescript';

const ROOT = path.resolve(__dirname, '../..');

export interface TranspiledCli {
  /** `node` arguments that run the server CLI. */
  readonly args: readonly string[];
  /** Environment for the child: resolves packages from the project's node_modules. */
  readonly env: NodeJS.ProcessEnv;
  /** Removes the temporary directory. */
  remove(): void;
}

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sources(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** The sources at a commit: [absolute path as if checked out, text]. */
function sourcesAt(ref: string): [string, string][] {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return git('ls-tree', '-r', '--name-only', ref, '--', 'lib', 'cli')
    .split('\n')
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => [path.join(ROOT, f), git('show', `${ref}:${f}`)]);
}

/** `ref`: a git commit to take lib/ and cli/ from instead of the working tree. */
export function transpileCli(ref?: string): TranspiledCli {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'rx-im-cli-'));
  const compilerOptions: ts.CompilerOptions = {
    module: ts.ModuleKind.CommonJS,
    target: ts.ScriptTarget.ES2022,
    esModuleInterop: true,
  };
  const files: [string, string][] =
    ref === undefined ? [...sources(path.join(ROOT, 'lib')), ...sources(path.join(ROOT, 'cli'))].map((f) => [f, fs.readFileSync(f, 'utf8')]) : sourcesAt(ref);
  for (const [file, text] of files) {
    const { outputText } = ts.transpileModule(text, { compilerOptions, fileName: file });
    const target = path.join(out, path.relative(ROOT, file)).replace(/\.ts$/, '.js');
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, outputText);
  }
  return {
    args: [path.join(out, 'cli', 'server.js')],
    env: { ...process.env, NODE_PATH: path.join(ROOT, 'node_modules') },
    remove: () => fs.rmSync(out, { recursive: true, force: true }),
  };
}
