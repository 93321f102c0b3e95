#!/usr/bin/env bash
# The one test command (`npm test`): real peers installed when missing, a build, then every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-peers.sh
[ -d node_modules ] || npm ci
npx turbo run build --output-logs=errors-only
npx prettier --check . >/dev/null || { echo "formatting: run npm run format" >&2; exit 1; }
npx vitest run "$@"
