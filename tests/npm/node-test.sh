#!/usr/bin/env bash
# `node --test` as every npm test run uses it: a test that runs longer than
# NODE_TEST_TIMEOUT_MS (default 3 minutes) fails, and the file's process
# then exits (--test-force-exit) instead of waiting on what the test left
# open; tests/npm/redis-server.mjs and helpers.mjs kill their children on exit.
exec node --test --test-timeout="${NODE_TEST_TIMEOUT_MS:-180000}" --test-force-exit "$@"
