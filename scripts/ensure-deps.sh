#!/usr/bin/env bash
# Installs the npm dependencies when they are missing or older than package-lock.json, so that
# `npm start` and `npm test` work on a fresh clone with nothing else run first.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$repo_root"

want="$(target_node_version)"
node_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [[ "$node_major" != "${want%%.*}" ]]; then
  die "pod-hardener targets Node.js ${want%%.*} (found $(node --version 2>/dev/null || echo none)); run it through npm start / npm test, which install it, or put Node.js ${want%%.*} on PATH."
fi
# node_modules built by another Node.js major may hold native builds for the wrong ABI.
if [[ -f node_modules/.node-major && "$(cat node_modules/.node-major)" != "$node_major" ]]; then
  rm -f node_modules/.package-lock.json
fi
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  log "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund >&2
  echo "$node_major" >node_modules/.node-major
fi
