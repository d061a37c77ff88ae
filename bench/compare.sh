#!/usr/bin/env bash
# npm run bench:compare: raises the open-files limit (a shell limit: it cannot be raised from
# inside Node), then runs bench/compare.ts. Every connection costs a file descriptor in the
# generator and one in the server (a limit per process): connect C=10000 needs more than 10000 in each.
set -euo pipefail
cd "$(dirname "$0")/.."
want=32768
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$want" ]; then want=$hard; fi
ulimit -n "$want" 2>/dev/null || true
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 10200 ]; then
  echo "bench:compare: open-files limit is $(ulimit -n); connect C=10000 needs about 10200 per process (raise the hard limit: ulimit -Hn, /etc/security/limits.conf)" >&2
fi
# rx-im is measured as `npm start` runs it: compiled.
npx tsc -p tsconfig.build.json
exec node -r ts-node/register/transpile-only bench/compare.ts "$@"
