"""Differential tests: the Rust decoder (through the CLI) against the reference.

Hypothesis generates mutated envelopes in batches; each batch goes through
``crowd-envelope decode --lines`` in one process, and every line must agree
with the reference on accept/reject, reason, failing paths and values. A
second test builds random predictions with ``crowd-envelope build --lines``
and checks every decision bit for bit against the reference mappers.

Seeded (``DIFF_SEED``, default 20261126) so a run is reproducible; the
number of cases is ``DIFF_BATCHES`` x ``BATCH`` (default 60 x 100 = 6,000).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

import crowd_reference as ref
from gen_vectors import DATETIMES, PREDICTIONS, envelope_for

ROOT = Path(__file__).resolve().parents[2]
CLI = Path(os.environ.get("CROWD_ENVELOPE_BIN", ROOT / "target" / "debug" / "crowd-envelope"))
SEED = int(os.environ.get("DIFF_SEED", "20261126"))
BATCHES = int(os.environ.get("DIFF_BATCHES", "60"))
BATCH = 100
SETTINGS = settings(
    max_examples=BATCHES,
    deadline=None,
    derandomize=False,
    # A failing batch is reported whole; shrinking 100 payloads takes too long.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
    database=None,
)

PREDICTION_FIELDS = list(PREDICTIONS["fomo2_report"].keys())
DECISION_FIELDS = ["action", "strength", "reason", "side", "edge", "price", "stake_fraction", "multiplier"]
ENVELOPE_FIELDS = ["schema_version", "arena", "prediction", "decision", "decision_kind", "published_at", "correlation_id", "meta"]

# Values that exercise lax coercion, bounds and wrong types in any field.
odd_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=3),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.floats(min_value=-0.1, max_value=1.1),
    st.sampled_from([0.0, -0.0, 1.0, 0.5, 0.05, 0.25, 2.0, 1e-300, 5e-324, 0.9999999999999999, 1.0000000000000002]),
    st.sampled_from(["0.62", " 0.5 ", "1_0", "_1", "1__0", "+.5", "5.", "inf", "nan", "1e400", "120.0", "120.5", "1e2", "0x1", "", " ", "\u00a0", "\u001c", "١"]),
    st.sampled_from(DATETIMES),
    st.sampled_from(["buy", "sell", "hold", "yes", "no", "abstain", "fomo2_report", "polymarket_bet", "oddsoddy_strategy", "fomo2_signal", "polymarket_side", "oddsoddy_multiplier", "1", "2", "crowd_simulation"]),
    st.text(max_size=8),
    st.lists(st.text(max_size=3), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@st.composite
def floats_for_decisions(draw: Any) -> float:
    """Probabilities near every threshold, and anywhere in [0, 1]."""
    return draw(
        st.one_of(
            st.floats(min_value=0.0, max_value=1.0),
            st.sampled_from([0.0, 0.4, 0.5, 0.6, 1.0, 0.45, 0.55, 0.35, 0.65]).flatmap(
                lambda x: st.sampled_from([x, x + 1e-16, x - 1e-16, x + 0.05, x - 0.05])
            ).map(lambda x: min(1.0, max(0.0, x))),
        )
    )


@st.composite
def predictions(draw: Any) -> dict[str, Any]:
    kind = draw(st.sampled_from(list(PREDICTIONS)))
    prediction = dict(PREDICTIONS[kind])
    prediction["probability"] = draw(floats_for_decisions())
    prediction["confidence"] = draw(floats_for_decisions())
    prediction["market_probability"] = draw(
        st.one_of(st.none(), st.floats(min_value=1e-9, max_value=1 - 1e-9), st.sampled_from([0.01, 0.5, 0.99]))
    )
    bullish = draw(st.integers(0, 50))
    bearish = draw(st.integers(0, 50))
    neutral = draw(st.integers(0, 5))
    prediction["crowd"] = {"agents": max(1, bullish + bearish + neutral), "bullish": bullish, "bearish": bearish, "neutral": neutral + (bullish + bearish + neutral == 0)}
    return prediction


@st.composite
def mutated_envelopes(draw: Any) -> str:
    body = envelope_for(draw(predictions()))
    for _ in range(draw(st.integers(0, 3))):
        where = draw(st.sampled_from(["envelope", "prediction", "crowd", "decision", "drop", "extra"]))
        if where == "envelope":
            body[draw(st.sampled_from(ENVELOPE_FIELDS))] = draw(odd_values)
        elif where == "prediction" and isinstance(body.get("prediction"), dict):
            body["prediction"][draw(st.sampled_from(PREDICTION_FIELDS))] = draw(odd_values)
        elif where == "crowd" and isinstance(body.get("prediction"), dict) and isinstance(body["prediction"].get("crowd"), dict):
            body["prediction"]["crowd"][draw(st.sampled_from(["agents", "bullish", "bearish", "neutral"]))] = draw(odd_values)
        elif where == "decision" and isinstance(body.get("decision"), dict):
            body["decision"][draw(st.sampled_from(DECISION_FIELDS))] = draw(odd_values)
        elif where == "drop":
            target = draw(st.sampled_from(["envelope", "prediction"]))
            container = body if target == "envelope" else body.get("prediction")
            if isinstance(container, dict) and container:
                container.pop(draw(st.sampled_from(sorted(container))), None)
        else:
            body[draw(st.text(min_size=1, max_size=5))] = draw(odd_values)
    text = json.dumps(body, separators=(",", ":"), ensure_ascii=draw(st.booleans()))
    if draw(st.integers(0, 9)) == 0:  # Occasionally break the JSON itself.
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.sampled_from(["", ",", "}", "NaN", "\\ud800", '"', "\t"])) + text[cut:]
    return text


def run_cli(args: list[str], lines: list[str]) -> list[dict[str, Any]]:
    stdin = "".join(line + "\n" for line in lines).encode("utf-8", "surrogatepass")
    done = subprocess.run([str(CLI), *args, "--lines"], input=stdin, capture_output=True, check=False)
    assert done.returncode in (0, 1), done.stderr.decode()
    outputs = [json.loads(line) for line in done.stdout.decode().splitlines()]
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


def assert_agrees(payload: str, rust: dict[str, Any]) -> None:
    expected = ref.outcome(payload)
    assert rust["ok"] == expected["ok"], f"accept/reject differs on {payload!r}: rust={rust} ref={expected}"
    if expected["ok"]:
        ours = strip_volatile(rust["envelope"], payload)
        theirs = strip_volatile(expected["envelope"], payload)
        assert ref.same(ours, theirs), f"values differ on {payload!r}:\n rust={ours}\n ref ={theirs}"
    else:
        assert rust["reason"] == expected["reason"], f"reason differs on {payload!r}: {rust} vs {expected}"
        paths = sorted({e["path"] for e in rust["errors"]})
        assert paths == expected["paths"], f"paths differ on {payload!r}: {rust['errors']} vs {expected['paths']}"


@seed(SEED)
@SETTINGS
@given(st.lists(mutated_envelopes(), min_size=BATCH, max_size=BATCH))
def test_decoder_agrees_with_reference(payloads: list[str]) -> None:
    # Payloads with raw newlines cannot travel as JSON Lines.
    payloads = [p for p in payloads if "\n" not in p and "\r" not in p]
    failures = []
    for payload, rust in zip(payloads, run_cli(["decode"], payloads)):
        try:
            assert_agrees(payload, rust)
        except AssertionError as exc:
            failures.append(str(exc))
    assert not failures, f"{len(failures)} disagreements, first ones:\n" + "\n".join(failures[:5])


@seed(SEED + 1)
@SETTINGS
@given(st.lists(predictions(), min_size=BATCH, max_size=BATCH))
def test_built_decisions_are_bit_identical(batch: list[dict[str, Any]]) -> None:
    lines = [json.dumps(p) for p in batch]
    for line, rust in zip(lines, run_cli(["build"], lines)):
        assert rust["ok"], rust
        expected_kind, expected = ref.decide(ref.CrowdPrediction.model_validate_json(line))
        assert rust["envelope"]["decision_kind"] == expected_kind
        assert ref.same(rust["envelope"]["decision"], expected), f"{line}: {rust['envelope']['decision']} vs {expected}"
