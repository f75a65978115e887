"""The Python package against the parity corpus and native's encodings, in
process, and its API as a Python user meets it."""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import os
import pathlib
from datetime import date, datetime, timedelta, timezone

import pytest

import crowd_envelope as ce

# CROWD_REPO: the repository, when these tests run from a copy
# (scripts/mutants-python.sh runs them in target/mutmut/).
REPO = pathlib.Path(os.environ.get("CROWD_REPO") or pathlib.Path(__file__).resolve().parents[2])
PREDICTION = {
    "source_type": "polymarket_bet",
    "source_id": "0x5f3a9c",
    "question": "Will the Fed cut rates in December?",
    "probability": 0.64,
    "confidence": 0.77,
    "market_probability": 0.52,
    "crowd": {"agents": 200, "bullish": 121, "bearish": 55, "neutral": 24},
    "generated_at": "2026-11-26T21:16:00Z",
}


def corpus():
    for line in (REPO / "tests/vectors/corpus.jsonl").read_text(encoding="utf-8").split("\n"):
        if not line:
            continue
        vector = json.loads(line)
        if "payload" in vector:
            payload = vector["payload"]
        else:
            payload = base64.b64decode(vector["payload_b64"])
        if "pad_to" in vector:
            raw = payload.encode() if isinstance(payload, str) else payload
            padded = raw + b" " * (vector["pad_to"] - len(raw))
            payload = padded.decode() if isinstance(payload, str) else padded
        yield vector["name"], payload, vector.get("max_payload_bytes"), vector["expect"]


def error_set(errors):
    return sorted({f"{e['path']} {e['code']}" for e in errors})


def test_every_corpus_vector_decodes_as_the_reference_says():
    failures = []
    count = 0
    for name, payload, limit, expect in corpus():
        count += 1
        try:
            envelope = ce.try_decode_envelope(payload, max_payload_bytes=limit)
        except ce.DecodeError as error:
            if expect["ok"]:
                failures.append(f"{name}: rejected {error.reason}")
            elif error.reason != expect["reason"]:
                failures.append(f"{name}: reason {error.reason}, reference {expect['reason']}")
            elif error_set(error.errors) != error_set(expect["errors"]):
                failures.append(f"{name}: errors {error_set(error.errors)}")
            elif any(not e["message"] for e in error.errors):
                failures.append(f"{name}: an error without a message")
            continue
        if not expect["ok"]:
            failures.append(f"{name}: accepted, reference {expect['reason']}")
            continue
        actual = envelope.to_dict()
        for field in expect.get("volatile", []):
            actual.pop(field, None)
        wanted = {k: v for k, v in expect["envelope"].items() if k not in expect.get("volatile", [])}
        if actual != wanted:
            failures.append(f"{name}: values differ")
        if ce.verify_decision(envelope) != expect["verify"]:
            failures.append(f"{name}: verify_decision")
    assert count >= 300
    assert failures == []


def test_the_round_trip_is_natives_byte_for_byte_on_the_differential_run():
    accepted = REPO / "target/parity/accepted.jsonl"
    assert accepted.exists(), "run 'make test-reference' first"
    records = [json.loads(line) for line in accepted.read_text(encoding="utf-8").split("\n") if line]
    assert len(records) >= 2000
    failures = []
    for record in records:
        envelope = ce.try_decode_envelope(record["payload"])
        if ce.encode_envelope(envelope) != record["encoded"]:
            failures.append(record["payload"])
        if ce.verify_decision(envelope) != record["verify"]:
            failures.append(f"verify: {record['payload']}")
    assert failures == []


def test_every_payload_type_is_read_and_lone_surrogates_are_rejected():
    payload = ce.encode_envelope(ce.build_envelope(PREDICTION))
    for form in (payload, payload.encode(), bytearray(payload.encode()), memoryview(payload.encode())):
        assert ce.try_decode_envelope(form).to_json() == payload
    with pytest.raises(ce.DecodeError) as raised:
        ce.try_decode_envelope('{"a": "\ud800"}')
    assert raised.value.reason == "invalid_utf8"
    with pytest.raises(TypeError):
        ce.try_decode_envelope(12)


