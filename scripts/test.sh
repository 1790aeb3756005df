#!/usr/bin/env bash
# `npm test`: the whole suite, every tier: unit, http (a real HTTPS server) and e2e (a real
# kube-apiserver built from Go modules; the first run builds it, later runs reuse the cache).
# Extra arguments go to jest, e.g. `npm test -- --selectProjects unit`.
# The last line printed is `N passed, N failed`, and the exit status is non-zero on any failure.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# The Node.js LTS line the project targets (.node-version), installed when the machine's differs.
node_bin="$(bash scripts/ensure-node.sh --print-bin)" || exit 1
export PATH="$node_bin:$PATH"
bash scripts/ensure-deps.sh || exit 1
# The http and e2e tiers start the production build (node dist/main.js), as users run it.
npx tsc -p tsconfig.build.json || { echo "build failed"; echo "0 passed, 1 failed"; exit 1; }
# jest transpiles without type checking (isolatedModules); the type check of src and tests is here.
npx tsc -p tsconfig.json --noEmit || { echo "type check failed"; echo "0 passed, 1 failed"; exit 1; }

# Build (or find in the cache) the e2e control plane before jest starts, so a cold build
# (15-25 min on 2 cores) shows its progress and counts against no test's timeout.
if [[ " $* " != *" --selectProjects "* || " $* " == *" e2e "* ]]; then
  if ! command -v go >/dev/null 2>&1; then
    echo "The e2e tier builds a real kube-apiserver from Go modules: install Go >= 1.26 (https://go.dev/dl/), or run 'npm test -- --selectProjects unit http' to leave the tier out."
    echo "0 passed, 1 failed"
    exit 1
  fi
  bash scripts/build-controlplane.sh >/dev/null || { echo "building the e2e control plane failed"; echo "0 passed, 1 failed"; exit 1; }
fi

results=".jest-results.json"
rm -f "$results"
npx jest --json --outputFile="$results" "$@"
status=$?

if [[ ! -s "$results" ]]; then
  echo "jest wrote no results (exit $status)"
  echo "0 passed, 1 failed"
  exit 1
fi
summary="$(node -e '
  const r = require(require("path").resolve(process.argv[1]));
  // A suite that failed to run (syntax error, missing module) has no test results: count it.
  const broken = r.testResults.filter((s) => s.status === "failed" && s.assertionResults.length === 0).length;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests + broken} failed`);
  process.exit(r.numFailedTests + broken > 0 || !r.success ? 1 : 0);
' "$results")"
summary_status=$?
echo "$summary"
if [[ $status -ne 0 || $summary_status -ne 0 ]]; then exit 1; fi
