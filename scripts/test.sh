#!/usr/bin/env bash
# The one test command (`npm test`): real peers installed when missing, a build, then every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-peers.sh
[ -d node_modules ] || npm ci
npx turbo run build --output-logs=errors-only
# The Kubernetes components, etcd, containerd, runc, the CNI plugins and CoreDNS, built from their Go modules at the
# versions of the tested-combination table (cached outside the clone; minutes cold, seconds warm).
node scripts/build-test-peers.mjs
npx prettier --check . >/dev/null || { echo "formatting: run npm run format" >&2; exit 1; }
# Three lines of test files side by side (vitest.config.ts names them): the test hosts' files, the live cluster's
# lifecycle and the others, each one file at a time. vitest runs a config's projects one after the other, so each
# line is a vitest of its own. Asked for particular files (npm test -- FILE), one vitest runs them.
if [ "$#" -gt 0 ]; then exec npx vitest run "$@"; fi
# Each line's output is kept too: the three are interleaved, and a CI that shows only the end of the output would
# otherwise show the last line to finish, green, and not why another failed. A failed line's summary is said again last.
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
lines="hosts lifecycle others"
pids=""
for line in $lines; do
  (set -o pipefail; npx vitest run --project "$line" 2>&1 | tee "$logs/$line") &
  pids="$pids $!"
done
status=0
failed=""
# shellcheck disable=SC2086 # the lines' names, one word each, in the order their pids were taken
set -- $lines
for pid in $pids; do
  wait "$pid" || { status=1; failed="$failed $1"; }
  shift
done
# Said in few lines, as a CI may show only the last hundred or so: which tests failed, then the start of vitest's own
# account of the failures (from its first "Failed" rule), without colours.
for line in $failed; do
  plain="$logs/$line.plain"
  sed 's/\x1b\[[0-9;]*m//g' "$logs/$line" >"$plain"
  echo
  echo "== the $line line failed:"
  grep -E '^ *(FAIL|×) ' "$plain" | sort -u | head -n 12
  grep -E '^ *(Test Files|Tests) ' "$plain" | tail -n 2
  awk '/⎯+ Failed (Tests|Suites)/ { on = 1 } on' "$plain" | head -n 40
done
exit "$status"
