#!/usr/bin/env bash
# Builds one of the tests' small Go programs (a directory of test/support with its own go.mod,
# e.g. test/support/kube-judge) into a cache outside the repository, and prints the binary's path
# as the last line of stdout. Progress and errors go to stderr.
#
#   bash scripts/build-go-program.sh test/support/<name>
#   -> ${POD_HARDENER_CACHE:-$HOME/.cache/pod-hardener}/tools/<name>-<hash>/<name>
#
# <hash> covers go.mod, go.sum and every .go file of the directory, so a change to its sources
# builds it again and an unchanged one is found without Go. scripts/test.sh runs this before jest
# (a cold build of a program on k8s.io/kubernetes takes minutes and must count against no test's
# timeout); the tests' wrappers run it too, so a lone `npx jest` still works. The flags are the
# control plane's (-trimpath, CGO_ENABLED=0), so the Go build cache is shared with it.
set -euo pipefail

repo_root="$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { printf 'build-go-program: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ $# -eq 1 ]] || die "usage: $0 test/support/<name>"
src="$(cd "$repo_root" && cd "$1" 2>/dev/null && pwd)" || die "no directory $1"
[[ -f "$src/go.mod" ]] || die "$1 has no go.mod"
name="$(basename "$src")"

key="$(
  cd "$src"
  find . -maxdepth 1 -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) -print | LC_ALL=C sort |
    while IFS= read -r f; do printf '%s\n' "$f"; cat "$f"; done | sha256sum | cut -c1-16
)"
cache_root="${POD_HARDENER_CACHE:-${HOME:-/tmp}/.cache/pod-hardener}/tools"
out_dir="$cache_root/$name-$key"
binary="$out_dir/$name"
if [[ -x "$binary" ]]; then
  echo "$binary"
  exit 0
fi

if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then PATH="/usr/local/go/bin:$PATH"; fi
command -v go >/dev/null 2>&1 || die "'go' not found: Go >= 1.26 builds $1 (https://go.dev/dl/)"
export GOTOOLCHAIN=local CGO_ENABLED=0

mkdir -p "$out_dir"
# One build at a time per program (jest workers starting together); the others wait for it.
exec 9>"$out_dir/.lock"
flock 9
if [[ -x "$binary" ]]; then
  echo "$binary"
  exit 0
fi
log "building $1 (the first build of a program on k8s.io/kubernetes takes a few minutes)"
start=$(date +%s)
partial="$binary.$$.partial"
(
  cd "$src"
  GOFLAGS="-mod=readonly -buildvcs=false" go build -p "${POD_HARDENER_BUILD_PARALLELISM:-2}" \
    -trimpath -ldflags="-s -w" -o "$partial" .
) >&2 || { rm -f "$partial"; die "building $1 failed (Go >= 1.26 and the Go module proxy or a warm module cache are needed)"; }
# Renamed into place: a reader never sees half a binary.
mv "$partial" "$binary"
log "built $name in $(( $(date +%s) - start ))s"
echo "$binary"