def test_rejections_raise_with_reason_and_errors():
    with pytest.raises(ce.DecodeError) as raised:
        ce.try_decode_envelope('{"schema_version": "2"}')
    assert raised.value.reason == "unsupported_version"
    assert raised.value.errors[0]["path"] == "schema_version"
    assert isinstance(raised.value, ce.ValidationError)
    with pytest.raises(ce.DecodeError) as raised:
        ce.try_decode_envelope("x" * 100, max_payload_bytes=10)
    assert raised.value.reason == "too_large"


def test_decode_envelope_gives_none_and_logs_the_reason(caplog):
    with caplog.at_level(logging.WARNING, logger="crowd_envelope"):
        assert ce.decode_envelope("{") is None
    assert "invalid_json" in caplog.text


def test_results_are_frozen_objects_with_the_models_names():
    envelope = ce.build_envelope(PREDICTION, correlation_id="c-1", meta={"run": [1, 2]})
    assert envelope.schema_version == ce.SCHEMA_VERSION == "1"
    assert envelope.arena == "crowd_simulation"
    assert envelope.decision_kind == "polymarket_side"
    assert envelope.decision.decision_kind == "polymarket_side"
    assert envelope.decision.side == "yes"
    assert envelope.prediction.probability == 0.64
    assert envelope.prediction.crowd.agents == 200
    assert envelope.prediction.generated_at == datetime(2026, 11, 26, 21, 16, tzinfo=timezone.utc)
    assert envelope.meta == {"run": [1, 2]}
    assert envelope.correlation_id == "c-1"
    with pytest.raises(AttributeError):
        envelope.correlation_id = "other"
    again = ce.try_decode_envelope(envelope.to_json())
    assert again == envelope
    assert "polymarket_side" in repr(envelope)
    assert envelope.to_dict()["decision"]["reason"] == "crowd_above_market"
    assert envelope.prediction.crowd.to_dict() == PREDICTION["crowd"]
    assert envelope.decision.to_dict() == envelope.to_dict()["decision"]
    for decision in (ce.crowd_to_fomo2_signal(envelope.prediction), ce.crowd_to_oddsoddy_multiplier(envelope.prediction)):
        assert decision.to_dict() == {f.name: getattr(decision, f.name) for f in dataclasses.fields(decision)}


def test_building_takes_lax_values_and_datetimes():
    lax = dict(PREDICTION, probability="0.62", generated_at=datetime(2026, 11, 26, 21, 16))
    prediction = ce.validate_prediction(lax)
    assert prediction.probability == 0.62
    assert prediction.generated_at == datetime(2026, 11, 26, 21, 16, tzinfo=timezone.utc), "naive is UTC"
    at = datetime(2026, 11, 27, 8, 0, 0, 250000, tzinfo=timezone(timedelta(hours=2)))
    envelope = ce.build_envelope(prediction, published_at=at)
    assert envelope.published_at == at
    assert envelope.to_dict()["published_at"] == "2026-11-27T06:00:00.250000Z"
    assert ce.verify_decision(envelope)
    assert ce.crowd_to_polymarket_side(prediction) == envelope.decision
    assert ce.crowd_to_fomo2_signal(prediction).decision_kind == "fomo2_signal"
    assert ce.crowd_to_oddsoddy_multiplier(prediction).multiplier >= 0


