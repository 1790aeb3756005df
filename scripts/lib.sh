# shellcheck shell=bash
# What the scripts of the repository share (sourced, not run): where the checkout and the cache
# are, logging with each script's prefix, the project's Node.js and Go on PATH, and locks between
# processes. A script sources it first: source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The checkout (this file is scripts/lib.sh), and the cache outside it for what the scripts build
# or fetch (Node.js, the control plane, Go tools, images), shared by every checkout.
repo_root="$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck disable=SC2034 # for the scripts that source this file
cache_root="${POD_HARDENER_CACHE:-${HOME:-/tmp}/.cache/pod-hardener}"

# log MESSAGE...: one line on stderr (stdout carries what a script prints for its caller), after
# the script's prefix: "name: ", name being the script's file name less .sh; "[name HH:MM:SS] "
# when the script sets log_clock=1, for long runs whose steps a reader times by eye.
log_name="$(basename "$0" .sh)"
log() {
  if [[ "${log_clock:-0}" == 1 ]]; then
    printf '[%s %(%T)T] %s\n' "$log_name" -1 "$*" >&2
  else
    printf '%s: %s\n' "$log_name" "$*" >&2
  fi
}
die() {
  log "error: $*"
  exit 1
}

# fail_run MESSAGE: ends a test run that failed before jest could run, with the summary line that
# every `npm test` ends with.
fail_run() {
  echo "$*"
  echo "0 passed, 1 failed"
  exit 1
}

# The Node.js version the project targets, as .node-version names it (without a leading v).
target_node_version() { tr -d ' \nv' <"$repo_root/.node-version"; }

# use_node: puts the Node.js of the line the project targets (.node-version) first on PATH,
# installing it into the cache when the machine's is of another major version.
use_node() {
  local bin
  bin="$(bash "$repo_root/scripts/ensure-node.sh" --print-bin)" || return 1
  PATH="$bin:$PATH"
}

# use_go: puts Go on PATH when only the go.dev tarball's usual place has it (shells of some
# machines lack /usr/local/go/bin); fails when there is no Go at all.
use_go() {
  if ! command -v go >/dev/null 2>&1 && [[ -x /usr/local/go/bin/go ]]; then
    PATH="/usr/local/go/bin:$PATH"
  fi
  command -v go >/dev/null 2>&1
}

# apt_install PACKAGE...: installs Debian packages (needs root), refreshing the package lists
# first only when the install cannot do without (a fresh machine has none).
apt_install() {
  command -v apt-get >/dev/null || die "missing: $* (install them; this script knows only apt-get)"
  [[ "$(id -u)" == 0 ]] || die "missing: $* (Debian packages; as root: apt-get install $*)"
  log "installing Debian packages: $*"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq --no-install-recommends "$@" >/dev/null 2>&1 && return 0
  apt-get update -qq >&2 || die "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "$@" >&2 || die "apt-get install $* failed"
}

# lock FILE WHAT: takes an exclusive lock on FILE (flock, on file descriptor 9), held until the
# script exits; while another process holds it, says that another WHAT is running and waits.
# lock_or_die FILE WHAT: the same, but fails at once instead of waiting.
# Background processes inherit descriptor 9, and with it the lock: start daemons with 9>&-.
lock() {
  open_lock "$1"
  flock -n 9 && return 0
  log "another $2 is running (lock $1); waiting for it"
  flock 9
}
lock_or_die() {
  open_lock "$1"
  flock -n 9 || die "another $2 is running (lock $1)"
}
open_lock() {
  mkdir -p "$(dirname "$1")"
  exec 9>"$1"
}
