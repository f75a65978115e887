"""Writes tests/vectors/corpus.jsonl: payloads and the reference's verdicts.

Run with ``make vectors`` after changing the reference model; the corpus is
checked in so that every runtime (native, Node, browser) is held to the same
expectations without needing Python.

Each line: ``{"name", "payload" | "payload_b64", ["pad_to"], ["max_payload_bytes"], "expect"}``
where ``expect`` is ``{"ok": true, "envelope", "volatile", "verify"}`` or
``{"ok": false, "reason", "errors"}`` (``errors``: the sorted, distinct
``{"path", "code"}`` pairs). ``pad_to`` appends spaces (valid JSON
whitespace) up to that many bytes; ``volatile`` lists fields whose defaults
come from the clock or randomness and are not compared; ``verify`` says
whether the decision is the one SPEC section 3 gives.
"""

from __future__ import annotations

import base64
import copy
import json
import sys
from pathlib import Path
from typing import Any, Callable

import crowd_reference as ref

OUT = Path(__file__).resolve().parent.parent / "vectors" / "corpus.jsonl"
PUBLISHED = "2026-11-26T21:17:10.123456Z"

PREDICTIONS = {
    "fomo2_report": {
        "source_type": "fomo2_report",
        "source_id": "fomo2-report-7781",
        "question": "Will ETH outperform BTC over the next 7 days?",
        "probability": 0.72,
        "confidence": 0.81,
        "market_probability": None,
        "crowd": {"agents": 120, "bullish": 74, "bearish": 28, "neutral": 18},
        "rationale": "Agents weighted ETF inflows over the unlock schedule.",
        "drivers": ["ETF inflows", "staking yield", "unlock schedule"],
        "resolves_at": "2026-12-03T00:00:00Z",
        "generated_at": "2026-11-26T21:15:00Z",
    },
    "polymarket_bet": {
        "source_type": "polymarket_bet",
        "source_id": "0x5f3a9c",
        "question": "Will the Fed cut rates in December?",
        "probability": 0.64,
        "confidence": 0.77,
        "market_probability": 0.52,
        "crowd": {"agents": 200, "bullish": 121, "bearish": 55, "neutral": 24},
        "rationale": "",
        "drivers": [],
        "resolves_at": None,
        "generated_at": "2026-11-26T21:16:00Z",
    },
    "oddsoddy_strategy": {
        "source_type": "oddsoddy_strategy",
        "source_id": "strategy/over-2.5/arsenal-spurs",
        "question": "Over 2.5 goals in Arsenal v Spurs?",
        "probability": 0.58,
        "confidence": 0.66,
        "market_probability": 0.5,
        "crowd": {"agents": 90, "bullish": 50, "bearish": 30, "neutral": 10},
        "rationale": "Both sides concede late.",
        "drivers": ["xG trend"],
        "resolves_at": "2026-11-29T17:30:00+00:00",
        "generated_at": "2026-11-26T21:16:30Z",
    },
}

vectors: list[dict[str, Any]] = []


def envelope_for(prediction: dict[str, Any], **extra: Any) -> dict[str, Any]:
    """A complete, valid envelope (decision from the reference mapper)."""
    body = ref.build(json.dumps(prediction), correlation_id="c0ffee" * 5 + "00", published_at=PUBLISHED)
    body.update(extra)
    return body


def add(name: str, payload: str | bytes, **options: Any) -> None:
    data = payload.encode("utf-8", "surrogatepass") if isinstance(payload, str) else payload
    to_check = data + b" " * (options.get("pad_to", 0) - len(data)) if "pad_to" in options else data
    limit = options.get("max_payload_bytes", ref.DEFAULT_MAX_PAYLOAD_BYTES)
    expect = ref.outcome(to_check, limit)
    if expect["ok"]:
        head = json.loads(to_check.decode("utf-8"))
        expect["volatile"] = [k for k in ("published_at", "correlation_id") if k not in head]
        for key in expect["volatile"]:
            del expect["envelope"][key]
        expect["verify"] = verify(expect["envelope"])
    vector: dict[str, Any] = {"name": name}
    try:
        vector["payload"] = data.decode("utf-8")
    except UnicodeDecodeError:
        vector["payload_b64"] = base64.b64encode(data).decode("ascii")
    vector.update(options)
    vector["expect"] = expect
    vectors.append(vector)


def verify(envelope: dict[str, Any]) -> bool:
    prediction = ref.CrowdPrediction.model_validate(envelope["prediction"])
    kind, decision = ref.decide(prediction)
    return kind == envelope["decision_kind"] and ref.same(decision, envelope["decision"])


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def with_prediction(kind: str, **changes: Any) -> dict[str, Any]:
    prediction = copy.deepcopy(PREDICTIONS[kind])
    prediction.update(changes)
    return prediction


