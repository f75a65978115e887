#!/usr/bin/env bash
# Builds the npm package into pkg/ from scratch: the crate compiled to wasm,
# wasm-bindgen's glue for Node (CommonJS, loads the wasm synchronously) and
# for browsers (ES module, loads the wasm from a URL), the TypeScript wrapper
# compiled to ES modules and CommonJS, and pkg-template/ merged in.
set -euo pipefail
cd "$(dirname "$0")/.."
step() { echo "pkg: $*" >&2; }

scripts/ensure.sh wasm-target wasm-bindgen node-modules
BIN="$PWD/node_modules/.bin"

step "cargo build --target wasm32-unknown-unknown --profile wasm-release --features wasm"
scripts/wasm-cargo.sh rustc --quiet --lib --crate-type cdylib --profile wasm-release --features wasm
WASM=target/wasm/wasm32-unknown-unknown/wasm-release/crowd_envelope.wasm

rm -rf pkg target/pkg-build
mkdir -p pkg/wasm target/pkg-build
for runtime in node web; do
    target=$([ "$runtime" = node ] && echo nodejs || echo web)
    step "wasm-bindgen --target $target, wasm-opt"
    wasm-bindgen "$WASM" --target "$target" --out-dir "pkg/wasm/$runtime"
    "$BIN/wasm-opt" -O3 --enable-simd --enable-bulk-memory --enable-nontrapping-float-to-int \
        --enable-sign-ext --enable-mutable-globals --enable-reference-types --enable-multivalue \
        "pkg/wasm/$runtime/crowd_envelope_bg.wasm" -o "pkg/wasm/$runtime/crowd_envelope_bg.wasm"
done
# The glue for Node is CommonJS inside a "type": "module" package.
echo '{"type": "commonjs"}' >pkg/wasm/node/package.json

step "tsc (ES modules and CommonJS)"
cp -r pkg-template/src pkg-template/tsconfig.json target/pkg-build/
node scripts/pkg-sources.mjs pkg/wasm/web/crowd_envelope.d.ts target/pkg-build/src
"$BIN/tsc" -p target/pkg-build --outDir pkg/dist
"$BIN/tsc" -p target/pkg-build --outDir pkg/dist/cjs --module commonjs --moduleResolution node10
echo '{"type": "commonjs"}' >pkg/dist/cjs/package.json

step "merge pkg-template/"
cp pkg-template/node.cjs pkg-template/node.mjs pkg-template/browser.js \
    pkg-template/redis.cjs pkg-template/redis.mjs pkg-template/README.md pkg/
# The stream's AsyncAPI document, as the crate generates it (tests/asyncapi.rs
# holds the golden file to `asyncapi_document()`).
cp tests/golden/asyncapi.json pkg/
node scripts/package-json.mjs pkg-template/package.json Cargo.toml >pkg/package.json
step "done: $(du -sh pkg | cut -f1) in pkg/"
