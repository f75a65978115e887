#!/usr/bin/env bash
# The program as `cargo install` gets it from crates.io: the crate packaged
# (`cargo package`), unpacked into a scratch directory, installed from
# there with feature `cli` (a debug build: only the crate itself compiles,
# its dependencies come from target/), then `serve` started from an empty
# directory: the page, its modules and the package's browser build are
# served from the program, byte for byte the repository's.
# Needs `make pkg`. Usage: tests/package-install.sh
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
cd "$REPO"
step() { echo "test-package: $*" >&2; }

SCRATCH="$(mktemp -d "${TMPDIR:-/tmp}/crowd-package-XXXXXX")"
SERVE_PID=""
cleanup() {
    [ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null || true
    rm -rf "$SCRATCH"
}
trap cleanup EXIT

step "cargo package"
cargo package --no-verify --allow-dirty --quiet
VERSION="$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)"
tar -xzf "target/package/crowd-envelope-$VERSION.crate" -C "$SCRATCH"

step "cargo install --path (the unpacked crate) --features cli --debug"
cargo install --quiet --offline --locked --debug --features cli \
    --path "$SCRATCH/crowd-envelope-$VERSION" --root "$SCRATCH/root" --target-dir "$REPO/target/package-install"

step "serve from an empty directory"
mkdir "$SCRATCH/empty"
PORT="$(node scripts/free-port.mjs)"
# No Redis at this address: the page is served all the same.
(cd "$SCRATCH/empty" && exec "$SCRATCH/root/bin/crowd-envelope" serve --addr "127.0.0.1:$PORT" \
    --redis-url "redis://127.0.0.1:1") 2>"$SCRATCH/serve.log" &
SERVE_PID=$!
# Each file as the program serves it, against the repository's (Node's
# fetch, so nothing beyond what `make test` installs is needed).
failed=0
node --input-type=module - "$PORT" www/index.html www/app.js $(git ls-files www/js) pkg/browser.js \
    pkg/dist/index.js pkg/wasm/web/crowd_envelope.js pkg/wasm/web/crowd_envelope_bg.wasm <<'JS' || failed=1
import { readFileSync } from "node:fs";
const [port, ...files] = process.argv.slice(2);
const base = `http://127.0.0.1:${port}/`;
for (let i = 0; ; i++) {
    try { await fetch(base); break; } catch (error) {
        if (i === 100) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
}
let bad = 0;
for (const file of files) {
    const url = file === "www/index.html" ? "" : file.replace(/^www\//, "");
    const response = await fetch(base + url);
    const body = Buffer.from(await response.arrayBuffer());
    if (response.status !== 200 || !body.equals(readFileSync(file))) {
        console.error(`test-package: /${url} (${response.status}) is not ${file}, byte for byte`);
        bad = 1;
    }
}
process.exit(bad);
JS
[ "$failed" = 0 ] || { cat "$SCRATCH/serve.log" >&2; exit 1; }
step "ok: the installed program serves the page and the package's browser build"
