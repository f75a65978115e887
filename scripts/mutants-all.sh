#!/usr/bin/env bash
# `make mutants`: mutation testing of every language we ship, one area after
# another (many hours on 2 cores; each area has its own make target), then
# caught and missed per area from each area's summary in docs/mutants/.
# Exit 1 when an area is below 90 % caught (timeouts count as caught) or has
# no summary. Areas to run can be named: scripts/mutants-all.sh npm python
set -uo pipefail
cd "$(dirname "$0")/.."
areas=("$@")
[ ${#areas[@]} -gt 0 ] || areas=(core cli lua npm dashboard python)
for area in "${areas[@]}"; do
    echo "mutants: $area" >&2
    case "$area" in
        core) scripts/mutants.sh ;;
        cli) scripts/mutants.sh cli ;;
        lua) scripts/ensure.sh native-deps redis && scripts/mutants-lua.py ;;
        npm | dashboard) scripts/mutants-js.sh "$area" ;;
        python) scripts/mutants-python.sh ;;
        *) echo "mutants: no area $area (core cli lua npm dashboard python)" >&2; exit 2 ;;
    esac
done
python3 - <<'PY'
import pathlib, re, sys
summaries = {"core": "all.txt", "cli": "cli.txt", "lua": "lua.txt", "npm": "npm.txt",
             "dashboard": "dashboard.txt", "python": "python.txt"}
print("| area | summary | caught | viable | % |\n|---|---|---:|---:|---:|")
status = 0
for area, name in summaries.items():
    path = pathlib.Path("docs/mutants") / name
    if not path.exists():
        print(f"| {area} | (not run) | | | |")
        status = 1
        continue
    text = path.read_text()
    count = lambda label: int((re.search(rf"^{label}: (\d+)", text, re.M) or [0, 0])[1])
    if m := re.search(r"caught: (\d+) of (\d+) viable", text):
        caught, viable = int(m[1]), int(m[2])
    elif m := re.search(r"mutants: (\d+), caught: (\d+), timeout \(caught\): (\d+), missed: (\d+)", text):
        caught, viable = int(m[2]) + int(m[3]), int(m[2]) + int(m[3]) + int(m[4])
    else:
        caught = count("caught") + count("timeout")
        viable = caught + count("missed")
    percent = 100 * caught / max(viable, 1)
    status |= percent < 90
    print(f"| {area} | {path} ({text.splitlines()[0]}) | {caught} | {viable} | {percent:.1f} |")
sys.exit(status)
PY
