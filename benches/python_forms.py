"""`make bench`, the forms producers write (benches/forms.py), in Python: the
package's `decode_envelope` against msgspec decoding into constrained Structs
(SPEC section 2's ranges and lengths as `msgspec.Meta`) and Pydantic's
`model_validate_json` (the seed module), in alternating rounds in this one
process, with native's times (`examples/forms_timing.rs`, the binary given
as the second argument) taken between the rounds. Prints JSON:
{"form": {"crowd-envelope (Python)": ns, "msgspec Struct": ns, "Pydantic": ns,
"crowd-envelope (native)": ns, "serde_json derive": ns, "sonic-rs derive": ns}}, per envelope,
medians over the rounds."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Callable, Literal, Optional

import msgspec
from msgspec import Meta, Struct

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "reference"))
import pydantic  # noqa: E402
from crowd_reference import Envelope as PydanticEnvelope  # noqa: E402

import crowd_envelope  # noqa: E402

Unit = Annotated[float, Meta(ge=0, le=1)]
Count = Annotated[int, Meta(ge=0)]


class Crowd(Struct):
    agents: Annotated[int, Meta(ge=1, le=1_000_000)]
    bullish: Count
    bearish: Count
    neutral: Count


class Prediction(Struct):
    source_type: Literal["fomo2_report", "polymarket_bet", "oddsoddy_strategy"]
    source_id: Annotated[str, Meta(min_length=1, max_length=256)]
    question: Annotated[str, Meta(min_length=1, max_length=2000)]
    probability: Unit
    confidence: Unit
    crowd: Crowd
    generated_at: datetime
    market_probability: Optional[Annotated[float, Meta(gt=0, lt=1)]] = None
    rationale: Annotated[str, Meta(max_length=4000)] = ""
    drivers: Annotated[list[Annotated[str, Meta(min_length=1, max_length=280)]], Meta(max_length=16)] = []
    resolves_at: Optional[datetime] = None


class Decision(Struct):
    reason: str
    action: Optional[Literal["buy", "sell", "hold"]] = None
    strength: Optional[Unit] = None
    side: Optional[Literal["yes", "no", "abstain"]] = None
    edge: Optional[float] = None
    price: Optional[Unit] = None
    stake_fraction: Optional[Annotated[float, Meta(ge=0, le=0.25)]] = None
    multiplier: Optional[Annotated[float, Meta(ge=0, le=2)]] = None


class Envelope(Struct):
    prediction: Prediction
    decision: Decision
    decision_kind: Literal["fomo2_signal", "polymarket_side", "oddsoddy_multiplier"]
    published_at: datetime
    correlation_id: str
    schema_version: Literal["1"] = "1"
    arena: Literal["crowd_simulation"] = "crowd_simulation"
    meta: dict[str, Any] = {}


ROUNDS = 5
forms_path, native_bin = sys.argv[1], sys.argv[2]
forms: dict[str, list[bytes]] = {
    name: [p.encode() for p in payloads] for name, payloads in json.loads(Path(forms_path).read_text()).items()
}
msgspec_decoder = msgspec.json.Decoder(Envelope)


def every(decode: Callable[[bytes], Any], payloads: list[bytes]) -> Callable[[], None]:
    def run() -> None:
        for p in payloads:
            decode(p)
    return run


def ns_per_envelope(run: Callable[[], None], n: int) -> float:
    """The median of three runs over the `n` payloads, per payload."""
    times = []
    for _ in range(3):
        start = time.perf_counter_ns()
        run()
        times.append(time.perf_counter_ns() - start)
    return statistics.median(times) / n


competitors = {
    "crowd-envelope (Python)": crowd_envelope.try_decode_envelope,
    "msgspec Struct": msgspec_decoder.decode,
    "Pydantic": PydanticEnvelope.model_validate_json,
}
for name, payloads in forms.items():
    for who, decode in competitors.items():
        for p in payloads:
            try:
                decode(p)
            except (ValueError, pydantic.ValidationError, msgspec.ValidationError) as e:
                raise SystemExit(f"{who} refuses a {name} payload ({e}): {p[:200]!r}")

# forms_timing's names for its competitors, as this report names them.
NATIVE_NAMES = {
    "crowd-envelope": "crowd-envelope (native)",
    "serde_json derive": "serde_json derive",
    "sonic-rs derive": "sonic-rs derive",
}
samples: dict[str, dict[str, list[float]]] = {name: {} for name in forms}
for round_number in range(1, ROUNDS + 1):
    print(f"bench (python forms): round {round_number} of {ROUNDS}", file=sys.stderr)
    native = json.loads(subprocess.run([native_bin, forms_path], check=True, capture_output=True, text=True).stdout)
    for name, payloads in forms.items():
        for who, ns in native[name].items():
            samples[name].setdefault(NATIVE_NAMES[who], []).append(ns)
        order = list(competitors.items())
        if round_number % 2 == 0:
            order.reverse()
        for who, decode in order:
            samples[name].setdefault(who, []).append(ns_per_envelope(every(decode, payloads), len(payloads)))

print(json.dumps({
    "runtime": f"Python {sys.version.split()[0]}, msgspec {msgspec.__version__}, Pydantic {pydantic.VERSION}",
    "rounds": ROUNDS,
    "envelopes": len(next(iter(forms.values()))),
    "forms": {name: {who: statistics.median(s) for who, s in by.items()} for name, by in samples.items()},
}))
