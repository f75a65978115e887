#!/usr/bin/env bash
# The npm package as a user gets it: `npm pack` of pkg/, installed into a
# scratch consumer project (target/npm-consumer), then Node tests (ESM and
# CommonJS, the corpus, native parity, Redis), a strict TypeScript consumer,
# and a Vite build loaded in headless Chromium.
#
# Usage: tests/npm/run.sh [node-test-file...]   (default: all)
set -euo pipefail
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$REPO"
step() { echo "test-npm: $*" >&2; }

scripts/ensure.sh node-modules redis chromium
[ -f pkg/package.json ] || { echo "test-npm: no pkg/: run 'make pkg' first" >&2; exit 2; }

CONSUMER="$REPO/target/npm-consumer"
step "npm pack pkg/ and install it into $CONSUMER"
rm -rf "$CONSUMER"
mkdir -p "$CONSUMER"
TARBALL="$(cd pkg && npm pack --silent --pack-destination "$CONSUMER")"
cd "$CONSUMER"
echo '{"name": "scratch-consumer", "private": true, "type": "module"}' >package.json
# Only the tarball is installed here; tools (typescript, redis, vite) resolve
# from the repository's node_modules further up.
npm install --no-audit --no-fund --loglevel=error "./$TARBALL"
cp "$REPO"/tests/npm/*.mjs "$REPO"/tests/npm/*.cjs .
cp -r "$REPO/tests/npm/ts" "$REPO/tests/npm/browser" .

export CROWD_REPO="$REPO"
export CROWD_ENVELOPE_BIN="${CROWD_ENVELOPE_BIN:-$REPO/target/debug/crowd-envelope}"
export PATH="$REPO/node_modules/.bin:$PATH"

step "strict TypeScript consumer (tsc --strict, ESM and CommonJS)"
tsc -p ts

step "node --test (tests/npm/node-test.sh: a timeout for each test)"
if [ $# -gt 0 ]; then
    "$REPO/tests/npm/node-test.sh" "$@"
else
    "$REPO/tests/npm/node-test.sh" ./*.test.mjs ./*.test.cjs
fi
