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
    for part in gen_vectors.PARTS:
        getattr(gen_vectors, part)()
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


def test_prediction_schema_accepts_every_canonical_prediction() -> None:
    """`schema --prediction` accepts each accepted envelope's prediction."""
    schema = json.loads(subprocess.run([str(CLI), "schema", "--prediction"], capture_output=True, check=True).stdout)
    validator = jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker())
    predictions = [v["expect"]["envelope"]["prediction"] for v in corpus() if v["expect"]["ok"]]
    assert len(predictions) > 150
    for prediction in predictions:
        validator.validate(prediction)
    assert not validator.is_valid(dict(predictions[0], probability=2.0))
    assert not validator.is_valid({k: v for k, v in predictions[0].items() if k != "crowd"})


def test_decode_result_schema_describes_every_corpus_outcome() -> None:
    """`schema --result` accepts what `decode` prints, codes included."""
    schema = json.loads(subprocess.run([str(CLI), "schema", "--result"], capture_output=True, check=True).stdout)
    validator = jsonschema.Draft202012Validator(schema)
    codes = {choice["const"] for choice in schema["$defs"]["ErrorCode"]["oneOf"]}
    vectors = [v for v in corpus() if v.get("payload", "").strip() and not {"\n", "\r"} & set(v["payload"]) and "pad_to" not in v]
    lines = "".join(v["payload"] + "\n" for v in vectors).encode("utf-8", "surrogatepass")
    done = subprocess.run([str(CLI), "decode", "--lines", "--verify"], input=lines, capture_output=True, check=False)
    outputs = done.stdout.decode().split("\n")[:-1]
    assert len(outputs) == len(vectors)
    for line in outputs:
        validator.validate(json.loads(line))
    assert {e["code"] for v in vectors if not v["expect"]["ok"] for e in v["expect"]["errors"]} <= codes
    assert not validator.is_valid({"ok": False, "reason": "invalid", "errors": [{"path": "", "code": "nope", "message": ""}]})


def rust_float(x: float) -> str:
    """A float as serde_json writes it: Python's shortest repr, exponent without `+` or padding."""
    text = repr(x)
    if "e" not in text:
        return text
    mantissa, exponent = text.split("e")
    return f"{mantissa}e{int(exponent)}"


def canonical_json(value: object) -> str:
    """SPEC section 4's compact encoding of a canonical envelope dict."""
    if isinstance(value, float):
        return rust_float(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k, ensure_ascii=False)}:{canonical_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(canonical_json(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def test_golden_files_are_the_references_canonical_encoding() -> None:
    """The golden bytes come from the reference model, not only from the code's earlier output."""
    golden = ROOT / "tests" / "golden"
    names = sorted(p.name.removesuffix(".expected.json") for p in golden.glob("*.expected.json"))
    assert len(names) >= 6
    for name in names:
        source = golden / f"{name}.input.json"
        if source.exists():
            outcome = ref.outcome(source.read_bytes())
            assert outcome["ok"], (name, outcome)
            body = outcome["envelope"]
        else:
            body = ref.build(
                (golden / f"{name}.prediction.json").read_text(),
                correlation_id=f"golden-{name}",
                meta={"source": "golden", "n": [1, 2.5]},
                published_at="2026-11-26T21:17:10.000001Z",
            )
        # `meta` is kept as the producer wrote it (lexemes, escapes), which the
        # reference cannot reproduce: it is compared by value, the rest byte for byte.
        expected = (golden / f"{name}.expected.json").read_text()
        head, meta_text = expected[:-1].split(',"meta":', 1)
        meta = body.pop("meta")
        assert canonical_json(body)[:-1] == head, name
        assert ref.same(json.loads(meta_text), meta), name


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
    assert {"path": "prediction.crowd.agents", "code": "greater_than_equal"} in outcome["errors"]
    assert {"path": "decision", "code": "missing"} in outcome["errors"]


def test_custom_rules_raise_their_spec_codes() -> None:
    base = gen_vectors.envelope_for(gen_vectors.PREDICTIONS["fomo2_report"])
    cases = {
        "blank_string": ("prediction", {**base["prediction"], "question": "  "}),
        "crowd_sum_mismatch": ("prediction", {**base["prediction"], "crowd": {"agents": 3, "bullish": 1, "bearish": 1, "neutral": 0}}),
        "decision_kind_mismatch": ("decision_kind", "polymarket_side"),
        "datetime_out_of_range": ("published_at", "0001-01-01T00:00:00+01:00"),
    }
    for code, (field, value) in cases.items():
        outcome = ref.outcome(json.dumps({**base, field: value}))
        assert code in {e["code"] for e in outcome["errors"]}, (code, outcome)
