"""Seeded payload generator for the differential tests.

Each payload starts as a valid envelope for a random prediction, then takes
up to three mutations: a field swapped for a value from the pools below
(type swaps and Pydantic's lax forms for every field, length boundaries in
code points, blank strings by ``str.isspace``, crowd sums past 64 bits,
every date-time form Pydantic reads, integers and integer strings around
4,300 digits, ``-0`` and ``-0.0``), or an edit of the raw JSON text
(trailing commas, duplicate keys through escapes, comments, leading zeros,
``+1``, ``.5``, ``1.``, overflowing numbers, truncation). A plain
``random.Random`` keeps 200,000 payloads to seconds and every run
reproducible from its seed.
"""

from __future__ import annotations

import json
import random
from typing import Any, Callable, Iterator

from gen_vectors import DATETIMES, PREDICTIONS, envelope_for

PREDICTION_FIELDS = list(PREDICTIONS["fomo2_report"].keys())
CROWD_FIELDS = ["agents", "bullish", "bearish", "neutral"]
DECISION_FIELDS = ["action", "strength", "reason", "side", "edge", "price", "stake_fraction", "multiplier"]
ENVELOPE_FIELDS = ["schema_version", "arena", "prediction", "decision", "decision_kind", "published_at", "correlation_id", "meta"]
TEXT_LIMITS = {"source_id": 256, "question": 2000, "rationale": 4000}
NUMBER_FIELDS = {"probability", "confidence", "market_probability", "strength", "edge", "price", "stake_fraction", "multiplier"}

# Python's str.isspace() is true for these; U+200B and U+180E are not spaces.
SPACES = [" ", "\t", "\u000b", "\u000c", "\u001c", "\u001d", "\u001e", "\u001f", "\u0085", "\u00a0", "\u1680", "\u2000", "\u2028", "\u3000"]
NOT_SPACES = ["\u200b", "\u180e", "\ufeff", "x"]
UNITS = ["a", "é", "e\u0301", "😀", "𝄞", "北"]  # one code point, or two (combining), or astral

LAX_FLOATS = ["0.62", " 0.5 ", "0.5_0", "1_0", "_1", "1__0", "+.5", "5.", ".5", "5e-1", "1E-1", "inf", "-inf", "nan",
              "Infinity", "1e400", "0x1", "", " ", "\u00a00.5", "\u001c0.5", "1,5", "١", "-0", "-0.0", " 1_0 ", "1_0 "]
LAX_INTS = ["120", " 120 ", "1_20", "+120", "0120", "-0", "120.0", "120.00", "1_2_0.0", "120.5", "1.2e2", "12_", "+_1",
            "120.", ".0", "0x78", "١٢٠", "-5", "+-1", "-", ""]
ENUM_WORDS = ["buy", "sell", "hold", "yes", "no", "abstain", "fomo2_report", "polymarket_bet", "oddsoddy_strategy",
              "fomo2_signal", "polymarket_side", "oddsoddy_multiplier", "1", "2", "crowd_simulation", "BUY", " yes"]
SPECIAL_FLOATS = [0.0, -0.0, 1.0, 0.5, 0.05, 0.25, 2.0, 0.2, -0.2, 1e-300, 5e-324, 0.9999999999999999,
                  1.0000000000000002, 1e308, -1e308, 0.625, 0.375]


