#!/usr/bin/env bash
# `npm test`: the whole suite, every tier: unit, http (a real HTTPS server) and e2e (a real
# kube-apiserver built from Go modules; the first run builds it, later runs reuse the cache), then
# node (a real kubelet and containerd on this machine, as root).
# Extra arguments go to jest, e.g. `npm test -- --selectProjects unit`.
# The last line printed is `N passed, N failed`, and the exit status is non-zero on any failure.
set -uo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$repo_root" || exit 1

# Without arguments the run ends with the node tier, which needs root: say so now rather than
# after the other tiers' many minutes.
if [[ $# -eq 0 && "$(id -u)" != 0 ]]; then
  fail_run "The node tier runs a real kubelet and needs root: run 'sudo npm test', or 'npm test -- --selectProjects unit http e2e' to leave it out."
fi

# The Node.js LTS line the project targets (.node-version), installed when the machine's differs.
use_node || fail_run "Node.js $(target_node_version) is missing and could not be installed"
bash scripts/ensure-deps.sh || fail_run "installing the npm dependencies failed"
# The http and e2e tiers start the production build (node dist/main.js), as users run it.
npx tsc -p tsconfig.build.json || fail_run "build failed"
# jest transpiles without type checking (isolatedModules); the type check of src and tests is here.
npx tsc -p tsconfig.json --noEmit || fail_run "type check failed"
# Lint (eslint with type information), formatting (prettier) and the shell scripts (shellcheck,
# installed from Debian when missing), as `npm run lint`, `npm run format:check` and
# `npm run lint:shell` do; `npm run format` fixes the formatting.
npx eslint . || fail_run "lint failed (npm run lint)"
npx prettier --check --log-level warn "**/*.{ts,js,mjs,cjs}" || fail_run "formatting differs (npm run format fixes it)"
bash scripts/lint-shell.sh || fail_run "shell scripts: shellcheck failed (npm run lint:shell)"

# Build (or find in the cache) the e2e control plane before jest starts, so a cold build
# (15-25 min on 2 cores) shows its progress and counts against no test's timeout.
if [[ " $* " != *" --selectProjects "* || " $* " == *" e2e "* ]]; then
  use_go || fail_run "The e2e tier builds a real kube-apiserver from Go modules: install Go >= 1.26 (https://go.dev/dl/), or run 'npm test -- --selectProjects unit http' to leave the tier out."
  bash scripts/build-controlplane.sh >/dev/null || fail_run "building the e2e control plane failed"
fi
# Helm and promtool for the chart and alert tests (unit tier), likewise built before jest starts.
for tool in helm promtool; do
  bash scripts/build-go-tool.sh "$tool" >/dev/null || fail_run "building $tool failed"
done
# The unit tier's Go judges (kubectl's YAML decoder; kube-apiserver's pod validation and Pod
# Security, whose first build compiles much of k8s.io/kubernetes), likewise.
if [[ " $* " != *" --selectProjects "* || " $* " == *" unit "* ]]; then
  for program in kubectl-yaml kube-judge; do
    bash scripts/build-go-program.sh "test/support/$program" >/dev/null || { echo "building test/support/$program failed"; echo "0 passed, 1 failed"; exit 1; }
  done
fi

# Without arguments: the unit, http and e2e tiers in parallel workers, then the node tier in band
# (its tests share the one real cluster of this machine, and its scenarios are heavy for two
# cores; root was checked above). With arguments, one jest run with them.
rm -f .jest-results*.json
runs=()
status=0
if [[ $# -eq 0 ]]; then
  npx jest --json --outputFile=.jest-results.json --selectProjects unit http e2e || status=1
  runs+=(.jest-results.json)
  npx jest --json --outputFile=.jest-results-node.json --selectProjects node --runInBand || status=1
  runs+=(.jest-results-node.json)
else
  npx jest --json --outputFile=.jest-results.json "$@" || status=1
  runs+=(.jest-results.json)
fi

# shellcheck disable=SC2016 # JavaScript: its template literals are not for the shell
summary="$(node -e '
  const fs = require("fs");
  let passed = 0, failed = 0, ok = true;
  for (const file of process.argv.slice(1)) {
    if (!fs.existsSync(file) || fs.statSync(file).size === 0) {
      console.error(`jest wrote no results to ${file}`);
      failed += 1; ok = false;
      continue;
    }
    const r = JSON.parse(fs.readFileSync(file, "utf8"));
    // A suite that failed to run (syntax error, missing module) has no test results: count it.
    const broken = r.testResults.filter((s) => s.status === "failed" && s.assertionResults.length === 0).length;
    passed += r.numPassedTests;
    failed += r.numFailedTests + broken;
    ok = ok && r.success;
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed > 0 || !ok ? 1 : 0);
' "${runs[@]}")"
summary_status=$?
echo "$summary"
if [[ $status -ne 0 || $summary_status -ne 0 ]]; then exit 1; fi
