"""The referee's own checks: the checked-in corpus is what the reference
says today, the generated JSON Schema accepts every canonical envelope the
reference accepts, and the mappers hit every SPEC reason."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import jsonschema
import pytest

import crowd_reference as ref
import gen_vectors

ROOT = Path(__file__).resolve().parents[2]
CLI = Path(os.environ.get("CROWD_ENVELOPE_BIN", ROOT / "target" / "debug" / "crowd-envelope"))


def corpus() -> list[dict]:
    return [json.loads(line) for line in gen_vectors.OUT.read_text().splitlines()]


def test_checked_in_corpus_matches_the_reference(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gen_vectors, "vectors", [])
    for part in (gen_vectors.valid_envelopes, gen_vectors.decision_sweep, gen_vectors.bounds,
                 gen_vectors.lax_numbers, gen_vectors.datetimes, gen_vectors.envelope_rules,
                 gen_vectors.broken_json, gen_vectors.sizes_and_bytes):
        part()
    fresh = [json.loads(json.dumps(v)) for v in gen_vectors.vectors]
    assert fresh == corpus(), "tests/vectors/corpus.jsonl is stale: run `make vectors`"


def test_schema_accepts_every_canonical_envelope() -> None:
    schema = json.loads(subprocess.run([str(CLI), "schema"], capture_output=True, check=True).stdout)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    accepted = [v["expect"]["envelope"] for v in corpus() if v["expect"]["ok"] and not v["expect"]["volatile"]]
    assert len(accepted) > 150
    for envelope in accepted:
        validator.validate(envelope)
    wrong_kind = dict(accepted[0], decision_kind="oddsoddy_multiplier")
    assert not validator.is_valid(wrong_kind)


def test_mappers_reach_every_reason() -> None:
    reasons = {
        v["expect"]["envelope"]["decision"]["reason"]
        for v in corpus()
        if v["expect"]["ok"] and v["expect"]["verify"]
    }
    assert reasons >= {
        "low_confidence", "crowd_bullish", "crowd_bearish", "crowd_split", "no_clear_direction",
        "no_market_price", "edge_below_threshold", "crowd_above_market", "crowd_below_market",
        "value_bet", "negative_value", "neutral",
    }


def test_rejections_carry_paths() -> None:
    outcome = ref.outcome('{"prediction": {"crowd": {"agents": 0}}}')
    assert outcome["reason"] == "invalid"
    assert "prediction.crowd.agents" in outcome["paths"]
    assert "decision" in outcome["paths"]
