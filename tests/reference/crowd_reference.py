"""Reference model of SPEC sections 2 to 5, the referee for the Rust codec.

Written with Pydantic v2 in its default (lax) mode, validating JSON text as
the original consumers did (``model_validate_json``). It stands alone: it
does not import or call the crate. Its job is to say, for any payload,
whether a v1 consumer accepts it, with which reason it rejects it, which
paths fail, and what the accepted envelope means.

What Pydantic does not do by itself, this module adds, as SPEC asks:
strict JSON (no NaN/Infinity tokens, no duplicate keys, nesting at most 128,
no lone surrogates, no number that overflows a double), the size limit, the
version pre-check, UTC for naive date-times, the per-kind decision shapes
and the decision/source pairing.

Every error is a ``(path, code)`` pair: the code is the Pydantic error
``type``, and the rules this contract adds raise their SPEC code
(``blank_string``, ``crowd_sum_mismatch``, ``decision_kind_mismatch``,
``datetime_out_of_range``) through ``PydanticCustomError``.
"""

from __future__ import annotations

import json
import math
import struct
import uuid
from datetime import datetime, timezone
from typing import Annotated, Any, Literal, Optional

from pydantic_core import PydanticCustomError
from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

SCHEMA_VERSION = "1"
ARENA = "crowd_simulation"
DEFAULT_STREAM_NAME = "maf:arena:crowd_simulation:output"
DEFAULT_MAX_PAYLOAD_BYTES = 1 << 20
MAX_DEPTH = 128

MIN_CONFIDENCE = 0.5
FOMO2_THRESHOLD = 0.2
POLYMARKET_MIN_EDGE = 0.05
POLYMARKET_MAX_STAKE = 0.25
ODDSODDY_MAX_MULTIPLIER = 2.0

KIND_FOR_SOURCE = {
    "fomo2_report": "fomo2_signal",
    "polymarket_bet": "polymarket_side",
    "oddsoddy_strategy": "oddsoddy_multiplier",
}


# ---------------------------------------------------------------------------
# Date-times (SPEC section 5)
# ---------------------------------------------------------------------------


def _to_utc(value: datetime) -> datetime:
    """Naive means UTC; aware is converted. Out-of-range instants are errors."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    try:
        return value.astimezone(timezone.utc)
    except OverflowError as exc:  # e.g. 0001-01-01T00:00:00+00:01
        raise PydanticCustomError(
            "datetime_out_of_range", "date-time out of range in UTC (years 1 to 9999)"
        ) from exc


UtcDateTime = Annotated[datetime, AfterValidator(_to_utc)]


def format_datetime(value: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``, the fraction only when non-zero."""
    value = value.astimezone(timezone.utc)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    # strftime pads years below 1000 inconsistently across platforms.
    text = f"{value.year:04d}{text[text.index('-'):]}"
    if value.microsecond:
        text += f".{value.microsecond:06d}"
    return text + "Z"


# ---------------------------------------------------------------------------
# CrowdPrediction (SPEC section 2)
# ---------------------------------------------------------------------------

UnitFloat = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
OpenUnitFloat = Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)]
Driver = Annotated[str, Field(min_length=1, max_length=280)]


class Crowd(BaseModel):
    agents: int = Field(ge=1, le=1_000_000)
    bullish: int = Field(ge=0)
    bearish: int = Field(ge=0)
    neutral: int = Field(ge=0)

    @model_validator(mode="after")
    def _counts_add_up(self) -> "Crowd":
        if self.bullish + self.bearish + self.neutral != self.agents:
            raise PydanticCustomError("crowd_sum_mismatch", "bullish + bearish + neutral must equal agents")
        return self


