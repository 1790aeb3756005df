#!/usr/bin/env bash
# npm's `prepare` (npm install, npm ci, npm pack, npm install -g .): builds dist/, which the bin
# entries (pod-hardener, kubectl-harden) point into.
#
# `npm install -g .` from a clone links the global package to the clone's folder and runs this
# there without installing the clone's dependencies: the tools then lack their runtime packages,
# and the build lacks typescript. So install them here first when they are missing. The
# environment npm gives a global install says "global"; the install in the folder must not be.
# --ignore-scripts: no dependency code runs, and this script does not run itself again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if [[ ! -x node_modules/.bin/tsc ]]; then
  echo "pod-hardener: installing its dependencies in $(pwd) for the build (npm ci)" >&2
  npm_config_global=false npm ci --ignore-scripts --no-audit --no-fund >&2
fi
node_modules/.bin/tsc -p tsconfig.build.json
