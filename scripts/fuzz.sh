#!/usr/bin/env bash
# `make fuzz`: a million payloads through the decoder's differential test,
# then each fuzz target for FUZZ_SECONDS (default 300) with
# libFuzzer, which prints its progress; targets from FUZZ_TARGETS (default
# all). A crash is copied to fuzz/regressions/<target>/ (where
# tests/fuzz_regressions.rs replays it in `make test`) and fails the run.
# Figures go to target/fuzz/<target>.json and, for the whole run, to
# docs/fuzz-stats.json (executions, coverage, corpus size).
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${FUZZ_SECONDS:-300}
TARGETS=${FUZZ_TARGETS:-decode datetime roundtrip}
mkdir -p target/fuzz

if ! rustup toolchain list | grep -q '^nightly'; then
    echo "fuzz: needs the nightly toolchain: rustup toolchain install nightly" >&2
    exit 2
fi
command -v cargo-fuzz >/dev/null || cargo install --quiet cargo-fuzz --version 0.13.2

seed() { # target: the corpus starts from the regressions and, for decode, the parity corpus
    local corpus="fuzz/corpus/$1"
    mkdir -p "$corpus"
    cp -n fuzz/regressions/"$1"/* "$corpus"/ 2>/dev/null || true
    if [ "$1" = decode ] && [ -z "$(ls -A "$corpus" | head -50 | sed -n 50p)" ]; then
        python3 scripts/fuzz-seed.py "$corpus"
    fi
}

# stat_of NAME LOG: a `-print_final_stats` figure; field_of KEY LINE: "KEY: N".
stat_of() { grep -oE "stat::$1: *[0-9]+" "$2" | grep -oE '[0-9]+$' | tail -1; }
field_of() { grep -oE "$1: [0-9]+" <<<"$2" | grep -oE '[0-9]+$' | head -1; }

# The decoder's paths against each other (src/differential.rs) at full size
# first: a million mutated payloads, a new seed each run unless
# CROWD_DIFF_SEED is set.
diff_seed=${CROWD_DIFF_SEED:-$RANDOM$RANDOM}
echo "fuzz: differential, ${CROWD_DIFF_CASES:-1000000} payloads, seed $diff_seed" >&2
CROWD_DIFF_CASES=${CROWD_DIFF_CASES:-1000000} CROWD_DIFF_SEED=$diff_seed \
    cargo test --quiet --release --all-features --lib differential -- --nocapture

status=0
for target in $TARGETS; do
    seed "$target"
    echo "fuzz: $target for ${SECONDS_EACH}s" >&2
    log="target/fuzz/$target.log"
    started=$(date +%s)
    cargo +nightly fuzz run --fuzz-dir fuzz "$target" "fuzz/corpus/$target" -- \
        -max_total_time="$SECONDS_EACH" -print_final_stats=1 -max_len=65536 >"$log" 2>&1 &
    pid=$!
    tick=0
    while kill -0 "$pid" 2>/dev/null; do
        sleep 1
        tick=$((tick + 1))
        if [ $((tick % 30)) = 0 ]; then
            echo "fuzz: $target, ${tick}s: $(grep -E '^#[0-9]+' "$log" | tail -1 | cut -c1-90)" >&2
        fi
    done
    if wait "$pid"; then
        outcome=ok
    else
        outcome=crash
        status=1
        tail -30 "$log" >&2
        for crash in fuzz/artifacts/"$target"/*; do
            [ -f "$crash" ] && cp "$crash" fuzz/regressions/"$target"/ && echo "fuzz: kept $crash as a regression test" >&2
        done
    fi
    runs=$(stat_of number_of_executed_units "$log")
    # libFuzzer's last status line: "#N DONE cov: C ft: F corp: U/SIZE ...".
    last=$(grep -E '^#[0-9]+' "$log" | tail -1)
    cov=$(field_of cov "$last")
    features=$(field_of ft "$last")
    corpus=$(sed -nE 's/.* corp: ([0-9]+)\/.*/\1/p' <<<"$last")
    printf '{"target":"%s","seconds":%d,"runs":%s,"coverage_edges":%s,"features":%s,"corpus_units":%s,"outcome":"%s","mode":"one target after another","finished":"%s"}\n' \
        "$target" $(( $(date +%s) - started )) "${runs:-0}" "${cov:-null}" "${features:-null}" "${corpus:-null}" \
        "$outcome" "$(date -u +%FT%TZ)" >"target/fuzz/$target.json"
    echo "fuzz: $target: $outcome, ${runs:-0} runs, coverage ${cov:-?} edges, corpus ${corpus:-?}" >&2
done
# The figures of this run, kept with the code: the bench report and
# SECURITY.md quote them.
{
    echo "["
    separator=""
    for target in $TARGETS; do
        printf '%s  %s' "$separator" "$(cat "target/fuzz/$target.json")"
        separator=$',\n'
    done
    printf '\n]\n'
} >docs/fuzz-stats.json
echo "fuzz: figures in docs/fuzz-stats.json" >&2
exit $status
