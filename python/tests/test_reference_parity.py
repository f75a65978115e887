"""The Python package in process against the reference model (the Pydantic
module's rules, tests/reference/) on the seeded differential payloads:
accept or reject, the reason, the (path, code) pairs and the values."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import crowd_envelope as ce

REFERENCE = Path(__file__).resolve().parents[2] / "tests" / "reference"
sys.path.insert(0, str(REFERENCE))

from payloads import Generator  # noqa: E402
from test_differential import disagreement  # noqa: E402

SEED = int(os.environ.get("DIFF_SEED", "20261128"))
PAYLOADS = int(os.environ.get("DIFF_PAYLOADS", "20000"))


def outcome(payload: str) -> dict[str, Any]:
    """What the package makes of a payload, in the CLI's shape. The payload
    goes in as bytes, lone surrogates included, as a service reading them
    off a socket would hand them over."""
    try:
        envelope = ce.try_decode_envelope(payload.encode("utf-8", "surrogatepass"))
    except ce.DecodeError as error:
        return {"ok": False, "reason": error.reason, "errors": error.errors}
    return {"ok": True, "envelope": envelope.to_dict()}


def test_the_package_agrees_with_the_reference_in_process() -> None:
    failures = []
    accepted = 0
    for payload in Generator(SEED).payloads(PAYLOADS):
        result = outcome(payload)
        accepted += result["ok"]
        problem = disagreement(payload, result)
        if problem:
            failures.append(problem)
    assert not failures, f"{len(failures)} disagreements, first ones:\n" + "\n".join(failures[:5])
    assert PAYLOADS // 10 < accepted < PAYLOADS - PAYLOADS // 10
