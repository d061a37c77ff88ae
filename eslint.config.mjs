// @ts-check
/**
 * ESLint for rx-im (`npm run lint`; formatting is Prettier's, see .prettierrc.json).
 *
 * TypeScript gets ESLint's and typescript-eslint's recommended rules with type information
 * (the project service reads tsconfig.json), because the RxJS rules that matter here need
 * types: a `subscribe` whose Subscription nobody keeps, an Observable created and dropped,
 * a Subject exposed or unsubscribed, an async subscriber. web/ is plain browser JavaScript
 * with no build step: ESLint's recommended rules with the browser globals it uses.
 */
import js from '@eslint/js';
import { defineConfig, globalIgnores } from 'eslint/config';
import rxjsX from 'eslint-plugin-rxjs-x';
import tseslint from 'typescript-eslint';

/** The browser globals web/ uses (the `globals` package is not a dependency). */
const BROWSER = Object.fromEntries(
  [
    'window',
    'document',
    'location',
    'navigator',
    'sessionStorage',
    'localStorage',
    'fetch',
    'WebSocket',
    'TextEncoder',
    'TextDecoder',
    'setTimeout',
    'clearTimeout',
    'setInterval',
    'clearInterval',
    'requestAnimationFrame',
    'console',
  ].map((name) => [name, 'readonly']),
);

/** What Node gives a CommonJS-or-ESM script (eslint.config.mjs, ava configs). */
const NODE = Object.fromEntries(['process', 'console', 'setTimeout', 'clearTimeout', 'URL'].map((name) => [name, 'readonly']));

export default defineConfig(
  globalIgnores(['dist/', 'node_modules/', '.bench/', 'screenshots/']),
  {
    linterOptions: { reportUnusedDisableDirectives: 'error' },
  },
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked, rxjsX.configs.recommended],
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      // tsc's noUnusedLocals/noUnusedParameters (tsconfig.json) report these already, and
      // npm test runs tsc first: one report per unused name is enough.
      '@typescript-eslint/no-unused-vars': 'off',
      // Control characters are this protocol's subject matter (sanitizing lines, validating
      // names, the tests of both): a regex that names them is deliberate, never a typo.
      'no-control-regex': 'off',

      // Unhandled subscriptions: a subscribe either ends by itself (take, takeUntil, first...)
      // or its Subscription is kept and unsubscribed; an Observable made is subscribed or
      // returned, never dropped; no Observable where a callback's result is ignored.
      'rxjs-x/no-ignored-subscription': 'error',
      'rxjs-x/no-floating-observables': 'error',
      'rxjs-x/no-misused-observables': 'error',
      // Subject misuse: a Subject is its owner's to next; outsiders get `asObservable()`.
      // (no-subject-unsubscribe, no-unsafe-subject-next, no-redundant-notify are in recommended.)
      'rxjs-x/no-exposed-subjects': 'error',
      'rxjs-x/no-subject-value': 'error',
      // Streams end in `$` (issue 11, item 6). Not functions and methods: like RxJS's own
      // `timer()` or `session()` here, a function that makes a stream is named for what it
      // makes. `source` is RxJS's own name for an operator's input; `cold`/`hot`/`expect*`
      // are TestScheduler's helpers.
      'rxjs-x/finnish': [
        'error',
        {
          functions: false,
          methods: false,
          parameters: true,
          properties: true,
          objects: false,
          variables: true,
          names: { '^(source|cold|hot|expectObservable|expectSubscriptions)$': false },
        },
      ],
    },
  },
  {
    // Marble specs name their streams as RxJS's own specs do (`e1`, `lines`, `output`): the
    // diagram beside each name says it is a stream. lib/, cli/, bench/ and tools/ keep the `$`.
    files: ['spec/**/*.ts'],
    rules: { 'rxjs-x/finnish': 'off' },
  },
  {
    // In a server, an error no subscriber handles is thrown asynchronously and ends the
    // process. Specs may leave it out: there, an unhandled error fails the test, as it should.
    files: ['lib/**/*.ts', 'cli/**/*.ts', 'bench/**/*.ts', 'tools/**/*.ts'],
    rules: { 'rxjs-x/no-ignored-error': 'error' },
  },
  {
    files: ['web/**/*.js'],
    extends: [js.configs.recommended],
    languageOptions: {
      sourceType: 'script',
      ecmaVersion: 2022,
      // The page's scripts share the window: app.js reads what the others export to it;
      // `module` is how node's specs load the same files.
      globals: { ...BROWSER, Backoff: 'readonly', Protocol: 'readonly', Commands: 'readonly', module: 'readonly' },
    },
  },
  {
    files: ['**/*.cjs'],
    extends: [js.configs.recommended],
    languageOptions: { sourceType: 'commonjs', globals: { ...NODE, require: 'readonly', module: 'writable', __dirname: 'readonly' } },
  },
  {
    files: ['**/*.mjs'],
    extends: [js.configs.recommended],
    languageOptions: { sourceType: 'module', globals: NODE },
  },
);
