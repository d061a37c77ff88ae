/** `npm run test:e2e`: the specs on real sockets, child processes and the browser, as spec/ava.unit.config.cjs leaves them out. */
const unit = require('./ava.unit.config.cjs');

module.exports = { ...unit, files: unit.files.filter((glob) => glob.startsWith('!')).map((glob) => glob.slice(1)) };
