"""The package's plain-Python parts: values turned into JSON text for the
codec (date-times as ISO 8601; a naive one goes without an offset, which the
codec takes as UTC, SPEC 5), and the frozen classes of the decisions and the
crowd."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from typing import Any, ClassVar, Literal, Optional


def _default(value: Any) -> Any:
    if isinstance(value, date):  # datetime is a date
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    to_dict = getattr(value, "to_dict", None)
    if callable(to_dict):
        return to_dict()
    raise TypeError(f"{type(value).__name__} is not JSON data")


def to_json(value: Any) -> str:
    """`value` as JSON text; bytes are taken as the text they hold."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8")
    if isinstance(value, memoryview):
        return value.tobytes().decode("utf-8")
    # NaN and the infinities go as json writes them, which the codec refuses
    # as invalid JSON (a ValidationError, not a ValueError from here).
    return json.dumps(value, default=_default)


@dataclasses.dataclass(frozen=True)
class Crowd:
    """How the simulated agents split."""

    agents: int
    bullish: int
    bearish: int
    neutral: int

    def to_dict(self) -> dict[str, int]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Fomo2Signal:
    """The decision for a `fomo2_report` (SPEC 3.1)."""

    action: str
    strength: float
    reason: str
    decision_kind: ClassVar[Literal["fomo2_signal"]] = "fomo2_signal"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class PolymarketSide:
    """The decision for a `polymarket_bet` (SPEC 3.2)."""

    side: str
    edge: Optional[float]
    price: Optional[float]
    stake_fraction: float
    reason: str
    decision_kind: ClassVar[Literal["polymarket_side"]] = "polymarket_side"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class OddsoddyMultiplier:
    """The decision for an `oddsoddy_strategy` (SPEC 3.3)."""

    multiplier: float
    reason: str
    decision_kind: ClassVar[Literal["oddsoddy_multiplier"]] = "oddsoddy_multiplier"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