def label_for(value: Any) -> str:
    if isinstance(value, str) and len(value) > 24:
        return f"{value[:1]!r}*{len(value)}"
    if isinstance(value, list) and len(value) > 3:
        return f"{len(value)}x{label_for(value[0])}"
    if isinstance(value, list):
        return "[" + ",".join(label_for(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def mutate(kind: str, edit: Callable[[dict[str, Any]], None]) -> str:
    body = envelope_for(PREDICTIONS[kind])
    edit(body)
    return compact(body)


def set_path(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = body
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return edit


def delete_path(path: str) -> Callable[[dict[str, Any]], None]:
    def edit(body: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target = body
        for part in parents:
            target = target[part]
        del target[last]

    return edit


def valid_envelopes() -> None:
    for kind, prediction in PREDICTIONS.items():
        add(f"valid/{kind}", compact(envelope_for(prediction)))
        add(f"valid/{kind}/pretty", json.dumps(envelope_for(prediction), indent=2))
        minimal = {k: v for k, v in envelope_for(prediction).items() if k in ("prediction", "decision", "decision_kind")}
        add(f"valid/{kind}/only-required", compact(minimal))
    meta = {"timings": {"synthesis_ms": 1234.5}, "ask": "Is this <script>alert(1)</script>?", "mode": "offline", "n": 12345678901234567890, "z": [1.0, 1e-7, -0.0, None, True]}
    add("valid/meta-kept-as-is", compact(envelope_for(PREDICTIONS["fomo2_report"], meta=meta)))
    add("valid/meta-key-order", '{"meta":{"z":1,"a":2,"m":{"y":[],"b":{}}},' + compact(envelope_for(PREDICTIONS["fomo2_report"]))[1:].replace(',"meta":{}', ""))
    add("valid/unicode-text", compact(envelope_for(with_prediction("fomo2_report", question="Ça va monter? 🚀 — 北京", source_id="😀" * 256))))
    add("valid/escaped-text", compact(envelope_for(PREDICTIONS["fomo2_report"])).replace("Will ETH", "\\u0057ill ETH"))
    add("valid/unknown-fields-dropped", mutate("polymarket_bet", lambda b: (b.update(extra=1), b["prediction"].update(x_extra=[1]), b["decision"].update(note="hi"), b["prediction"]["crowd"].update(bots=3))))
    add("valid/decision-from-other-thresholds", mutate("fomo2_report", set_path("decision", {"action": "sell", "strength": 0.99, "reason": "custom"})))


def decision_sweep() -> None:
    probabilities = [0.0, 0.35, 0.39999999999999997, 0.4, 0.4000000000000001, 0.5, 0.55, 0.6, 0.6000000000000001, 0.61, 0.8, 1.0]
    confidences = [0.0, 0.49999999999999994, 0.5, 0.5000000000000001, 0.75, 1.0]
    markets = [None, 0.01, 0.45, 0.5, 0.55, 0.6, 0.95, 0.99]
    crowds = [
        {"agents": 10, "bullish": 6, "bearish": 3, "neutral": 1},
        {"agents": 10, "bullish": 3, "bearish": 6, "neutral": 1},
        {"agents": 10, "bullish": 4, "bearish": 4, "neutral": 2},
    ]
    i = 0
    for p in probabilities:
        for c in confidences:
            kind = ["fomo2_report", "polymarket_bet", "oddsoddy_strategy"][i % 3]
            m = markets[i % len(markets)]
            crowd = crowds[i % len(crowds)]
            i += 1
            prediction = with_prediction(kind, probability=p, confidence=c, market_probability=m, crowd=crowd)
            add(f"sweep/{kind}/p={p}/c={c}/m={m}", compact(envelope_for(prediction)))
    bearish = {"agents": 10, "bullish": 2, "bearish": 7, "neutral": 1}
    add("sweep/fomo2_report/crowd-bearish", compact(envelope_for(with_prediction("fomo2_report", probability=0.1, confidence=0.95, crowd=bearish))))
    # Edges that sit exactly on a threshold in decimal but not in binary.
    for kind, p, c, m in [
        ("fomo2_report", 0.6, 1.0, None),
        ("fomo2_report", 0.4, 1.0, None),
        ("fomo2_report", 0.7, 0.5, None),
        ("polymarket_bet", 0.55, 0.9, 0.5),
        ("polymarket_bet", 0.45, 0.9, 0.5),
        ("polymarket_bet", 0.5499999999999999, 0.9, 0.5),
        ("polymarket_bet", 1.0, 1.0, 0.01),
        ("polymarket_bet", 0.0, 1.0, 0.99),
        ("oddsoddy_strategy", 0.5, 1.0, 0.5),
        ("oddsoddy_strategy", 1.0, 1.0, 0.01),
        ("oddsoddy_strategy", 0.0, 1.0, None),
        ("oddsoddy_strategy", 0.5, 0.5, None),
    ]:
        prediction = with_prediction(kind, probability=p, confidence=c, market_probability=m)
        add(f"edge/{kind}/p={p}/c={c}/m={m}", compact(envelope_for(prediction)))


def bounds() -> None:
    k = "fomo2_report"
    cases = {
        "source_id": ["x" * 256, "x" * 257, "", " ", "\t\n", "\u00a0", "\u001c", "\u200b", "😀" * 257],
        "question": ["q" * 2000, "q" * 2001, "", "   "],
        "rationale": ["r" * 4000, "r" * 4001, "", "   "],
        "drivers": [["d"] * 16, ["d"] * 17, ["d" * 280], ["d" * 281], [""], [" "], ["ok", 5], "not a list", None],
        "probability": [0, 1, -0.0, 1.0000000000000002, -5e-324, 5e-324, 0.9999999999999999, 2],
        "confidence": [0, 1, -1, 1.5],
        "market_probability": [None, 0, 1, 5e-324, 0.9999999999999999, 1e-300, -0.1],
        "resolves_at": [None, "2026-01-01", 0],
    }
    for field, values in cases.items():
        for value in values:
            label = label_for(value)
            add(f"bounds/{field}={label}", mutate(k, set_path(f"prediction.{field}", value)))
    crowd_cases = [
        {"agents": 1, "bullish": 1, "bearish": 0, "neutral": 0},
        {"agents": 0, "bullish": 0, "bearish": 0, "neutral": 0},
        {"agents": 1_000_000, "bullish": 1_000_000, "bearish": 0, "neutral": 0},
        {"agents": 1_000_001, "bullish": 1_000_001, "bearish": 0, "neutral": 0},
        {"agents": 10, "bullish": 11, "bearish": -1, "neutral": 0},
        {"agents": 10, "bullish": 5, "bearish": 5, "neutral": 1},
        {"agents": 10, "bullish": 5, "bearish": 5},
        {"agents": 10, "bullish": 5, "bearish": 5, "neutral": 0, "extra": 9},
        {"agents": 10, "bullish": 5000000000, "bearish": 0, "neutral": 0},
        {"agents": 2_000_000, "bullish": 1, "bearish": 0, "neutral": 0},
    ]
    for crowd in crowd_cases:
        add(f"bounds/crowd={compact(crowd)}", mutate(k, set_path("prediction.crowd", crowd)))
    add("bounds/crowd=array", mutate(k, set_path("prediction.crowd", [1, 2])))
    for field in ["source_type", "source_id", "question", "probability", "confidence", "crowd", "generated_at"]:
        add(f"missing/prediction.{field}", mutate(k, delete_path(f"prediction.{field}")))
    for field in ["market_probability", "rationale", "drivers", "resolves_at"]:
        add(f"default/prediction.{field}", mutate(k, delete_path(f"prediction.{field}")))
    add("bounds/source_type=unknown", mutate(k, set_path("prediction.source_type", "fomo3_report")))
    add("bounds/source_type=case", mutate(k, set_path("prediction.source_type", "FOMO2_REPORT")))
    add("bounds/many-errors", mutate(k, lambda b: b["prediction"].update(probability=2, confidence=-1, question="", drivers=[""] * 17)))


def lax_numbers() -> None:
    k = "polymarket_bet"
    floats = ["0.62", " 0.62 ", "0.6_2", ".5", "5e-1", "+0.5", True, False, "1_0e-1", "inf", "nan", "Infinity", "1e400", "0x1", "", " ", "1__0", "_1", "1,5", "0.5 x", "\u00a00.5", "\u001c0.5", None, [0.5], {"v": 0.5}, "-0"]
    for value in floats:
        add(f"lax/probability={json.dumps(value)}", mutate(k, set_path("prediction.probability", value)))
    for value in ["0.5", True, "0.9_9", "1", "0"]:
        add(f"lax/market_probability={json.dumps(value)}", mutate(k, set_path("prediction.market_probability", value)))
    ints = ["120", 120.0, "120.0", " 120 ", "1_20", "+120", "0120", True, 1.2e2, "120.5", 120.5, "1.2e2", "12_", "+_120", "120.", ".0", "0x78", 1.0000000000000002e2, "120.00", None, "١٢٠"]
    for i, value in enumerate(ints):
        def edit(body: dict[str, Any], value: Any = value) -> None:
            body["prediction"]["crowd"] = {"agents": value, "bullish": 60, "bearish": 40, "neutral": 20}
        add(f"lax/agents/{i}={json.dumps(value)}", mutate(k, edit))
    add("lax/neutral=true", mutate(k, lambda b: b["prediction"].update(crowd={"agents": 2, "bullish": 1, "bearish": 0, "neutral": True})))
    add("lax/neutral=false", mutate(k, lambda b: b["prediction"].update(crowd={"agents": 1, "bullish": 1, "bearish": 0, "neutral": False})))
    for value in [5, 5.0, True, None, ["a"], {"a": 1}]:
        add(f"lax/question={json.dumps(value)}", mutate(k, set_path("prediction.question", value)))
        add(f"lax/correlation_id={json.dumps(value)}", mutate(k, set_path("correlation_id", value)))
    for value in ["0.1", True, "0"]:
        add(f"lax/decision.stake_fraction={json.dumps(value)}", mutate(k, set_path("decision.stake_fraction", value)))
    add("lax/decision.side=YES", mutate(k, set_path("decision.side", "YES")))
    add("lax/decision.reason=5", mutate(k, set_path("decision.reason", 5)))


DATETIMES = [
    "2026-11-26T21:17:10Z", "2026-11-26T21:17:10", "2026-11-26 21:17:10", "2026-11-26t21:17:10z",
    "2026-11-26_21:17:10", "2026-11-26", "2026-11-26T21:17", "2026-11-26T21:17Z",
    "2026-11-26T21:17:10.5Z", "2026-11-26T21:17:10,5Z", "2026-11-26T21:17:10.123456789Z",
    "2026-11-26T21:17:10.1234565Z", "2026-11-26T21:17:10.000000Z", "2026-11-26T21:17:10+01:00",
    "2026-11-26T21:17:10+0100", "2026-11-26T21:17:10-23:59", "2026-11-26T21:17:10+23:59",
    "2026-11-26T21:17:10\u221201:00", "2026-11-26T21:17:10-00:00", "2024-02-29T00:00:00",
    "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z", "1700000000", "1700000000.5",
    "1.5e9", "+1700000000", "-1", ".5", "2026", "20000000001", "1700000000000.5",
    1700000000, 1700000000.5, 1700000000000, 20000000000, 20000000001, -1, 0, -0.0000015,
    1700000000.1234567, 253402300799999, -62135596800000, 1e10,
    # rejected
    "2026-11-26T21:17:10+01", "2026-11-26T21:17:10+24:00", "2026-11-26T21", "2026-11-26T24:00:00",
    "2026-11-26T23:59:60", "2026-02-29T00:00:00", "0000-01-01T00:00:00", "2026-11-26T21:17:10.Z",
    "20261126T211710Z", "2026-11-26T21:17:10 Z", " 2026-11-26T21:17:10", "2026-11-26T21:17:10 ",
    "2026-11-26Z", "2026-13-01", "1e3", "-1e1", "1_700_000_000", "99999999999999999999", "now", "",
    "0001-01-01T00:00:00+00:01", "9999-12-31T23:59:59-00:01", 253402300800000, -62135596800001,
    1e20, True, None, [2026], {"t": 1},
    # the calendar and the seconds/milliseconds switch, exactly
    "2000-02-29", "1900-02-29", "2100-02-29", "2023-02-29", "2026-04-31", "2026-06-31", "2026-09-31",
    "2026-11-31", "2026-04-30", 20000000000.0, "20000000000.0", 20000000000.5, "0000-02-29T00:00:00",
]


def datetimes() -> None:
    for i, value in enumerate(DATETIMES):
        field = ["prediction.generated_at", "published_at", "prediction.resolves_at"][i % 3]
        add(f"datetime/{field}={json.dumps(value, ensure_ascii=False)}", mutate("oddsoddy_strategy", set_path(field, value)))


def envelope_rules() -> None:
    k = "oddsoddy_strategy"
    for value in ["1", None, 1, "2", "1.0", "", True, [], {"v": "1"}]:
        add(f"envelope/schema_version={json.dumps(value)}", mutate(k, set_path("schema_version", value)))
    add("envelope/schema_version-absent", mutate(k, delete_path("schema_version")))
    for value in ["crowd_simulation", "other_arena", None, 1, "Crowd_Simulation"]:
        add(f"envelope/arena={json.dumps(value)}", mutate(k, set_path("arena", value)))
    add("envelope/arena-absent", mutate(k, delete_path("arena")))
    for field in ["prediction", "decision", "decision_kind"]:
        add(f"envelope/missing-{field}", mutate(k, delete_path(field)))
    for field in ["published_at", "correlation_id", "meta"]:
        add(f"envelope/default-{field}", mutate(k, delete_path(field)))
    for kind in ["fomo2_signal", "polymarket_side", "unknown_kind", None, 3]:
        add(f"envelope/decision_kind={json.dumps(kind)}", mutate(k, set_path("decision_kind", kind)))
    for decision in [[], "x", None, {}, {"multiplier": 2.5, "reason": "x"}, {"multiplier": -0.1, "reason": "x"}, {"multiplier": 1.0}, {"multiplier": "1.5", "reason": "r", "x": 1}]:
        add(f"envelope/decision={compact(decision)}", mutate(k, set_path("decision", decision)))
    add("envelope/fomo2-decision-shape", mutate("fomo2_report", set_path("decision", {"action": "short", "strength": 1.5, "reason": 1})))
    add("envelope/polymarket-decision-shape", mutate("polymarket_bet", set_path("decision", {"side": "yes", "edge": None, "price": 1.5, "stake_fraction": 0.3, "reason": "r"})))
    add("envelope/polymarket-edge-missing", mutate("polymarket_bet", set_path("decision", {"side": "abstain", "price": None, "stake_fraction": 0.0, "reason": "r"})))
    add("envelope/polymarket-edge-string", mutate("polymarket_bet", set_path("decision", {"side": "abstain", "edge": "0.1", "price": None, "stake_fraction": 0, "reason": "r"})))
    add("envelope/kind-mismatch-and-bad-prediction", mutate("fomo2_report", lambda b: (b.update(decision_kind="polymarket_side"), b["prediction"].update(probability=7))))
    for meta in [[], None, "x", 1, {"nested": {"deep": [1, {"a": None}]}}]:
        add(f"envelope/meta={compact(meta)}", mutate(k, set_path("meta", meta)))
    for top in ["[]", '"envelope"', "1", "null", "true", "{}", '[{"schema_version":"1"}]']:
        add(f"envelope/top-level={top}", top)


def broken_json() -> None:
    base = compact(envelope_for(PREDICTIONS["fomo2_report"]))
    cases = {
        "empty": "",
        "whitespace": "   ",
        "truncated": base[: len(base) // 2],
        "trailing-comma-object": base[:-1] + ",}",
        "trailing-comma-array": base.replace('"staking yield","unlock schedule"]', '"staking yield","unlock schedule",]'),
        "nan-token": base.replace('"probability":0.72', '"probability":NaN'),
        "infinity-token": base.replace('"probability":0.72', '"probability":Infinity'),
        "neg-infinity-token": base.replace('"probability":0.72', '"probability":-Infinity'),
        "single-quotes": base.replace('"arena"', "'arena'"),
        "comment": "// c\n" + base,
        "bom": "\ufeff" + base,
        "leading-zero": base.replace('"probability":0.72', '"probability":00.72'),
        "plus-sign": base.replace('"probability":0.72', '"probability":+0.72'),
        "bare-dot": base.replace('"probability":0.72', '"probability":.72'),
        "hex": base.replace('"probability":0.72', '"probability":0x1'),
        "duplicate-top-key": base[:-1] + ',"arena":"crowd_simulation"}',
        "duplicate-key-in-meta": base.replace('"meta":{}', '"meta":{"a":1,"a":2}'),
        "duplicate-escaped-key": base.replace('"meta":{}', '"meta":{"a":1,"\\u0061":2}'),
        "duplicate-key-in-prediction": base.replace('"probability":0.72', '"probability":0.72,"probability":0.1'),
        "lone-high-surrogate": base.replace("Will ETH", "Will \\ud800 ETH"),
        "lone-low-surrogate": base.replace("Will ETH", "Will \\udc00 ETH"),
        "reversed-pair": base.replace("Will ETH", "Will \\udc00\\ud800 ETH"),
        "valid-pair": base.replace("Will ETH", "Will \\ud83d\\ude00 ETH"),
        "surrogate-in-meta-key": base.replace('"meta":{}', '"meta":{"\\udfff":1}'),
        "raw-tab-in-string": base.replace("Will ETH", "Will\tETH"),
        "raw-newline-in-string": base.replace("Will ETH", "Will\nETH"),
        "bad-escape": base.replace("Will ETH", "Will \\x41 ETH"),
        "short-unicode-escape": base.replace("Will ETH", "Will \\u41 ETH"),
        "two-values": base + " " + base,
        "unquoted-key": base.replace('"arena"', "arena"),
        "true-misspelt": base.replace('"resolves_at":"2026-12-03T00:00:00Z"', '"resolves_at":nul'),
        "version-2-but-broken": '{"schema_version":"2",',
    }
    for name, payload in cases.items():
        add(f"json/{name}", payload)
    for depth in [127, 128, 129, 5000]:
        nested = "[" * (depth - 2) + "]" * (depth - 2)
        add(f"json/meta-depth-{depth}", base.replace('"meta":{}', '"meta":{"x":' + nested + "}"))
    add("json/depth-200-version-2", '{"schema_version":"2","x":' + "[" * 200 + "]" * 200 + "}")


def sizes_and_bytes() -> None:
    base = compact(envelope_for(PREDICTIONS["polymarket_bet"]))
    limit = ref.DEFAULT_MAX_PAYLOAD_BYTES
    add("size/exactly-the-limit", base, pad_to=limit)
    add("size/one-byte-over", base, pad_to=limit + 1)
    add("size/custom-limit-ok", base, max_payload_bytes=len(base.encode()))
    add("size/custom-limit-over", base, max_payload_bytes=len(base.encode()) - 1)
    add("size/over-and-invalid-utf8", base.encode() + b"\xff", max_payload_bytes=len(base.encode()))
    big_meta = {"excerpt": "lorem ipsum " * 5000, "rows": list(range(3000))}
    add("size/large-meta", compact(envelope_for(PREDICTIONS["polymarket_bet"], meta=big_meta)))
    raw = base.encode()
    for name, bad in {
        "lone-ff": raw.replace(b"Fed", b"F\xffd"),
        "overlong-slash": raw.replace(b"Fed", b"F\xc0\xafd"),
        "encoded-surrogate": raw.replace(b"Fed", b"F\xed\xa0\x80d"),
        "truncated-multibyte": raw.replace(b"Fed", b"F\xe2\x82d"),
        "latin1": raw.replace(b"Fed", "Féd".encode("latin-1")),
        "version-2-invalid-utf8": b'{"schema_version":"2","x":"\xff"}',
        "broken-json-invalid-utf8": b"{\xff",
    }.items():
        add(f"utf8/{name}", bad)


DOUBLE_OVERFLOW = 2**1024 - 2**970  # the least integer that rounds to infinity


def parity_classes() -> None:
    """The disagreement classes SPEC sections 5 and 6 settle, ten or more each."""
    k = "oddsoddy_strategy"
    fields = ["prediction.generated_at", "published_at", "prediction.resolves_at"]
    out_of_range = [
        "0001-01-01T00:00:00+01:00", "0001-01-01T00:59:59+01:00", "0001-01-01T00:00:00.000001+00:01",
        "0001-01-01 00:00+00:01", "0001-01-01T23:58:59+23:59", "0001-01-01T00:00:00.5+00:01",
        "9999-12-31T23:59:59-01:00", "9999-12-31T23:00:00-01:00", "9999-12-31T23:59:59.999999-00:01",
        "9999-12-31 23:30:00-00:31", "9999-12-31T23:59-00:01", "9999-12-31T00:00:01-23:59",
    ]
    in_range = ["0001-01-01T01:00:00+01:00", "9999-12-31T22:59:59.999999-01:00", "0001-01-01T00:00:00-00:01"]
    for i, value in enumerate(out_of_range + in_range):
        add(f"parity/datetime-range/{fields[i % 3]}={value}", mutate(k, set_path(fields[i % 3], value)))

    base = compact(envelope_for(PREDICTIONS["polymarket_bet"]))
    over = "1" * 4301
    for name, literal in {
        "meta": f'{{"n":{over}}}', "meta-negative": f'{{"n":-{over}}}', "meta-nested": f'{{"a":[[{over}]]}}',
        "meta-4300-nines": '{"n":' + "9" * 4300 + "}",
    }.items():
        add(f"parity/int-literal-digits/{name}", base.replace('"meta":{}', f'"meta":{literal}'))
    for field in ["agents", "bullish", "bearish", "neutral"]:
        add(f"parity/int-literal-digits/{field}", base.replace(f'"{field}":', f'"{field}":{over},"x_{field}":', 1))
    add("parity/int-literal-digits/probability", base.replace('"probability":0.64', f'"probability":{over}'))
    add("parity/int-literal-digits/stake", base.replace('"stake_fraction":', f'"stake_fraction":{over},"x":', 1))
    add("parity/int-literal-digits/308-digits-ok", base.replace('"meta":{}', '"meta":{"n":' + "9" * 308 + "}"))

    strings = {
        "4301": over, "4301-negative": "-" + over, "4301-point-zero": over + ".0", "4301-then-junk": over + "x",
        "4301-space-first": " " + over, "4301-plus": "+" + over, "4301-zero-first": "0" + over,
        "4300": "1" * 4300, "4300-junk": "1" * 4300 + "x", "30": "1" * 30, "30-negative": "-" + "9" * 30,
        "20": "98765432109876543210", "zeros-4301": "0" * 4301, "zero-padded-4300": "-0" + "1" * 4300,
    }
    for i, (name, value) in enumerate(strings.items()):
        field = ["agents", "bullish", "bearish", "neutral"][i % 4]
        add(f"parity/int-string-digits/{field}={name}", mutate(k, set_path(f"prediction.crowd.{field}", value)))
    for value in [9.223372036854775808e18, -9.223372036854775808e18, 9.223372036854774784e18, -9.223372036854774784e18]:
        add(f"parity/int-from-float-bounds/agents={value!r}", mutate(k, set_path("prediction.crowd.agents", value)))
    add("parity/int-string-digits/big-sum", mutate(k, set_path("prediction.crowd", {"agents": 90, "bullish": "9" * 25, "bearish": "9" * 25, "neutral": 10})))

    zero_fields = ["prediction.probability", "prediction.confidence", "prediction.market_probability", "decision.multiplier"]
    for lexeme in ["-0", "-0.0", "-0e0", "-0E+0", "-0.000", "0", "-0e-5"]:
        for field in zero_fields:
            body = envelope_for(PREDICTIONS[k])
            set_path(field, "__ZERO__")(body)
            add(f"parity/minus-zero/{field}={lexeme}", compact(body).replace('"__ZERO__"', lexeme))
    for field, kind in [("decision.strength", "fomo2_report"), ("decision.edge", "polymarket_bet"), ("decision.stake_fraction", "polymarket_bet")]:
        for lexeme in ["-0", "-0.0"]:
            body = envelope_for(PREDICTIONS[kind])
            set_path(field, "__ZERO__")(body)
            add(f"parity/minus-zero/{field}={lexeme}", compact(body).replace('"__ZERO__"', lexeme))
    strength_minus_zero = envelope_for(with_prediction("fomo2_report", probability=0.5, confidence=0.9))
    add("parity/minus-zero/strength-verify", compact(strength_minus_zero).replace('"strength":0.0', '"strength":-0.0'))

    overflow = {
        "meta-1e400": '{"x":1e400}', "meta-minus-1e400": '{"x":-1e400}', "meta-1E309": '{"x":[1E309]}',
        "meta-2e308": '{"x":{"y":2e308}}', "meta-10^309": '{"x":1' + "0" * 309 + "}",
        "meta-boundary-int": f'{{"x":{DOUBLE_OVERFLOW}}}', "meta-boundary-int-minus-1": f'{{"x":{DOUBLE_OVERFLOW - 1}}}',
        "meta-1.7976931348623159e308": '{"x":1.7976931348623159e308}',
        "meta-1.7976931348623158e308": '{"x":1.7976931348623158e308}', "meta-max": '{"x":1.7976931348623157e308}',
        "meta-1e-400": '{"x":1e-400}',
    }
    for name, meta in overflow.items():
        add(f"parity/overflow/{name}", base.replace('"meta":{}', f'"meta":{meta}'))
    for name, lexeme in {"probability-1e400": "1e400", "probability-1e309": "1e309"}.items():
        add(f"parity/overflow/{name}", base.replace('"probability":0.64', f'"probability":{lexeme}'))
    add("parity/overflow/stake-1e999", base.replace('"stake_fraction":', '"stake_fraction":1e999,"x":', 1))


def decision_boundaries() -> None:
    """Vectors exactly on every decision boundary, in binary."""
    bullish = {"agents": 10, "bullish": 6, "bearish": 3, "neutral": 1}
    bearish = {"agents": 10, "bullish": 3, "bearish": 6, "neutral": 1}
    cases = [
        ("fomo2_report", 0.625, 0.8, None, bullish, "score=+0.2"),
        ("fomo2_report", 0.625, 0.8, None, bearish, "score=+0.2/split"),
        ("fomo2_report", 0.375, 0.8, None, bearish, "score=-0.2"),
        ("fomo2_report", 0.375, 0.8, None, bullish, "score=-0.2/split"),
        ("fomo2_report", 0.625, 0.5, None, bullish, "confidence=0.5"),
        ("polymarket_bet", 0.05, 0.9, 0.1, bullish, "edge=-0.05"),
        ("polymarket_bet", 0.07, 0.9, 0.02, bullish, "edge=+0.05"),
        ("polymarket_bet", 0.75, 1.0, 0.5, bullish, "stake=0.25"),
        ("polymarket_bet", 0.25, 1.0, 0.5, bullish, "stake=0.25/no"),
        ("polymarket_bet", 0.7, 0.5, 0.5, bullish, "confidence=0.5"),
        ("oddsoddy_strategy", 0.5, 0.9, 0.5, bullish, "multiplier=1.0"),
        ("oddsoddy_strategy", 0.5, 1.0, 0.25, bullish, "multiplier=2.0"),
        ("oddsoddy_strategy", 0.5, 0.5, None, bullish, "multiplier=1.0/no-market"),
        ("oddsoddy_strategy", 0.0, 1.0, 0.5, bullish, "multiplier=0.0"),
    ]
    for kind, p, c, m, crowd, label in cases:
        prediction = with_prediction(kind, probability=p, confidence=c, market_probability=m, crowd=crowd)
        add(f"boundary/{kind}/{label}", compact(envelope_for(prediction)))
    k = "fomo2_report"
    for crowd in [
        {"agents": 10, "bullish": 5, "bearish": 4, "neutral": 0},
        {"agents": 10, "bullish": 0, "bearish": 0, "neutral": 9},
        {"agents": 1_000_000, "bullish": 999_999, "bearish": 0, "neutral": 0},
        {"agents": 10, "bullish": 5, "bearish": 5, "neutral": 1},
        {"agents": 1, "bullish": 9_223_372_036_854_775_807, "bearish": 9_223_372_036_854_775_807, "neutral": 2},
    ]:
        add(f"boundary/crowd-sum={compact(crowd)}", mutate(k, set_path("prediction.crowd", crowd)))
    wide = {f"k{i}": i for i in range(20)}
    base = compact(envelope_for(PREDICTIONS[k], meta=wide))
    add("boundary/duplicate-key/meta-20-members", base.replace('"k19":19', '"k19":19,"k3":0'))
    add("boundary/duplicate-key/meta-20-members-escaped", base.replace('"k19":19', '"k19":19,"\\u006b3":0'))
    add("boundary/duplicate-key/meta-20-members-ok", base)
    extra = "".join(f'"x{i}":{i},' for i in range(12))
    add("boundary/duplicate-key/prediction-wide", base.replace('"prediction":{', '"prediction":{' + extra + '"probability":0.1,'))
    add("boundary/duplicate-key/crowd-wide", base.replace('"crowd":{', '"crowd":{' + extra + '"x11":1,'))
    top = "".join(f'"y{i}":{i},' for i in range(12))
    add("boundary/duplicate-key/top-wide", "{" + top + base[1:-1] + ',"y0":1}')
    add("boundary/duplicate-key/top-wide-ok", "{" + top + base[1:])
    for field, unit, count, ok in [
        ("source_id", "😀", 256, True), ("source_id", "e\u0301", 128, True), ("source_id", "e\u0301", 129, False),
        ("question", "😀", 2000, True), ("question", "😀", 2001, False), ("rationale", "𝄞", 4000, True),
        ("rationale", "𝄞", 4001, False),
    ]:
        text = json.loads(f'"{unit}"') * count
        add(f"boundary/code-points/{field}={count}x{unit}", mutate(k, set_path(f"prediction.{field}", text)))
    for count in [280, 281]:
        add(f"boundary/code-points/driver={count}x😀", mutate(k, set_path("prediction.drivers", ["😀" * count])))


PARTS = [
    "valid_envelopes", "decision_sweep", "bounds", "lax_numbers", "datetimes", "envelope_rules",
    "broken_json", "sizes_and_bytes", "parity_classes", "decision_boundaries",
]


def main() -> None:
    for part in PARTS:
        globals()[part]()
    names = [v["name"] for v in vectors]
    duplicates = {n for n in names if names.count(n) > 1}
    if duplicates:
        sys.exit(f"duplicate vector names: {sorted(duplicates)}")
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8") as out:
        for vector in vectors:
            out.write(json.dumps(vector, ensure_ascii=True) + "\n")
    accepted = sum(1 for v in vectors if v["expect"]["ok"])
    print(f"wrote {len(vectors)} vectors ({accepted} accepted) to {OUT}", file=sys.stderr)


if __name__ == "__main__":
    main()
