#!/usr/bin/env bash
# Stryker's test command (tests/mutants/stryker-*.json), run in its sandbox
# once per mutant with __STRYKER_ACTIVE_MUTANT__ set: the Node test files of
# tests/npm that CROWD_MUTANTS_TESTS names (scripts/mutants-js.sh sets it per
# group of sources), against the consumer tests/mutants/build.sh made.
# Exit 0 means the mutant survived.
set -euo pipefail
: "${CROWD_MUTANTS_REPO:?run through scripts/mutants-js.sh}"
export CROWD_REPO="$PWD"
export CROWD_ENVELOPE_BIN="$CROWD_MUTANTS_REPO/target/debug/crowd-envelope"
export NODE_TEST_TIMEOUT_MS="${NODE_TEST_TIMEOUT_MS:-120000}"
cd target/mut-consumer
files=()
for name in ${CROWD_MUTANTS_TESTS:?}; do files+=(./"$name".test.*); done
exec "$CROWD_MUTANTS_REPO/tests/npm/node-test.sh" "${files[@]}" >/dev/null 2>&1
