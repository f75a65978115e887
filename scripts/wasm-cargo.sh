#!/usr/bin/env bash
# cargo for wasm32-unknown-unknown: rustup's target when installed, else
# Debian's rustc-web building std from source (see docs/toolchain.md and
# scripts/ensure.sh). Usage: scripts/wasm-cargo.sh <subcommand> [args...]
set -euo pipefail
cd "$(dirname "$0")/.."
sub="$1"
shift
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target/wasm}"
# SIMD128 (src/json/mod.rs, plain_run): Node 16.4+, Chrome 91+, Firefox 89+,
# Safari 16.4+.
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="${CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS:-} -C target-feature=+simd128"
if rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
    exec cargo "$sub" --target wasm32-unknown-unknown "$@"
fi
export RUSTC_BOOTSTRAP=1 PATH="/usr/bin:$PATH"
exec /usr/bin/cargo "$sub" --target wasm32-unknown-unknown -Zbuild-std=std,panic_abort "$@"
