#!/usr/bin/env python3
"""`make lint`: every repository path that a comment, a doc or a message
names (`src/redis/keys.rs`, `tests/topology.py`, `docs/mutants/...`) exists,
so no comment points at a file that was moved or deleted.

    python3 scripts/check-paths.py        # exit 1, listing each stale path

Read: the sources and docs that git tracks (not generated output). A path is
a run starting with one of the top-level folders below and ending in a file
extension; `<...>`, `*`, `{...}`, `NAME` and a leading `!` mark a pattern,
not a path, and are skipped. docs/mutants' run records are left as written.
"""

import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ROOTS = ("src", "www", "pkg-template", "python", "tests", "scripts", "benches", "docs", "examples", "fuzz")
EXTENSIONS = ("rs", "lua", "ts", "js", "mjs", "cjs", "py", "pyi", "md", "sh", "json", "jsonl", "html", "css", "toml", "txt")
PATH = re.compile(
    r"(?<![\w./-])((?:%s)/[\w./-]*?\.(?:%s))(?![\w/])" % ("|".join(ROOTS), "|".join(EXTENSIONS))
)


def main() -> int:
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True, check=True).stdout.split()
    stale = []
    for name in tracked:
        path = REPO / name
        if path.suffix.lstrip(".") not in EXTENSIONS + ("yml", "cfg") and path.name not in ("Makefile", "run"):
            continue
        # Goldens and data are not prose; docs/mutants/*.txt record past runs,
        # which name the files as they were then.
        if name.startswith(("tests/golden/", "tests/vectors/", "tests/reference/data")) or name.endswith(".jsonl"):
            continue
        if name.startswith("docs/mutants/") and name.endswith(".txt"):
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            for match in PATH.finditer(line):
                named = match.group(1).rstrip(".")
                # A pattern (`tests/golden/NAME.input.json`, a `!` exclusion
                # of a glob), not a path.
                if any(mark in named for mark in ("<", "*", "{", "NAME")) or line[: match.start()].endswith("!"):
                    continue
                # Relative to the repository, to the file's own folder, or to
                # python/ (the Python package's own paths: `tests/...`).
                if not any(base.joinpath(named).exists() for base in (REPO, path.parent, REPO / "python")):
                    stale.append(f"{name}:{number}: {named}")
    for entry in stale:
        print(f"check-paths: no such file: {entry}", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
