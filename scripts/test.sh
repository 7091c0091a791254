#!/usr/bin/env bash
# The test command (npm test): type check, lint, then every vitest suite, then one plain summary line.
set -uo pipefail
cd "$(dirname "$0")/.."
npx tsc --noEmit -p . || exit 1
npm run --silent lint || exit 1
results="$(mktemp)"
npx vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@"
status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed, ${r.numPendingTests + r.numTodoTests} skipped`);
' "$results" 2>/dev/null || true
rm -f "$results"
exit $status
