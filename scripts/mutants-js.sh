#!/usr/bin/env bash
# `make mutants-npm` / `make mutants-dashboard`: StrykerJS over the npm
# wrapper (pkg-template/src) or the dashboard (www/), configured in
# tests/mutants/stryker-<area>.json. Each group of sources below is held to
# the Node or Chromium test files that cover it (tests/mutants/test.sh), so
# a mutant does not wait for tests that cannot see it. Summary, with every
# survivor, in docs/mutants/<area>.txt; survivors are killed by a test or
# explained in docs/mutants/EQUIVALENT.md. Extra arguments go to Stryker.
set -euo pipefail
cd "$(dirname "$0")/.."
area="${1:?usage: scripts/mutants-js.sh npm|dashboard [stryker arguments]}"
shift
case "$area" in
    # sources (comma-separated, as Stryker's --mutate takes them) | the test
    # files that exercise them
    npm) p=pkg-template/src
         groups=("$p/api.ts,$p/tape.ts,$p/binding.ts,$p/standard-schema.ts,$p/index.ts|package native limits parity require"
                 "$p/redis.ts,$p/entry.ts,$p/transport.ts,$p/group.ts|redis group package") ;;
    dashboard) groups=("$(printf "%s," www/app.js www/js/*.js | sed "s/,$//")|dashboard dashboard-a11y") ;;
    *) echo "mutants: no area $area (npm, dashboard)" >&2; exit 2 ;;
esac
make --no-print-directory build pkg target/parity/accepted.jsonl >&2
scripts/ensure.sh node-modules redis chromium
export CROWD_MUTANTS_REPO="$PWD"
mkdir -p target/mutants docs/mutants
status=0
reports=()
for i in "${!groups[@]}"; do
    sources="${groups[$i]%%|*}"
    # MUTANTS_JS_MUTATE narrows a run to line ranges of one source file
    # (Stryker's `file:start-end`, comma-separated), e.g.
    # www/js/groups.js:10-40,www/js/export.js:30-36; only its group runs.
    if [ -n "${MUTANTS_JS_MUTATE:-}" ]; then
        case ",$sources," in
            *",${MUTANTS_JS_MUTATE%%:*},"*) sources="$MUTANTS_JS_MUTATE" ;;
            *) continue ;;
        esac
    fi
    export CROWD_MUTANTS_TESTS="${groups[$i]#*|}"
    report="target/mutants/$area-$i.json"
    echo "mutants: $sources against tests/npm/{${CROWD_MUTANTS_TESTS// /,}}" >&2
    node_modules/.bin/stryker run "tests/mutants/stryker-$area.json" --mutate "$sources" "$@" || status=$?
    mv "target/mutants/$area.json" "$report"
    reports+=("$report")
done
node scripts/mutants-summary.mjs "stryker $area $*" "${reports[@]}" >"docs/mutants/$area.txt"
head -8 "docs/mutants/$area.txt" >&2
exit $status