class Generator:
    def __init__(self, seed: int):
        self.r = random.Random(seed)

    # -- values ---------------------------------------------------------

    def unit_fraction(self) -> float:
        r = self.r
        pick = r.random()
        if pick < 0.5:
            return r.random()
        if pick < 0.8:
            x = r.choice([0.0, 0.35, 0.375, 0.4, 0.45, 0.5, 0.55, 0.6, 0.625, 0.65, 0.75, 1.0, 0.05, 0.07, 0.02, 0.1])
            return min(1.0, max(0.0, x + r.choice([0.0, 0.0, 1e-16, -1e-16, 0.05, -0.05])))
        return round(r.random(), r.randint(1, 3))

    def prediction(self) -> dict[str, Any]:
        r = self.r
        kind = r.choice(list(PREDICTIONS))
        p = dict(PREDICTIONS[kind])
        p["probability"] = self.unit_fraction()
        p["confidence"] = self.unit_fraction()
        p["market_probability"] = r.choice([None, r.uniform(1e-9, 1 - 1e-9), 0.01, 0.02, 0.1, 0.25, 0.5, 0.99])
        bullish, bearish, neutral = r.randint(0, 50), r.randint(0, 50), r.randint(0, 5)
        total = bullish + bearish + neutral
        p["crowd"] = {"agents": max(1, total), "bullish": bullish, "bearish": bearish, "neutral": neutral + (total == 0)}
        return p

    def text(self, limit: int) -> str:
        r = self.r
        n = r.choice([0, 1, limit - 1, limit, limit + 1, r.randint(0, limit)])
        unit = r.choice(UNITS)
        return unit * (max(n, 0) // (2 if unit == "e\u0301" else 1))

    def blank(self) -> str:
        r = self.r
        chars = [r.choice(SPACES) for _ in range(r.randint(1, 4))]
        if r.random() < 0.3:
            chars.insert(r.randrange(len(chars) + 1), r.choice(NOT_SPACES))
        return "".join(chars)

    def big_digits(self) -> str:
        r = self.r
        n = r.choice([19, 20, 30, 308, 309, 4299, 4300, 4301, 4302])
        return str(r.randint(1, 9)) + "".join(r.choice("0123456789") for _ in range(n - 1))

    def big_int_string(self) -> str:
        r = self.r
        digits = self.big_digits()
        return r.choice(["", "-", "+", " ", "0", "-0"]) + digits + r.choice(["", "", ".0", "x", " ", "_1"])

    def datetime(self) -> Any:
        r = self.r
        pick = r.random()
        if pick < 0.3:
            return r.choice(DATETIMES)
        if pick < 0.5:  # Unix seconds or milliseconds, around the 2e10 switch and the range ends
            base = r.choice([0, 1_700_000_000, 20_000_000_000, 20_000_000_001, 1_700_000_000_000, 253_402_300_799,
                             253_402_300_799_999, -62_135_596_800, -62_135_596_800_000, -20_000_000_001])
            value: Any = base + r.choice([0, 1, -1])
            if r.random() < 0.4:
                value += r.choice([0.5, 0.1234567, 0.0000005, 0.9999995])
            return str(value) if r.random() < 0.4 else value
        year = r.choice([0, 1, 2, 1970, 2024, 2026, 9999]) if r.random() < 0.5 else r.randint(1, 9999)
        month, day = r.randint(1, 12), r.choice([1, 28, 29, 30, 31, r.randint(1, 31)])
        hour, minute, second = r.choice([0, 23, 24, r.randint(0, 23)]), r.choice([0, 59, 60, r.randint(0, 59)]), r.choice([0, 59, 60, r.randint(0, 59)])
        date = f"{year:04d}-{month:02d}-{day:02d}"
        if r.random() < 0.05:
            return r.choice([f"{year:04d}-W{r.randint(1, 53):02d}-{r.randint(1, 7)}", f"{year:04d}{month:02d}{day:02d}", date])
        sep = r.choice(["T", "t", " ", "_", "T", "T"])
        time = f"{hour:02d}:{minute:02d}" + (f":{second:02d}" if r.random() < 0.9 else "")
        if r.random() < 0.5:
            time += r.choice([".", ","]) + "".join(r.choice("0123456789") for _ in range(r.randint(1, 12)))
        offset = r.choice(["", "Z", "z", "+00:00", "-00:00", f"+{r.randint(0, 24):02d}:{r.randint(0, 59):02d}",
                           f"-{r.randint(0, 23):02d}{r.randint(0, 59):02d}", "+01", "\u221201:00", "-23:59", "+23:59"])
        return date + sep + time + offset

    def odd_value(self, field: str) -> Any:
        r = self.r
        pools: list[Callable[[], Any]] = [
            lambda: r.choice([None, True, False, [], {}, [1], {"v": 1}, "", "x"]),
            lambda: r.randint(-3, 3),
            lambda: r.choice([2**63 - 1, 2**63, 2**64, -(2**63), 2**70, -(2**70), 10**20]),
            lambda: r.choice(SPECIAL_FLOATS),
            lambda: r.uniform(-0.1, 1.1),
            lambda: r.choice(LAX_FLOATS),
            lambda: r.choice(LAX_INTS),
            lambda: r.choice(ENUM_WORDS),
            lambda: self.datetime(),
        ]
        if field in TEXT_LIMITS:
            pools += [lambda: self.text(TEXT_LIMITS[field]), self.blank] * 3
        elif field == "drivers":
            pools += [lambda: [self.text(280) for _ in range(r.choice([0, 1, 16, 17]))], lambda: [self.blank()], lambda: ["ok", 5]] * 2
        elif field in CROWD_FIELDS:
            pools += [lambda: r.choice(LAX_INTS), self.big_int_string, lambda: int(self.big_digits()[:r.choice([19, 20, 30])]),
                      lambda: r.choice([1_000_000, 1_000_001, 0, 2**63 - 1, 2**64 + 1])] * 2
        elif field in NUMBER_FIELDS:
            pools += [lambda: r.choice(LAX_FLOATS), lambda: r.choice(SPECIAL_FLOATS)] * 2
        elif field in ("generated_at", "resolves_at", "published_at"):
            pools += [self.datetime] * 6
        return r.choice(pools)()

    # -- payloads -------------------------------------------------------

    def mutate_fields(self, body: dict[str, Any]) -> None:
        r = self.r
        where = r.choice(["envelope", "prediction", "prediction", "crowd", "decision", "drop", "extra", "crowd-sum"])
        prediction = body.get("prediction")
        if where == "envelope":
            field = r.choice(ENVELOPE_FIELDS)
            body[field] = self.odd_value(field)
        elif where == "prediction" and isinstance(prediction, dict):
            field = r.choice(PREDICTION_FIELDS)
            prediction[field] = self.odd_value(field)
        elif where == "crowd" and isinstance(prediction, dict) and isinstance(prediction.get("crowd"), dict):
            field = r.choice(CROWD_FIELDS)
            prediction["crowd"][field] = self.odd_value(field)
        elif where == "crowd-sum" and isinstance(prediction, dict):
            big = r.choice([2**63 - 1, 2**63, 2**64 - 1, 10**19, 5])
            prediction["crowd"] = {"agents": r.choice([1, 10, 1_000_000]), "bullish": big, "bearish": r.choice([0, big, 1]), "neutral": r.choice([0, 2**63, -1, 3])}
        elif where == "decision" and isinstance(body.get("decision"), dict):
            field = r.choice(DECISION_FIELDS)
            body["decision"][field] = self.odd_value(field)
        elif where == "drop":
            container = body if r.random() < 0.5 else prediction
            if isinstance(container, dict) and container:
                container.pop(r.choice(sorted(container)), None)
        elif where == "extra":
            body["".join(r.choice("abcé_") for _ in range(r.randint(1, 5)))] = self.odd_value("")

    def edit_text(self, text: str) -> str:
        r = self.r
        edits: list[Callable[[str], str]] = [
            lambda t: t[:-1] + ",}",
            lambda t: t.replace("]", ",]", 1),
            lambda t: t.replace('"arena":', '"\\u0061rena":"crowd_simulation","arena":', 1),
            lambda t: t.replace('"meta":{', '"meta":{"k":1,"\\u006b":2,', 1),
            lambda t: t.replace('"source_id":', '"source_id":"dup","\\u0073ource_id":', 1),
            lambda t: "/* comment */" + t,
            lambda t: t.replace(",", ",/**/", 1),
            lambda t: t.replace('"probability":', '"probability":0', 1) if '"probability":0.' in t else t,
            lambda t: t.replace('"agents":', '"agents":+', 1),
            lambda t: t.replace('"confidence":0.', '"confidence":.', 1),
            lambda t: t.replace('"probability":', '"probability":1.,"x":', 1),
            lambda t: t.replace('"meta":{', '"meta":{"n":' + r.choice(["1e400", "-1e400", "1E309", "2e308", "1e308", "-0", "-0.0", "1.7976931348623159e308", "1.7976931348623157e308"]) + ",", 1),
            lambda t: t.replace('"meta":{', '"meta":{"n":' + r.choice(["", "-"]) + self.big_digits() + ",", 1),
            lambda t: t.replace('"agents":', '"agents":' + self.big_digits() + ',"x":', 1),
            lambda t: t.replace('"probability":', '"probability":' + r.choice(["-0", "-0.0", "-0e0", "-0E-0"]) + ',"x":', 1),
            lambda t: t.replace('"strength":', '"strength":' + r.choice(["-0", "-0.0"]) + ',"x":', 1),
            lambda t: t[: r.randint(0, len(t))],
            lambda t: t.replace('"question":"', '"question":"\\ud800', 1),
            lambda t: t.replace('"question":"', '"question":"\t', 1),
            lambda t: t.replace('"probability":', '"probability":NaN,"x":', 1),
            lambda t: " \t" + t + " ",
        ]
        return r.choice(edits)(text)

    def payload(self) -> str:
        r = self.r
        body = envelope_for(self.prediction())
        if r.random() < 0.2:
            body["meta"] = {"run": r.randint(0, 9), "z": [-0.0, 1.5, None]}
        for _ in range(r.choice([0, 1, 1, 2, 3])):
            self.mutate_fields(body)
        text = json.dumps(body, separators=(",", ":"), ensure_ascii=r.random() < 0.5)
        if r.random() < 0.25:
            text = self.edit_text(text)
        return text

    def payloads(self, count: int) -> Iterator[str]:
        produced = 0
        while produced < count:
            text = self.payload()
            if not text or "\n" in text or "\r" in text:  # one payload per line on the way to the CLI
                continue
            produced += 1
            yield text
