#!/usr/bin/env bash
# `npm start`: install what is missing, build, and run the webhook. With no configuration it
# listens on https://0.0.0.0:8443 with a generated development certificate, and serves
# /healthz, /readyz and /metrics on http://0.0.0.0:8080.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$repo_root"
# The Node.js LTS line the project targets (.node-version), installed when the machine's differs.
use_node || exit 1
bash scripts/ensure-deps.sh
npx tsc -p tsconfig.build.json
exec node dist/main.js "$@"