def test_python_values_are_read_as_the_json_they_stand_for():
    """crowd_envelope/_json.py: text as bytes, dates, dataclasses and objects
    with to_dict go in as JSON; anything else is a TypeError naming it."""
    text = json.dumps(dict(PREDICTION, question="Zürich ☂?"), ensure_ascii=False).encode()
    for form in (text, bytearray(text), memoryview(text)):
        assert ce.validate_prediction(form).question == "Zürich ☂?"

    @dataclasses.dataclass
    class Split:
        agents: int
        bullish: int
        bearish: int
        neutral: int

    class Counted:
        def to_dict(self) -> dict[str, int]:
            return {"agents": 4, "bullish": 1, "bearish": 2, "neutral": 1}

    assert ce.validate_prediction(dict(PREDICTION, crowd=Split(3, 1, 1, 1))).crowd.agents == 3
    assert ce.validate_prediction(dict(PREDICTION, crowd=Counted())).crowd.bearish == 2
    day = ce.validate_prediction(dict(PREDICTION, generated_at=date(2026, 11, 26)))
    assert day.generated_at == datetime(2026, 11, 26, tzinfo=timezone.utc)
    with pytest.raises(TypeError, match="^object is not JSON data$"):
        ce.validate_prediction(dict(PREDICTION, crowd=object()))
    with pytest.raises(ce.ValidationError) as raised:
        ce.validate_prediction(dict(PREDICTION, probability=float("nan")))
    assert raised.value.errors[0]["code"] == "json_invalid"


@pytest.mark.parametrize("zone", ["Asia/Kolkata", "America/St_Johns", "Pacific/Kiritimati"])
def test_naive_date_times_are_utc_instants_whatever_the_local_zone(zone, monkeypatch):
    """SPEC section 5: a value without an offset is UTC, not local time."""
    import time

    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        assert time.localtime(0).tm_gmtoff != 0, f"{zone} is not UTC here"
        naive = datetime(2026, 1, 1, 12, 0, 0, 500000)
        instant = 1767268800.5  # 2026-01-01T12:00:00.5Z
        prediction = ce.validate_prediction(dict(PREDICTION, generated_at=naive))
        assert prediction.generated_at.timestamp() == instant
        envelope = ce.build_envelope(prediction, published_at=naive)
        assert envelope.published_at.timestamp() == instant
        assert envelope.published_at.utcoffset() == timedelta(0)
        encoded = ce.encode_envelope(envelope)
        assert '"published_at":"2026-01-01T12:00:00.500000Z"' in encoded
        for written in ["2026-01-01T12:00:00.5", "2026-01-01 12:00:00.500", "1767268800.5"]:
            payload = encoded.replace('"2026-01-01T12:00:00.500000Z"', json.dumps(written), 1)
            assert ce.try_decode_envelope(payload).published_at.timestamp() == instant, written
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_invalid_input_raises_validation_error_with_every_path():
    with pytest.raises(ce.ValidationError) as raised:
        ce.validate_prediction(dict(PREDICTION, probability=5.0, source_id=" "))
    paths = {e["path"] for e in raised.value.errors}
    assert paths == {"probability", "source_id"}
    with pytest.raises(ce.ValidationError):
        ce.build_envelope(PREDICTION, meta=[1])
    with pytest.raises(ce.ValidationError):
        ce.encode_envelope({"schema_version": "1"})


def test_large_payloads_are_decoded_without_the_gil():
    import sys
    import threading
    import time

    big = ce.encode_envelope(ce.build_envelope(PREDICTION, meta={"pad": "x" * (8 << 20)})).encode()
    small = ce.encode_envelope(ce.build_envelope(PREDICTION)).encode()
    counter = [0]
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            counter[0] += 1

    switch = sys.getswitchinterval()
    # The interpreter then never hands the GIL over by itself within the
    # test: the other thread runs only while a call has let go of it.
    sys.setswitchinterval(1.0)
    thread = threading.Thread(target=spin)
    try:
        thread.start()
        time.sleep(0.01)  # the other thread has the GIL; this one waits its turn
        before = counter[0]
        ce.try_decode_envelope(small)
        held = counter[0] - before
        before = counter[0]
        ce.try_decode_envelope(big, max_payload_bytes=len(big))
        released = counter[0] - before
    finally:
        stop.set()
        sys.setswitchinterval(switch)
        thread.join()
    assert held == 0, "a small payload is decoded holding the GIL"
    assert released > 0, "the other thread ran while the large payload was decoded"
