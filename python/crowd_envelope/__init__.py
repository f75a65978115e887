"""crowd_envelope: the crowd-envelope codec for Python, compiled from the
same Rust crate as the npm package and the native tools, so that no
runtime can disagree with another (SPEC section 7, Python column)."""

from ._json import Crowd, Fomo2Signal, OddsoddyMultiplier, PolymarketSide
from ._native import (
    DEFAULT_STREAM_NAME,
    SCHEMA_VERSION,
    CrowdPrediction,
    CrowdPredictionEnvelope,
    DecodeError,
    ValidationError,
    build_envelope,
    crowd_to_fomo2_signal,
    crowd_to_oddsoddy_multiplier,
    crowd_to_polymarket_side,
    decode_envelope,
    encode_envelope,
    try_decode_envelope,
    validate_prediction,
    verify_decision,
)

__all__ = [
    "DEFAULT_STREAM_NAME",
    "SCHEMA_VERSION",
    "Crowd",
    "CrowdPrediction",
    "CrowdPredictionEnvelope",
    "DecodeError",
    "Fomo2Signal",
    "OddsoddyMultiplier",
    "PolymarketSide",
    "ValidationError",
    "build_envelope",
    "crowd_to_fomo2_signal",
    "crowd_to_oddsoddy_multiplier",
    "crowd_to_polymarket_side",
    "decode_envelope",
    "encode_envelope",
    "try_decode_envelope",
    "validate_prediction",
    "verify_decision",
]
