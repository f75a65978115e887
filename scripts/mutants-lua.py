#!/usr/bin/env python3
"""`make mutants-lua`: mutation testing of the transport's Lua scripts
(src/redis/**/*.lua), which Lua has no standard tool for.

Each mutant changes one thing on one line: a comparison (`==`/`~=`, `<`/`<=`,
`>`/`>=`), `and`/`or`, a dropped `not`, an `if` whose condition is made
always false or always true, `+`/`-`, a KEYS or ARGV index moved to its
neighbour, a returned number changed. It is tried in a scratch worktree of
HEAD (target/mutants-lua/tree, its own target directory) against the Rust
tests that run the scripts on a real redis-server, with a timeout; a mutant
is caught when a test fails or times out.

    scripts/mutants-lua.py [--list] [--file group/settle.lua] [--timeout 600]

Progress goes to stderr; the summary (caught, missed, timed out, by file, and
each survivor) under docs/mutants/ (lua.txt, or lua-group_settle.lua.txt for
`--file group/settle.lua`). Survivors are killed by a new test or
explained in docs/mutants/EQUIVALENT-lua.md. Exit 0 when every mutant was
caught, 2 when some were missed.
"""

from __future__ import annotations

import argparse
import datetime
import os
import pathlib
import re
import subprocess
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[1]
WORK = REPO / "target" / "mutants-lua"
TREE = WORK / "tree"

# The tests that run each script, by how the script is used.
GROUP_TESTS = ["redis", "group_races", "group_gaps", "group_batches", "settle_script", "create_script", "claim_script", "oversized"]
READ_TESTS = ["redis", "oversized", "under_attack"]


def tests_for(script: str) -> list[str]:
    return GROUP_TESTS if script.startswith("group/") else READ_TESTS


# (name, pattern, replacement): each match is one mutant.
RULES: list[tuple[str, str, str]] = [
    ("== -> ~=", r"==", "~="),
    ("~= -> ==", r"~=", "=="),
    ("<= -> <", r"<=", "<"),
    ("< -> <=", r"<(?![=<])", "<="),
    (">= -> >", r">=", ">"),
    ("> -> >=", r"(?<![-=])>(?![=>])", ">="),
    ("and -> or", r"\band\b", "or"),
    ("or -> and", r"\bor\b", "and"),
    ("drop not", r"\bnot\s+", ""),
    ("+ -> -", r"(?<=\s)\+(?=\s)", "-"),
    ("- -> +", r"(?<=\s)-(?=\s)", "+"),
    ("return n -> n + 1", r"(?<=return )(-?\d+)\b", None),
]


def if_mutants(line: str):
    """`if COND then` with COND made `false`, then `true`."""
    match = re.search(r"\bif\s+(.+?)\s+then\b", line)
    if match:
        for value in ("false", "true"):
            yield (f"if -> {value}", line[: match.start(1)] + value + line[match.end(1) :])


def index_mutants(line: str):
    """KEYS[n] and ARGV[n] moved to the next index."""
    for match in re.finditer(r"\b(KEYS|ARGV)\[(\d+)\]", line):
        n = int(match.group(2))
        yield (f"{match.group(1)}[{n}] -> [{n + 1}]", line[: match.start(2)] + str(n + 1) + line[match.end(2) :])


def mutants(text: str):
    """(line number, rule, mutated line) for every mutant of `text`."""
    for number, line in enumerate(text.split("\n"), start=1):
        code = line.split("--", 1)[0] if not line.lstrip().startswith("--") else ""
        if not code.strip():
            continue
        rest = line[len(code) :]
        for name, pattern, replacement in RULES:
            for match in re.finditer(pattern, code):
                new = str(int(match.group(1)) + 1) if replacement is None else replacement
                yield number, name, code[: match.start()] + new + code[match.end() :] + rest
        for name, mutated in [*if_mutants(code), *index_mutants(code)]:
            yield number, name, mutated + rest


def run(cmd: list[str], timeout: float, **kw) -> tuple[str, str]:
    """'pass', 'fail' or 'timeout', and the output's tail."""
    try:
        out = subprocess.run(cmd, cwd=TREE, capture_output=True, text=True, timeout=timeout, **kw)
    except subprocess.TimeoutExpired:
        return "timeout", ""
    tail = (out.stdout + out.stderr)[-2000:]
    return ("pass" if out.returncode == 0 else "fail"), tail


