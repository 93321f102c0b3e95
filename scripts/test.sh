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
npx vitest run "$@"