class CrowdPrediction(BaseModel):
    source_type: Literal["fomo2_report", "polymarket_bet", "oddsoddy_strategy"]
    source_id: str = Field(min_length=1, max_length=256)
    question: str = Field(min_length=1, max_length=2000)
    probability: UnitFloat
    confidence: UnitFloat
    market_probability: Optional[OpenUnitFloat] = None
    crowd: Crowd
    rationale: str = Field(default="", max_length=4000)
    drivers: list[Driver] = Field(default_factory=list, max_length=16)
    resolves_at: Optional[UtcDateTime] = None
    generated_at: UtcDateTime

    @field_validator("source_id", "question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise PydanticCustomError("blank_string", "must not be blank")
        return value


# ---------------------------------------------------------------------------
# Decisions (SPEC section 3)
# ---------------------------------------------------------------------------


class Fomo2Signal(BaseModel):
    action: Literal["buy", "sell", "hold"]
    strength: UnitFloat
    reason: str


class PolymarketSide(BaseModel):
    side: Literal["yes", "no", "abstain"]
    edge: Optional[Annotated[float, Field(allow_inf_nan=False)]]
    price: Optional[UnitFloat]
    stake_fraction: Annotated[float, Field(ge=0, le=POLYMARKET_MAX_STAKE, allow_inf_nan=False)]
    reason: str


class OddsoddyMultiplier(BaseModel):
    multiplier: Annotated[float, Field(ge=0, le=ODDSODDY_MAX_MULTIPLIER, allow_inf_nan=False)]
    reason: str


DECISION_MODELS: dict[str, type[BaseModel]] = {
    "fomo2_signal": Fomo2Signal,
    "polymarket_side": PolymarketSide,
    "oddsoddy_multiplier": OddsoddyMultiplier,
}


def crowd_to_fomo2_signal(p: CrowdPrediction) -> dict[str, Any]:
    score = (2.0 * p.probability - 1.0) * p.confidence
    strength = abs(score)
    if p.confidence < MIN_CONFIDENCE:
        action, reason = "hold", "low_confidence"
    elif score >= FOMO2_THRESHOLD:
        if p.crowd.bullish >= p.crowd.bearish:
            action, reason = "buy", "crowd_bullish"
        else:
            action, reason = "hold", "crowd_split"
    elif score <= -FOMO2_THRESHOLD:
        if p.crowd.bearish >= p.crowd.bullish:
            action, reason = "sell", "crowd_bearish"
        else:
            action, reason = "hold", "crowd_split"
    else:
        action, reason = "hold", "no_clear_direction"
    return {"action": action, "strength": strength, "reason": reason}


def crowd_to_polymarket_side(p: CrowdPrediction) -> dict[str, Any]:
    m = p.market_probability
    c = p.confidence
    if m is None:
        return _abstain(None, "no_market_price")
    edge = p.probability - m
    if c < MIN_CONFIDENCE:
        return _abstain(edge, "low_confidence")
    if abs(edge) < POLYMARKET_MIN_EDGE:
        return _abstain(edge, "edge_below_threshold")
    if edge > 0.0:
        side, reason, price = "yes", "crowd_above_market", m
        kelly = (p.probability - m) / (1.0 - m)
    else:
        side, reason, price = "no", "crowd_below_market", 1.0 - m
        kelly = (m - p.probability) / m
    stake = min(POLYMARKET_MAX_STAKE, 0.5 * c * kelly)
    return {"side": side, "edge": edge, "price": price, "stake_fraction": stake, "reason": reason}


def _abstain(edge: float | None, reason: str) -> dict[str, Any]:
    return {"side": "abstain", "edge": edge, "price": None, "stake_fraction": 0.0, "reason": reason}


def crowd_to_oddsoddy_multiplier(p: CrowdPrediction) -> dict[str, Any]:
    c = p.confidence
    if c < MIN_CONFIDENCE:
        return {"multiplier": 1.0, "reason": "low_confidence"}
    m = p.market_probability
    value = p.probability / m if m is not None else 2.0 * p.probability
    multiplier = min(ODDSODDY_MAX_MULTIPLIER, max(0.0, 1.0 + c * (value - 1.0)))
    if multiplier > 1.0:
        reason = "value_bet"
    elif multiplier < 1.0:
        reason = "negative_value"
    else:
        reason = "neutral"
    return {"multiplier": multiplier, "reason": reason}


MAPPERS = {
    "fomo2_report": crowd_to_fomo2_signal,
    "polymarket_bet": crowd_to_polymarket_side,
    "oddsoddy_strategy": crowd_to_oddsoddy_multiplier,
}


def decide(p: CrowdPrediction) -> tuple[str, dict[str, Any]]:
    return KIND_FOR_SOURCE[p.source_type], MAPPERS[p.source_type](p)


# ---------------------------------------------------------------------------
# Envelope (SPEC section 4)
# ---------------------------------------------------------------------------


class Envelope(BaseModel):
    schema_version: Literal["1"] = "1"
    arena: Literal["crowd_simulation"] = "crowd_simulation"
    prediction: CrowdPrediction
    decision: dict[str, Any]
    decision_kind: Literal["fomo2_signal", "polymarket_side", "oddsoddy_multiplier"]
    published_at: UtcDateTime = Field(default_factory=lambda: datetime.now(timezone.utc))
    correlation_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    meta: dict[str, Any] = Field(default_factory=dict)


Error = tuple[str, str]  # (path, code)


class Rejected(Exception):
    def __init__(self, reason: str, errors: list[Error]):
        super().__init__(reason, errors)
        self.reason = reason
        self.errors = errors


def _strict_json(text: str) -> Any:
    """RFC 8259 only: Python's json plus the rejections SPEC adds."""

    def no_constants(token: str) -> Any:
        raise ValueError(f"{token} is not JSON")

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            raise ValueError("duplicate key")
        return dict(pairs)

    def finite_float(token: str) -> float:
        value = float(token)
        if math.isinf(value):
            raise ValueError(f"{token} overflows a double")
        return value

    def finite_int(token: str) -> int:
        value = int(token)  # raises past Python's 4,300-digit limit
        float(value)  # raises OverflowError past a double's range
        return value

    try:
        value = json.loads(
            text,
            parse_constant=no_constants,
            object_pairs_hook=no_duplicates,
            parse_float=finite_float,
            parse_int=finite_int,
        )
    except (ValueError, OverflowError, RecursionError) as exc:
        raise Rejected("invalid_json", [("", "json_invalid")]) from exc
    if _too_deep(value) or _has_surrogate(value):
        raise Rejected("invalid_json", [("", "json_invalid")])
    return value


def _too_deep(value: Any) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            if depth > MAX_DEPTH:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def _has_surrogate(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if any(0xD800 <= ord(ch) <= 0xDFFF for ch in item):
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _errors(error: ValidationError, prefix: tuple = ()) -> list[Error]:
    return [(".".join(str(part) for part in prefix + tuple(e["loc"])), e["type"]) for e in error.errors()]


def decode(payload: bytes | str, max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES) -> Envelope:
    """Decodes a payload as a v1 consumer must, or raises ``Rejected``."""
    data = payload.encode("utf-8", "surrogatepass") if isinstance(payload, str) else payload
    if len(data) > max_payload_bytes:
        raise Rejected("too_large", [("", "too_large")])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Rejected("invalid_utf8", [("", "json_invalid")]) from exc
    head = _strict_json(text)
    if isinstance(head, dict):
        version = head.get("schema_version")
        if version is not None and not (isinstance(version, str) and version == SCHEMA_VERSION):
            raise Rejected("unsupported_version", [("schema_version", "literal_error")])

    errors: list[Error] = []
    envelope = None
    try:
        envelope = Envelope.model_validate_json(text)
    except ValidationError as exc:
        errors += _errors(exc)
    if isinstance(head, dict):
        errors += _decision_errors(head)
    if errors:
        raise Rejected("invalid", errors)
    assert envelope is not None
    decision_model = DECISION_MODELS[envelope.decision_kind]
    # Keep only the decision's own fields, canonical types (unknown ones dropped).
    decision = decision_model.model_validate_json(json.dumps(head["decision"]))
    return envelope.model_copy(update={"decision": decision.model_dump(mode="json")})


def _decision_errors(head: dict[str, Any]) -> list[Error]:
    """The per-kind decision shape, and the kind/source pairing."""
    errors: list[Error] = []
    kind = head.get("decision_kind")
    kind = kind if isinstance(kind, str) else None
    decision = head.get("decision")
    if kind in DECISION_MODELS and isinstance(decision, dict):
        try:
            DECISION_MODELS[kind].model_validate_json(json.dumps(decision))
        except ValidationError as exc:
            errors += _errors(exc, ("decision",))
    prediction = head.get("prediction")
    source = prediction.get("source_type") if isinstance(prediction, dict) else None
    source = source if isinstance(source, str) else None
    if kind in DECISION_MODELS and source in KIND_FOR_SOURCE and KIND_FOR_SOURCE[source] != kind:
        errors.append(("decision_kind", "decision_kind_mismatch"))
    return errors


def canonical(envelope: Envelope) -> dict[str, Any]:
    """The envelope as SPEC's encoder writes it, as a JSON-ready dict."""
    body = envelope.model_dump(mode="python")
    prediction = body["prediction"]
    for key in ("resolves_at", "generated_at"):
        if prediction[key] is not None:
            prediction[key] = format_datetime(prediction[key])
    body["published_at"] = format_datetime(body["published_at"])
    return body


def outcome(payload: bytes | str, max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES) -> dict[str, Any]:
    """``{"ok": true, "envelope": ...}`` or ``{"ok": false, "reason", "errors"}``,
    the errors as sorted, distinct ``{"path", "code"}`` objects."""
    try:
        return {"ok": True, "envelope": canonical(decode(payload, max_payload_bytes))}
    except Rejected as rejected:
        return {"ok": False, "reason": rejected.reason, "errors": error_set(rejected.errors)}


def error_set(errors: list[Error]) -> list[dict[str, str]]:
    """Errors as a sorted list of distinct ``{"path", "code"}`` objects."""
    return [{"path": path, "code": code} for path, code in sorted(set(errors))]


def build(prediction_json: str, **overrides: Any) -> dict[str, Any]:
    """Builds the canonical envelope for a prediction, as ``build_envelope``."""
    prediction = CrowdPrediction.model_validate_json(prediction_json)
    kind, decision = decide(prediction)
    envelope = Envelope(prediction=prediction, decision=decision, decision_kind=kind, **overrides)
    return canonical(envelope)


def same(a: Any, b: Any) -> bool:
    """Deep equality in which floats must be bit-identical and ints stay ints."""
    if isinstance(a, float) or isinstance(b, float):
        return (
            isinstance(a, float)
            and isinstance(b, float)
            and struct.pack("<d", a) == struct.pack("<d", b)
        )
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return type(a) is type(b) and a == b