def test_command(script: str) -> list[str]:
    cmd = ["cargo", "test", "--quiet", "--features", "cli,redis"]
    for name in tests_for(script):
        cmd += ["--test", name]
    return cmd


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--list", action="store_true", help="list the mutants and stop")
    parser.add_argument("--file", help="one script, as under src/redis/ (group/settle.lua)")
    parser.add_argument("--timeout", type=float, default=600, help="seconds a mutant's tests may take")
    args = parser.parse_args()

    scripts = sorted(p.relative_to(REPO / "src/redis").as_posix() for p in (REPO / "src/redis").rglob("*.lua"))
    if args.file:
        scripts = [s for s in scripts if s == args.file]
        if not scripts:
            parser.error(f"no script {args.file} under src/redis")
    plan = [(s, *m) for s in scripts for m in mutants((REPO / "src/redis" / s).read_text())]
    if args.list:
        for script, number, rule, line in plan:
            print(f"{script}:{number}: {rule}: {line.strip()}")
        return 0

    log = lambda message: print(f"mutants-lua: {message}", file=sys.stderr, flush=True)  # noqa: E731
    if TREE.exists():
        subprocess.run(["git", "worktree", "remove", "--force", str(TREE)], cwd=REPO, check=False)
    WORK.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "worktree", "add", "--detach", "--force", str(TREE), "HEAD"], cwd=REPO, check=True,
                   capture_output=True)
    os.environ["CARGO_TARGET_DIR"] = str(WORK / "target")
    try:
        for script in scripts:
            log(f"baseline: {' '.join(test_command(script))}")
            outcome, tail = run(test_command(script), args.timeout * 2)
            if outcome != "pass":
                log(f"the tests fail without a mutant ({outcome}):\n{tail}")
                return 1
        results = []
        started = time.monotonic()
        for i, (script, number, rule, line) in enumerate(plan, start=1):
            path = TREE / "src/redis" / script
            original = path.read_text()
            lines = original.split("\n")
            lines[number - 1] = line
            path.write_text("\n".join(lines))
            try:
                outcome, _ = run(test_command(script), args.timeout)
            finally:
                path.write_text(original)
            verdict = {"fail": "caught", "timeout": "timeout", "pass": "missed"}[outcome]
            results.append((script, number, rule, line.strip(), verdict))
            elapsed = time.monotonic() - started
            log(f"{i}/{len(plan)} {verdict}: {script}:{number} {rule} ({elapsed / i:.0f} s a mutant)")
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(TREE)], cwd=REPO, check=False)

    counts: dict[str, dict[str, int]] = {}
    for script, _, _, _, verdict in results:
        counts.setdefault(script, {"caught": 0, "timeout": 0, "missed": 0})[verdict] += 1
    total = {v: sum(c[v] for c in counts.values()) for v in ("caught", "timeout", "missed")}
    viable = sum(total.values())
    caught = total["caught"] + total["timeout"]
    lines = [
        f"scripts/mutants-lua.py {' '.join(sys.argv[1:])} ({datetime.date.today()}, HEAD of that day)",
        f"mutants: {viable}, caught: {total['caught']}, timeout (caught): {total['timeout']}, "
        f"missed: {total['missed']} ({100 * caught / max(viable, 1):.1f} % caught)",
        "",
        "| script | caught | timeout | missed |",
        "|---|---:|---:|---:|",
        *[f"| {s} | {c['caught']} | {c['timeout']} | {c['missed']} |" for s, c in counts.items()],
        "",
        "missed:",
        *[f"{s}:{n}: {rule}: {line}" for s, n, rule, line, v in results if v == "missed"],
    ]
    out = REPO / "docs/mutants" / ("lua.txt" if not args.file else f"lua-{args.file.replace('/', '_')}.txt")
    out.write_text("\n".join(lines) + "\n")
    log(f"summary in {out.relative_to(REPO)}")
    return 0 if total["missed"] == 0 else 2


if __name__ == "__main__":
    sys.exit(main())
