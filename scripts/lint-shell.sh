#!/usr/bin/env bash
# `npm run lint:shell`: shellcheck over every shell script of the repository: the *.sh files, and
# the files without an extension whose first line runs bash or sh (.ci/run), each with the files
# it sources. shellcheck is the Debian package, installed when missing (as root).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$repo_root"

command -v shellcheck >/dev/null || apt_install shellcheck

shell_scripts() {
  local f
  find . \( -name .git -o -name node_modules -o -name dist -o -name coverage \) -prune -o -type f -print |
    LC_ALL=C sort | while IFS= read -r f; do
    case "${f##*/}" in
      *.sh) echo "$f" ;;
      *.*) ;;
      *) if head -n 1 "$f" | grep -qaE '^#!.*[/ ](ba)?sh$'; then echo "$f"; fi ;;
    esac
  done
}

mapfile -t scripts < <(shell_scripts)
(( ${#scripts[@]} > 0 )) || die "no shell scripts found under $repo_root"
shellcheck --external-sources "${scripts[@]}"
log "${#scripts[@]} scripts checked, no findings"
