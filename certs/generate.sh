#!/usr/bin/env bash
# Writes a CA and a serving certificate into certs/out/ (git-ignored) and prints the caBundle.
# Same as `npm run certs -- ARGS`; see certs/README.md, or run with --help.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f dist/certs/cli.js ] || [ -n "$(find src/certs -newer dist/certs/cli.js -name '*.ts' -print -quit)" ]; then
  npm run --silent build
fi
exec node dist/certs/cli.js "$@"
