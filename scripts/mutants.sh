#!/usr/bin/env bash
# `make mutants-core`: cargo-mutants over the pure core (.cargo/mutants.toml
# names the fast tests), with proptest's seed pinned so that a run is
# repeatable; `make mutants-cli` (`scripts/mutants.sh cli`): over src/cli/,
# tested by the binary's unit tests and the tests that run it
# (.cargo/mutants-cli.toml). Pass cargo-mutants arguments through, e.g.
#   scripts/mutants.sh --file src/decision.rs      (one module)
#   scripts/mutants.sh cli --file src/cli/serve/host.rs
#   scripts/mutants.sh --in-diff <(git diff HEAD~1) (what a change touched)
# Results: mutants.out/ (target/mutants-cli/mutants.out/ for the CLI),
# cargo-mutants' own, and a summary in docs/mutants/<files>.txt that is kept
# with the code; every survivor must be killed by a test or listed in
# docs/mutants/EQUIVALENT.md with its reason.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=27.1.0
if [ "$(cargo mutants --version 2>/dev/null)" != "cargo-mutants $VERSION" ]; then
    echo "mutants: cargo install cargo-mutants $VERSION (about 3 minutes)" >&2
    cargo install --quiet --locked cargo-mutants --version "=$VERSION"
fi
export PROPTEST_RNG_SEED=20261127
files=()
if [ "${1:-}" = cli ]; then
    shift
    out=target/mutants-cli
    options=(--config .cargo/mutants-cli.toml --output "$out")
    [[ " $* " == *" --file "* ]] || files=(--file 'src/cli/**/*.rs')
    name=cli$(printf '%s' "${*:+_$*}" | tr -c 'A-Za-z0-9._' '_' | sed 's/__*/_/g')
    scripts/ensure.sh native-deps redis
else
    out=.
    options=()
    # The pure core, unless the arguments name files themselves.
    CORE=(prediction decision envelope decode json lax datetime validate error)
    [[ " $* " == *" --file "* ]] || for module in "${CORE[@]}"; do files+=(--file "src/$module.rs"); done
    name=$(printf '%s' "${*:-all}" | tr -c 'A-Za-z0-9._' '_' | sed 's/^_*//')
fi
status=0
cargo mutants --jobs 2 "${options[@]}" "${files[@]}" "$@" || status=$?
# 0: all caught; 2: some missed; 3: some timed out: a summary either way.
mkdir -p docs/mutants
{
    echo "cargo mutants ${options[*]} $* ($(date -u +%F), cargo-mutants $VERSION)"
    for outcome in caught missed timeout unviable; do
        echo "$outcome: $(wc -l <"$out/mutants.out/$outcome.txt" 2>/dev/null || echo 0)"
    done
    echo
    echo "missed:"
    cat "$out/mutants.out/missed.txt" 2>/dev/null || true
} >"docs/mutants/$name.txt"
echo "mutants: summary in docs/mutants/$name.txt" >&2
exit $status
