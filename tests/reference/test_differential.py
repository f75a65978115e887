"""Differential tests: the Rust decoder (through the CLI) against the reference.

``payloads.Generator`` makes ``DIFF_PAYLOADS`` payloads (default 20,000;
``make parity`` runs 200,000) from ``DIFF_SEED``; they go through
``crowd-envelope decode --lines --verify`` in batches, and every line must
agree with the reference on accept or reject, the reason, the set of
``(path, code)`` pairs and the decoded values. The accepted payloads, with
native's encoding and decision check, are written to
``target/parity/accepted.jsonl``: the npm package's tests hold its own
round trip and ``verifyDecision`` to them byte for byte. A second test
builds random predictions with ``crowd-envelope build --lines`` and checks
every decision bit for bit against the reference mappers.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import crowd_reference as ref
from payloads import Generator

ROOT = Path(__file__).resolve().parents[2]
CLI = Path(os.environ.get("CROWD_ENVELOPE_BIN", ROOT / "target" / "debug" / "crowd-envelope"))
SEED = int(os.environ.get("DIFF_SEED", "20261127"))
PAYLOADS = int(os.environ.get("DIFF_PAYLOADS", "20000"))
BATCH = 2000
ACCEPTED = ROOT / "target" / "parity" / "accepted.jsonl"
ENVELOPE_KEY = '"envelope":'


def run_cli(args: list[str], lines: list[str]) -> list[str]:
    stdin = "".join(line + "\n" for line in lines).encode("utf-8", "surrogatepass")
    done = subprocess.run([str(CLI), *args, "--lines"], input=stdin, capture_output=True, check=False)
    assert done.returncode in (0, 1), done.stderr.decode()
    outputs = done.stdout.decode().split("\n")[:-1]  # not splitlines: U+2028 and \x1c are data
    assert len(outputs) == len(lines), "one output line per input line"
    return outputs


def strip_volatile(envelope: dict[str, Any], payload: str) -> dict[str, Any]:
    try:
        head = json.loads(payload)
    except ValueError:
        head = {}
    kept = dict(envelope)
    for key in ("published_at", "correlation_id"):
        if not isinstance(head, dict) or key not in head:
            kept.pop(key, None)
    return kept


def volatile(payload: str) -> bool:
    """Whether the envelope takes a default from the clock or randomness."""
    head = json.loads(payload)
    return not {"published_at", "correlation_id"} <= head.keys()


def disagreement(payload: str, rust: dict[str, Any]) -> str | None:
    expected = ref.outcome(payload)
    if rust["ok"] != expected["ok"]:
        return f"accept/reject differs on {payload!r}: rust={rust} ref={expected}"
    if expected["ok"]:
        ours = strip_volatile(rust["envelope"], payload)
        theirs = strip_volatile(expected["envelope"], payload)
        if not ref.same(ours, theirs):
            return f"values differ on {payload!r}:\n rust={ours}\n ref ={theirs}"
        return None
    if rust["reason"] != expected["reason"]:
        return f"reason differs on {payload!r}: {rust} vs {expected}"
    errors = ref.error_set([(e["path"], e["code"]) for e in rust["errors"]])
    if errors != expected["errors"]:
        return f"errors differ on {payload!r}:\n rust={rust['errors']}\n ref ={expected['errors']}"
    return None


def test_decoder_agrees_with_reference() -> None:
    generator = Generator(SEED)
    failures: list[str] = []
    accepted = rejected = 0
    codes: set[str] = set()
    ACCEPTED.parent.mkdir(parents=True, exist_ok=True)
    with ACCEPTED.open("w", encoding="utf-8") as out:
        for start in range(0, PAYLOADS, BATCH):
            batch = list(generator.payloads(min(BATCH, PAYLOADS - start)))
            for payload, line in zip(batch, run_cli(["decode", "--verify"], batch)):
                rust = json.loads(line)
                problem = disagreement(payload, rust)
                if problem:
                    failures.append(problem)
                elif rust["ok"]:
                    accepted += 1
                    if volatile(payload):
                        continue
                    # The envelope's bytes exactly as native wrote them ("verify" comes first).
                    encoded = line[line.index(ENVELOPE_KEY) + len(ENVELOPE_KEY) : -1]
                    record = {"payload": payload, "encoded": encoded, "verify": rust["verify"]}
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
                else:
                    rejected += 1
                    codes.update(e["code"] for e in rust["errors"])
            print(f"differential: {start + len(batch)}/{PAYLOADS} payloads, {len(failures)} disagreements", file=sys.stderr)
    assert not failures, f"{len(failures)} disagreements, first ones:\n" + "\n".join(failures[:5])
    # The generator must reach both verdicts and the codes that need care.
    assert accepted > PAYLOADS // 10 and rejected > PAYLOADS // 10, (accepted, rejected)
    if PAYLOADS >= 20000:
        assert codes >= {
            "int_parsing_size", "datetime_out_of_range", "crowd_sum_mismatch", "blank_string", "json_invalid",
            "string_too_long", "datetime_from_date_parsing", "datetime_parsing", "finite_number", "literal_error",
        }, sorted(codes)


def test_built_decisions_are_bit_identical() -> None:
    generator = Generator(SEED + 1)
    batch = [generator.prediction() for _ in range(max(PAYLOADS // 4, 1000))]
    lines = [json.dumps(p) for p in batch]
    for line, output in zip(lines, run_cli(["build"], lines)):
        rust = json.loads(output)
        assert rust["ok"], rust
        expected_kind, expected = ref.decide(ref.CrowdPrediction.model_validate_json(line))
        assert rust["envelope"]["decision_kind"] == expected_kind
        assert ref.same(rust["envelope"]["decision"], expected), f"{line}: {rust['envelope']['decision']} vs {expected}"
