#!/usr/bin/env bash
# `make test-timeouts`: each test runner's timeout, tried on a deliberately
# slow test in a scratch run. The test starts a redis-server the way the
# real tests do, then never ends: the run must fail within its short
# timeout, say why, and leave that redis-server dead. (Rust's wait loops
# each carry a deadline; `wait_for_gives_up_at_its_deadline` in
# tests/cli_publish.rs is their check.) PYTEST is the command the Makefile runs
# pytest with.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$PWD"
SCRATCH="$(mktemp -d)"
trap 'rm -rf "$SCRATCH"' EXIT
step() { echo "test-timeouts: $*" >&2; }
fail() {
    echo "test-timeouts: $*" >&2
    exit 1
}

# Runs "$@" (a runner on the slow test) and checks the outcome: a failure
# within `within` seconds, `said` in its output, the server in `pidfile` gone.
expect_timeout() {
    local name=$1 within=$2 said=$3 pidfile=$4
    shift 4
    local start=$SECONDS status=0
    timeout 120 "$@" >"$SCRATCH/$name.log" 2>&1 || status=$?
    local took=$((SECONDS - start))
    [ "$status" -ne 0 ] || fail "$name: the slow test passed"
    [ "$status" -ne 124 ] || fail "$name: still running after 120 s (the runner's timeout did not fire)"
    [ "$took" -le "$within" ] || fail "$name: took $took s, over $within s"
    grep -q "$said" "$SCRATCH/$name.log" || fail "$name: no '$said' in its output: $(tail -20 "$SCRATCH/$name.log")"
    [ -s "$pidfile" ] || fail "$name: the slow test never started its redis-server"
    local pid
    pid="$(cat "$pidfile")"
    for _ in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        kill -9 "$pid"
        fail "$name: its redis-server (pid $pid) outlived the run"
    fi
    step "$name: failed after $took s as it should, redis-server stopped"
}

step "node --test (tests/npm/node-test.sh) with a 2 s timeout"
cat >"$SCRATCH/slow.test.mjs" <<EOF
import { writeFileSync } from "node:fs";
import { test } from "node:test";
import { RedisServer } from "$REPO/tests/npm/redis-server.mjs";

test("a test that never ends", async () => {
    const server = await RedisServer.start();
    writeFileSync("$SCRATCH/node.pid", String(server.process.pid));
    await new Promise(() => setInterval(() => {}, 1000));
});
EOF
NODE_TEST_TIMEOUT_MS=2000 expect_timeout node 30 "timed out after 2000ms" "$SCRATCH/node.pid" \
    tests/npm/node-test.sh "$SCRATCH/slow.test.mjs"

step "pytest (the Makefile's flags) with a 2 s timeout"
cat >"$SCRATCH/test_slow.py" <<EOF
import sys
import time

sys.path.insert(0, "$REPO/python/tests")
from test_redis import Server, server  # noqa: E402,F401  (the real fixture)


def test_a_test_that_never_ends(server: Server) -> None:
    assert server.process is not None
    with open("$SCRATCH/py.pid", "w") as out:
        out.write(str(server.process.pid))
    time.sleep(600)
EOF
# shellcheck disable=SC2086  # PYTEST is a command line
(cd "$SCRATCH" && expect_timeout pytest 30 "Timeout" "$SCRATCH/py.pid" ${PYTEST:?PYTEST names the pytest command} --timeout=2 test_slow.py)
