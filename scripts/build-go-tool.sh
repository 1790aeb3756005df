#!/usr/bin/env bash
# Builds one of the Go programs the test tiers need, from the Go module proxy, into a cache outside
# the repository, and prints the directory holding its binaries as the last line of stdout.
# Progress and errors go to stderr.
#
#   bash scripts/build-go-tool.sh containerd|helm|promtool|runc
#   -> ${POD_HARDENER_CACHE:-$HOME/.cache/pod-hardener}/tools/<name>-<version>/bin/
#
# Versions are pinned here, so a cache hit needs neither Go nor the network. Each tool is built in
# a throwaway module that requires it (rather than `go install pkg@version`, which refuses modules
# whose go.mod has replace directives), with the same -trimpath as the control plane so the Go
# build cache is shared.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# name -> "module version packages... | ldflags | build tags (these build with cgo)"
declare -A tools=(
  # The containerd line that supports Kubernetes 1.36 (2.2+/2.3+); Debian's 1.6 lacks the
  # RuntimeConfig CRI call and user namespaces.
  [containerd]="github.com/containerd/containerd/v2 v2.3.7 cmd/containerd cmd/containerd-shim-runc-v2 cmd/ctr | -X github.com/containerd/containerd/v2/version.Version=v2.3.7"
  # Helm 4; the chart is also kept valid for Helm 3 (apiVersion v2, no Helm-4-only features).
  [helm]="helm.sh/helm/v4 v4.3.1 cmd/helm | -X helm.sh/helm/v4/internal/version.version=v4.3.1"
  # promtool checks and unit-tests the PrometheusRule alerts.
  [promtool]="github.com/prometheus/prometheus v0.316.0 cmd/promtool |"
  # An OCI registry for the node tier's image identity test (go-containerregistry's, in memory).
  [registry]="github.com/google/go-containerregistry v0.22.1 cmd/registry |"
  # runc >= 1.2 for user-namespaced pods (idmapped mounts); Debian 12's is 1.1. Its seccomp
  # support is cgo on libseccomp (Debian: libseccomp-dev, pkg-config).
  [runc]="github.com/opencontainers/runc v1.5.3 . | -X main.version=1.5.3 | seccomp urfave_cli_no_docs"
)

name="${1:-}"
[[ -n "$name" && -n "${tools[$name]+x}" ]] || die "usage: $0 <$(echo "${!tools[@]}" | tr ' ' '|')>"
spec="${tools[$name]}"
IFS='|' read -r spec_pkgs extra_ldflags build_tags <<<"$spec"
read -r -a parts <<<"$spec_pkgs"
build_tags="$(echo "${build_tags:-}" | xargs)"
module="${parts[0]}" version="${parts[1]}" packages=("${parts[@]:2}")

tools_root="$cache_root/tools"
out_dir="$tools_root/$name-$version"
bin_dir="$out_dir/bin"
if [[ -f "$out_dir/.complete" ]]; then
  echo "$bin_dir"
  exit 0
fi

use_go || die "'go' not found: Go >= 1.26 builds $name $version (https://go.dev/dl/)"
export GOTOOLCHAIN=local CGO_ENABLED=0

lock "$tools_root/.lock-$name" "build of $name"
if [[ -f "$out_dir/.complete" ]]; then
  echo "$bin_dir"
  exit 0
fi

work="$(mktemp -d "$tools_root/.build-$name-XXXXXX")"
trap 'rm -rf "$work"' EXIT
log "building $name $version from $module (a first build takes a few minutes)"
start=$(date +%s)
(
  cd "$work"
  go mod init podhardener.test/tools >/dev/null 2>&1
  go get "$module@$version" >/dev/null 2>&1 || go get "$module@$version"
  pkgs=()
  for p in "${packages[@]}"; do
    if [[ "$p" == . ]]; then pkgs+=("$module"); else pkgs+=("$module/$p"); fi
  done
  # The throwaway module needs go.sum entries for every package it builds.
  printf 'package tools\n\nimport (\n' >tools.go
  for p in "${pkgs[@]}"; do printf '\t_ "%s"\n' "$p" >>tools.go; done
  printf ')\n' >>tools.go
  printf '//go:build tools\n\n' | cat - tools.go >tools.go.tmp && mv tools.go.tmp tools.go
  go mod tidy >/dev/null 2>&1 || go mod tidy
  mkdir -p bin
  cgo=0
  [[ -n "$build_tags" ]] && cgo=1
  CGO_ENABLED=$cgo GOFLAGS="-buildvcs=false" go build -p "${POD_HARDENER_BUILD_PARALLELISM:-2}" -trimpath \
    -tags="${build_tags// /,}" -ldflags="-s -w $extra_ldflags" -o bin/ "${pkgs[@]}"
) >&2 || die "building $name $version failed"
rm -rf "$out_dir"
mkdir -p "$out_dir"
mv "$work/bin" "$bin_dir"
date -u +%Y-%m-%dT%H:%M:%SZ >"$out_dir/.complete"
log "built $name $version in $(( $(date +%s) - start ))s"
echo "$bin_dir"
