#!/usr/bin/env bash
# Installs the npm dependencies when they are missing or older than package-lock.json, so that
# `npm start` and `npm test` work on a fresh clone with nothing else run first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

node_major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
if [[ "$node_major" -lt 20 ]]; then
  echo "pod-hardener needs Node.js >= 20.19 (found $(node --version 2>/dev/null || echo none))." >&2
  exit 1
fi
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "Installing npm dependencies (npm ci)..." >&2
  npm ci --no-audit --no-fund >&2
fi
