#!/usr/bin/env bash
# Stryker's buildCommand (tests/mutants/stryker-*.json), run once in its
# sandbox after the sources were instrumented: for `npm`, the wrapper is
# compiled again into the sandbox's pkg/dist (the wasm in pkg/ is the real
# build); then a scratch consumer like tests/npm/run.sh's links that pkg/.
# CROWD_MUTANTS_REPO is the repository (scripts/mutants-js.sh sets it).
set -euo pipefail
area="$1"
: "${CROWD_MUTANTS_REPO:?run through scripts/mutants-js.sh}"
BIN="$CROWD_MUTANTS_REPO/node_modules/.bin"
if [ "$area" = npm ]; then
    rm -rf target/pkg-build pkg/dist
    mkdir -p target/pkg-build
    cp -r pkg-template/src pkg-template/tsconfig.json target/pkg-build/
    node scripts/pkg-sources.mjs pkg/wasm/web/crowd_envelope.d.ts target/pkg-build/src
    "$BIN/tsc" -p target/pkg-build --outDir pkg/dist
    "$BIN/tsc" -p target/pkg-build --outDir pkg/dist/cjs --module commonjs --moduleResolution node10
    echo '{"type": "commonjs"}' >pkg/dist/cjs/package.json
fi
mkdir -p target/mut-consumer/node_modules target/parity
ln -sfn "$PWD/pkg" target/mut-consumer/node_modules/crowd-envelope
echo '{"name": "scratch-consumer", "private": true, "type": "module"}' >target/mut-consumer/package.json
cp tests/npm/*.mjs tests/npm/*.cjs target/mut-consumer/
cp "$CROWD_MUTANTS_REPO/target/parity/accepted.jsonl" target/parity/
