#!/usr/bin/env bash
# Writes a CA and a serving certificate into certs/out/ (git-ignored) and prints the caBundle.
# Same as `npm run certs -- ARGS` (`pod-hardener certs ARGS`); see certs/README.md, or run with --help.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f dist/cli/main.js ] || [ -n "$(find src -newer dist/cli/main.js -name '*.ts' -print -quit)" ]; then
  npm run --silent build
fi
exec node dist/cli/main.js certs "$@"
