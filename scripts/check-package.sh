#!/usr/bin/env bash
# `make lint`: the crate as crates.io would get it carries the dashboard:
# every file of www/ and the browser build of the npm package that build.rs
# builds into the program (pkg/browser.js, pkg/dist/*.js, the web glue and
# wasm), and nothing of the Node or CommonJS builds. Needs `make pkg`.
set -euo pipefail
cd "$(dirname "$0")/.."
listed="$(cargo package --list --allow-dirty 2>/dev/null)"
wanted=$(
    git ls-files www
    echo pkg/browser.js
    ls pkg/dist/*.js
    echo pkg/wasm/web/crowd_envelope.js
    echo pkg/wasm/web/crowd_envelope_bg.wasm
)
missing=0
for file in $wanted; do
    if ! grep -qxF "$file" <<<"$listed"; then
        echo "check-package: $file is not in the packaged crate (Cargo.toml include)" >&2
        missing=1
    fi
done
if grep -E '^pkg/(dist/cjs/|wasm/node/|node\.|redis\.)' <<<"$listed" >&2; then
    echo "check-package: the packaged crate carries the Node build (above); the page needs only the browser one" >&2
    missing=1
fi
exit "$missing"
