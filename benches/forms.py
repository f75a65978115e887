#!/usr/bin/env python3
"""The six forms producers write (issue 27), from the corpus's valid envelopes.

`python3 benches/forms.py OUT.json` writes {"form": [payload, ...]} for:

- canonical: compact, SPEC order, UTC (Pydantic `model_dump_json`, our
  encoding);
- offsets: date-times at +01:00, as Pydantic writes an aware datetime
  (`datetime.isoformat()`);
- omitted: members equal to their defaults left out (`exclude_defaults=True`,
  or a TypeScript producer that leaves optionals out);
- separators: Python `json.dumps` defaults (`", "`, `": "`);
- sorted: keys sorted (`sort_keys=True`, canonical-JSON producers);
- pretty: `indent=2`.

Every envelope of the corpus that is accepted, has no clock or random
default (`volatile`), is under 16 KB, nests at most 32 deep (serde_json's
recursion limit counts otherwise than SPEC's) and has date-times that +01:00 can
write (not the last half hour of year 9999) gives one payload of each form.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

CORPUS = Path(__file__).resolve().parent.parent / "tests/vectors/corpus.jsonl"
PLUS_ONE = timezone(timedelta(hours=1))
ENVELOPE_DEFAULTS = {"schema_version": "1", "arena": "crowd_simulation", "meta": {}}
PREDICTION_DEFAULTS = {"market_probability": None, "rationale": "", "drivers": [], "resolves_at": None}


def compact(value: Any, **options: Any) -> str:
    return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"), **options)


def at_plus_one(text: str | None) -> str | None:
    if text is None:
        return None
    instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return instant.astimezone(PLUS_ONE).isoformat()


def offsets(envelope: dict[str, Any]) -> str:
    e = json.loads(json.dumps(envelope))
    e["published_at"] = at_plus_one(e["published_at"])
    p = e["prediction"]
    p["generated_at"] = at_plus_one(p["generated_at"])
    p["resolves_at"] = at_plus_one(p["resolves_at"])
    return compact(e)


def omitted(envelope: dict[str, Any]) -> str:
    e = {k: v for k, v in envelope.items() if ENVELOPE_DEFAULTS.get(k, object()) != v}
    e["prediction"] = {k: v for k, v in envelope["prediction"].items()
                       if PREDICTION_DEFAULTS.get(k, object()) != v}
    return compact(e)


FORMS: dict[str, Callable[[dict[str, Any]], str]] = {
    "canonical": compact,
    "offsets": offsets,
    "omitted": omitted,
    "separators": lambda e: json.dumps(e, ensure_ascii=False),
    "sorted": lambda e: compact(e, sort_keys=True),
    "pretty": lambda e: json.dumps(e, ensure_ascii=False, indent=2),
}


def depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


def envelopes() -> list[dict[str, Any]]:
    chosen = []
    for line in CORPUS.read_text().splitlines():
        case = json.loads(line)
        expect = case["expect"]
        if not expect.get("ok") or expect.get("volatile") or not isinstance(case.get("payload"), str):
            continue
        if len(case["payload"]) < 16_000 and depth(expect["envelope"]) <= 32:
            try:
                offsets(expect["envelope"])
            except OverflowError:
                continue  # 9999-12-31T23:30Z has no +01:00 form
            chosen.append(expect["envelope"])
    return chosen


def main() -> None:
    chosen = envelopes()
    forms = {name: [form(e) for e in chosen] for name, form in FORMS.items()}
    Path(sys.argv[1]).write_text(json.dumps(forms))
    print(f"forms: {len(chosen)} envelopes in {len(forms)} forms", file=sys.stderr)


if __name__ == "__main__":
    main()
