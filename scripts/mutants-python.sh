#!/usr/bin/env bash
# `make mutants-python`: mutmut over the Python package's own Python
# (python/crowd_envelope/*.py; the codec under it is the Rust crate, which
# cargo-mutants covers). mutmut mutates a copy of a source folder beside its
# tests, so the run happens in target/mutmut/: the package's .py files with
# the compiled _native module of the installed wheel, python/tests, and the
# configuration below. Summary, with every survivor, in
# docs/mutants/python.txt; survivors are killed by a test or explained in
# docs/mutants/EQUIVALENT.md. Arguments go to `mutmut run` (mutant names).
set -euo pipefail
cd "$(dirname "$0")/.."
make --no-print-directory python-package >&2
scripts/ensure.sh redis
.venv/bin/pip install --quiet --disable-pip-version-check -r tests/mutants/requirements.txt
work=target/mutmut
rm -rf "$work"
mkdir -p "$work"
cp -r python/crowd_envelope python/tests "$work/"
installed=$(.venv/bin/python -c 'import crowd_envelope, os; print(os.path.dirname(crowd_envelope.__file__))')
cp "$installed"/_native*.so "$work/crowd_envelope/"
# test_reference_parity.py is the differential over the Rust core (20,000
# payloads per run): it sees no line of the package's Python that the two
# files below do not.
cat >"$work/pyproject.toml" <<'TOML'
[tool.mutmut]
source_paths = ["crowd_envelope"]
pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "--timeout=120"]
pytest_add_cli_args_test_selection = ["tests/test_package.py", "tests/test_redis.py"]
TOML
export CROWD_REPO="$PWD"
cd "$work"
status=0
../../.venv/bin/mutmut run --max-children 2 "$@" || status=$?
../../.venv/bin/mutmut results --all true >results.txt || status=$?
cd ../..
mkdir -p docs/mutants
python3 - "$work/results.txt" >docs/mutants/python.txt <<'PY'
import collections, datetime, pathlib, subprocess, sys
results = pathlib.Path(sys.argv[1])
rows = [line.strip().rsplit(": ", 1) for line in results.open() if ": " in line]
counts = collections.Counter(status for _, status in rows)
caught = counts["killed"] + counts["timeout"]
viable = sum(n for status, n in counts.items() if status not in ("skipped", "not checked"))
print(f"mutmut python/crowd_envelope ({datetime.date.today()})")
print(f"caught: {caught} of {viable} viable ({100 * caught // max(viable, 1)} %)")
print(", ".join(f"{status}: {n}" for status, n in sorted(counts.items())))
print("\nsurvived (names as `mutmut show NAME` takes them, in target/mutmut):")
for name, status in rows:
    if status not in ("killed", "timeout"):
        shown = subprocess.run(["../../.venv/bin/mutmut", "show", name], cwd=results.parent,
                               capture_output=True, text=True).stdout.splitlines()
        change = [line for line in shown if line[:1] in "-+" and line[:3] not in ("---", "+++")]
        print(f"{name}: {status}")
        print("".join(f"    {line.strip()}\n" for line in change), end="")
PY
head -3 docs/mutants/python.txt >&2
exit $status
