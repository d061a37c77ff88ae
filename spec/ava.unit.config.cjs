/**
 * `npm run test:unit`: the specs that open no socket, start no process and no browser, so
 * they run in seconds. The rest is `npm run test:e2e` (spec/ava.e2e.config.cjs); `npm test`
 * runs all of them with package.json's own ava settings. spec/suites.spec.ts checks that no
 * unit spec reaches for a socket, a process or a browser.
 */
const { ava } = require('../package.json');

/** End to end: spec/e2e/, and the specs elsewhere that listen, connect or spawn. */
const E2E = [
  'spec/e2e/**/*.spec.ts',
  'spec/web/edge.spec.ts',
  'spec/web/origin.spec.ts',
  'spec/redis/hub.spec.ts',
  'spec/redis/outage.spec.ts',
  'spec/store/sqlite.spec.ts',
  'spec/bench/run.spec.ts',
  'spec/bench/floor-relay.spec.ts',
];

module.exports = { ...ava, files: [...ava.files, ...E2E.map((glob) => `!${glob}`)] };
