#!/usr/bin/env bash
# `make bench`: every comparison of issue 6, one step at a time with
# progress on stderr, results as JSON in target/bench/, then
# target/bench/REPORT.md and a summary. Needs what `make test` installs.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=target/bench
mkdir -p "$OUT"
step() { echo "bench: $*" >&2; }

scripts/ensure.sh native-deps node-modules redis chromium
step "build: release CLI, npm package, Python referee"
cargo build --quiet --release --features cli
BIN=target/release/crowd-envelope
[ -f pkg/package.json ] && [ -z "${BENCH_REBUILD_PKG:-}" ] || scripts/build-pkg.sh
make --quiet .venv/.installed

node benches/js/write-payloads.mjs "$OUT/payloads.json"
.venv/bin/python benches/forms.py "$OUT/forms.json"
"$BIN" schema >"$OUT/schema.json"
step "typia: generate the ahead-of-time validator (benches/js/typia), compile it"
rm -rf "$OUT/typia-ts" "$OUT/typia"
node_modules/.bin/typia generate --input benches/js/typia --output "$OUT/typia-ts" \
    --project benches/js/typia/tsconfig.json >/dev/null
node_modules/.bin/tsc --outDir "$OUT/typia" --module es2022 --target es2022 --moduleResolution bundler \
    --skipLibCheck --strict "$OUT/typia-ts/envelope.ts"

step "1/6 Node: crowd-envelope vs JSON.parse, zod, Ajv, valibot, TypeBox, typia"
CROWD_ENVELOPE_BIN="$BIN" node benches/js/node.mjs >"$OUT/node.json"
step "   Node: serde-wasm-bindgen vs the JSON-text path (a wasm with feature measure-swb)"
scripts/wasm-cargo.sh rustc --quiet --lib --crate-type cdylib --profile wasm-release --features measure-swb
wasm-bindgen target/wasm/wasm32-unknown-unknown/wasm-release/crowd_envelope.wasm --target nodejs --out-dir "$OUT/swb"
echo '{"type": "commonjs"}' >"$OUT/swb/package.json"
node benches/js/swb.mjs >"$OUT/swb.json"

step "2/6 Chromium: the same in a browser"
node benches/js/browser.mjs >"$OUT/browser.json"

step "3/6 native Rust (criterion) and Python (Pydantic)"
cargo bench --quiet --bench decode -- --noplot >"$OUT/criterion.log" 2>&1
node benches/js/criterion.mjs target/criterion >"$OUT/native.json"
cargo build --quiet --release --example decode_timing
make --no-print-directory .venv/.python-tools
rm -rf target/wheels-release
(cd python && ../.venv/bin/maturin build --quiet --release --out ../target/wheels-release)
.venv/bin/pip install --quiet --disable-pip-version-check --force-reinstall --no-deps target/wheels-release/crowd_envelope-*.whl
.venv/bin/python benches/python_bench.py "$OUT/payloads.json" target/release/examples/decode_timing >"$OUT/python.json"
step "   forms: native vs serde_json derive; the Python package vs msgspec and Pydantic (benches/forms.py)"
cargo build --quiet --release --example forms_timing
.venv/bin/pip install --quiet --disable-pip-version-check -r benches/requirements.txt
.venv/bin/python benches/python_forms.py "$OUT/forms.json" target/release/examples/forms_timing >"$OUT/python-forms.json"
cargo run --quiet --release --example decode_memory "$OUT/payloads.json" "$OUT/hostile.json" >"$OUT/memory.json"
node benches/js/memory.mjs "$OUT/hostile.json" >"$OUT/memory-node.json"

step "4/6 Redis: redis-benchmark XADD, pipelined publish, follow latency, a waiting handler"
PORT=$(node scripts/free-port.mjs)
redis-server --port "$PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --dir "$PWD/$OUT" --pidfile "$PWD/$OUT/redis.pid" >/dev/null
trap 'redis-cli -p "$PORT" shutdown nosave >/dev/null 2>&1 || true' EXIT
until redis-cli -p "$PORT" ping >/dev/null 2>&1; do sleep 0.1; done
PAYLOAD=$(node benches/js/print-payload.mjs typical)
redis-benchmark -p "$PORT" -c 1 -P 100 -n 50000 --csv XADD bench:ceiling '*' data "$PAYLOAD" \
    | tail -1 >"$OUT/redis-benchmark.csv"
CROWD_BENCH_REDIS_URL="redis://127.0.0.1:$PORT" CROWD_BENCH_PAYLOAD="$PAYLOAD" cargo bench --quiet --features redis --bench redis \
    >"$OUT/redis.json" 2>"$OUT/redis.log"
step "   transport: publish, consume, tail beside naive redis-py (benches/transport.py)"
printf '%s' "$PAYLOAD" >"$OUT/typical.json"
make --no-print-directory .venv/.python-tools
.venv/bin/python benches/transport.py "$BIN" "$PORT" "$OUT/typical.json" >"$OUT/transport.json"
step "   cluster: publish and tail through 3 masters + 3 replicas beside one server (benches/cluster.py)"
.venv/bin/python benches/cluster.py "$BIN" "$PORT" "$OUT/typical.json" >"$OUT/cluster.json"

step "   dashboard: ${DASHBOARD_SECONDS:-60}s at 500 envelopes/s in Chromium"
node benches/js/dashboard.mjs "redis://127.0.0.1:$PORT" "$(node scripts/free-port.mjs)" \
    >"$OUT/dashboard.json"

step "5/6 sizes: wasm per runtime, npm tarball"
TARBALL=$(cd pkg && npm pack --silent --pack-destination "../$OUT")
node benches/js/sizes.mjs "$OUT/$TARBALL" >"$OUT/sizes.json"

step "6/6 report"
node benches/js/report.mjs "$OUT"
