#!/usr/bin/env bash
# Builds the e2e test cluster (etcd + kube-apiserver, kube-controller-manager, kube-scheduler,
# kubelet and kubectl, from the Go module in test/e2e/controlplane) into a cache outside
# the repository, and prints the directory holding the binaries as the last line
# of stdout. Progress and errors go to stderr.
#
#   ${POD_HARDENER_CACHE:-$HOME/.cache/pod-hardener}/controlplane/<key>/bin/
#
# <key> is the sha256 of the build flags and of go.mod, go.sum and every .go file
# of the module, so a cached build is reused until the module changes; a cache hit
# returns in milliseconds without needing Go. A cold build (empty Go module and
# build caches) took 16 min on 2 cores (~600 MB of modules, ~3 GB of Go build
# cache, ~2 GB peak memory); with a warm Go build cache it takes ~20 s. It needs
# Go >= 1.26 and a Go module proxy.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
module_dir="$repo_root/test/e2e/controlplane"
build_root="$cache_root/controlplane"
binaries=(controlplane kube-controller-manager kube-scheduler kubelet kubectl pause)

[[ -f "$module_dir/go.mod" ]] || die "module not found at $module_dir"

# The Kubernetes version, stamped into the binaries (as upstream's hack/lib/version.sh
# does) so that `kubectl version` and the apiserver's /version report it.
k8s_version="$(sed -n 's/^[[:space:]]*k8s\.io\/kubernetes \(v[0-9][^ ]*\).*/\1/p' "$module_dir/go.mod" | head -n 1)"
[[ "$k8s_version" =~ ^v([0-9]+)\.([0-9]+)\. ]] || die "cannot read the k8s.io/kubernetes version from $module_dir/go.mod"
ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  ldflags+=" -X $pkg.gitVersion=$k8s_version -X $pkg.gitMajor=${BASH_REMATCH[1]}"
  ldflags+=" -X $pkg.gitMinor=${BASH_REMATCH[2]} -X $pkg.gitTreeState=clean"
done

# Cache key: the build flags, and the names and contents of go.mod, go.sum and
# all .go files.
key="$(
  cd "$module_dir"
  {
    echo "$(uname -s)/$(uname -m) $ldflags"
    find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) -print | LC_ALL=C sort |
      while IFS= read -r f; do printf '%s\n' "$f"; cat "$f"; done
  } | sha256sum | cut -c1-32
)"
out_dir="$build_root/$key"
bin_dir="$out_dir/bin"

is_built() {
  [[ -f "$out_dir/.complete" ]] || return 1
  local b
  for b in "${binaries[@]}"; do [[ -x "$bin_dir/$b" ]] || return 1; done
}

if is_built; then
  echo "$bin_dir"
  exit 0
fi

# --- cold path: build -------------------------------------------------------

if ! use_go; then
  die "'go' not found. Install Go >= 1.26: apt-get install golang (if the distribution ships >= 1.26), or download it from https://go.dev/dl/ and put its bin/ on PATH."
fi
export GOTOOLCHAIN=local CGO_ENABLED=0
go_version="$(go env GOVERSION 2>/dev/null || true)"
if [[ ! "$go_version" =~ ^go1\.([0-9]+) ]] || (( BASH_REMATCH[1] < 26 )); then
  die "found Go '${go_version:-unknown}' at $(command -v go); Go >= 1.26 is needed (k8s.io/kubernetes v1.36 requires go 1.26). Install Go >= 1.26: apt-get install golang, or https://go.dev/dl/"
fi

# Only one build at a time (e.g. parallel jest workers); the others wait for it.
lock "$build_root/.lock" "build of the control plane"
if is_built; then
  echo "$bin_dir"
  exit 0
fi

build_log="$build_root/build-$key.log"
tmp_dir="$(mktemp -d "$build_root/.build-XXXXXX")"
sampler_pid=""
build_pid=""
cleanup() {
  if [[ -n "$sampler_pid" ]]; then kill "$sampler_pid" 2>/dev/null || true; fi
  if [[ -n "$build_pid" ]]; then kill "$build_pid" 2>/dev/null || true; fi
  rm -rf "$tmp_dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "building the test control plane ($go_version, k8s.io/kubernetes $k8s_version)"
log "into $bin_dir"
log "a cold build downloads ~600 MB of modules and compiles for ~16 minutes on 2 cores; later runs reuse it"
log "full log: $build_log"

start=$(date +%s)
(
  cd "$module_dir"
  GOFLAGS="-mod=readonly -buildvcs=false" \
    go build -v -p "${POD_HARDENER_BUILD_PARALLELISM:-2}" -trimpath -ldflags="$ldflags" \
    -o "$tmp_dir/" ./cmd/...
) >"$build_log" 2>&1 &
build_pid=$!

# A progress line every 30 s. (Short sleeps: a killed loop must not leave a long
# sleep holding the caller's pipes open.)
(
  for (( i = 1; ; i++ )); do
    sleep 1
    (( i % 30 == 0 )) || continue
    now=$(date +%s)
    pkgs=$(grep -c -v -e '^go: ' -e '^#' "$build_log" 2>/dev/null || true)
    log "still building: $(( (now - start) / 60 ))m$(( (now - start) % 60 ))s elapsed, ${pkgs:-0} packages compiled (about 2700 in all), last: $(tail -n 1 "$build_log" 2>/dev/null | cut -c1-100)"
  done
) >/dev/null &
sampler_pid=$!

set +e
wait "$build_pid"
rc=$?
set -e
build_pid=""
kill "$sampler_pid" 2>/dev/null || true
sampler_pid=""
elapsed=$(( $(date +%s) - start ))

if (( rc != 0 )); then
  log "go build failed after ${elapsed}s (exit $rc); last lines of $build_log:"
  grep -v -e '^go: downloading' "$build_log" | tail -n 40 >&2 || true
  exit 1
fi
for b in "${binaries[@]}"; do
  [[ -x "$tmp_dir/$b" ]] || die "go build succeeded but $b is missing"
done

rm -rf "$out_dir"
mkdir -p "$out_dir"
mv "$tmp_dir" "$bin_dir"
date -u +%Y-%m-%dT%H:%M:%SZ >"$out_dir/.complete"
log "built in $(( elapsed / 60 ))m$(( elapsed % 60 ))s: $(cd "$bin_dir" && du -ch "${binaries[@]}" | tail -n 1 | cut -f1) of binaries"
echo "$bin_dir"
