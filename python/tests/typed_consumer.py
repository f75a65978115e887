"""A consumer as a strictly typed service writes one: `mypy --strict` must
accept it (make test-python), and pytest runs it."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Optional

import redis.asyncio as aioredis

import crowd_envelope as ce
from crowd_envelope.redis import SkippedEntry, follow_envelopes, publish_envelope, read_envelopes


def stake(payload: bytes) -> Optional[float]:
    """The stake a Polymarket bot would place, or None."""
    envelope = ce.decode_envelope(payload)
    if envelope is None:
        return None
    decision = envelope.decision
    if decision.decision_kind == "polymarket_side":
        return decision.stake_fraction if decision.side != "abstain" else 0.0
    if decision.decision_kind == "fomo2_signal":
        return decision.strength
    return decision.multiplier


def produce() -> bytes:
    prediction = ce.validate_prediction(
        {
            "source_type": "polymarket_bet",
            "source_id": "m",
            "question": "Rain?",
            "probability": 0.7,
            "confidence": 0.8,
            "market_probability": 0.5,
            "crowd": {"agents": 10, "bullish": 6, "bearish": 3, "neutral": 1},
            "generated_at": datetime(2026, 1, 1, tzinfo=timezone.utc),
        }
    )
    side: ce.PolymarketSide = ce.crowd_to_polymarket_side(prediction)
    assert side.side == "yes"
    assert ce.crowd_to_fomo2_signal(prediction).reason
    assert ce.crowd_to_oddsoddy_multiplier(prediction).multiplier > 0
    envelope = ce.build_envelope(prediction, correlation_id="c", meta={"k": 1})
    assert ce.verify_decision(envelope)
    try:
        ce.try_decode_envelope("{")
    except ce.DecodeError as error:
        assert error.reason == "invalid_json" and error.errors
    return ce.encode_envelope(envelope).encode()


async def relay(client: "aioredis.Redis", envelope: ce.CrowdPredictionEnvelope) -> list[str]:
    """Publish, read back, and follow: type-checked (the Redis test runs them)."""
    skipped: list[SkippedEntry] = []
    entry_id: str = await publish_envelope(client, ce.DEFAULT_STREAM_NAME, envelope, max_len=1000)
    newest = await read_envelopes(client, ce.DEFAULT_STREAM_NAME, 10, on_skip=skipped.append)
    ids = [entry_id] + [newest_id for newest_id, _ in newest]
    async for followed_id, followed in follow_envelopes(client, ce.DEFAULT_STREAM_NAME, last_id="0"):
        ids.append(followed_id)
        if followed.decision_kind == "fomo2_signal":
            break
    return ids + [s.reason for s in skipped]


def test_the_typed_consumer_runs() -> None:
    placed = stake(produce())
    assert placed is not None and 0.0 < placed <= 0.25
    assert ce.DEFAULT_STREAM_NAME.startswith("maf:")
