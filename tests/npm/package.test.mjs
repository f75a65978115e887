// The packed package, imported as an ES module in Node: the parity corpus,
// round trips, errors as data or as ValidationError, batch, Standard Schema.
import test from "node:test";
import assert from "node:assert/strict";
import * as ce from "crowd-envelope";
import { PREDICTIONS, corpus, errorSet, same, withoutFields } from "./helpers.mjs";

test("every corpus vector decodes as the Pydantic reference says, as a string and as bytes", () => {
    const vectors = corpus();
    assert.ok(vectors.length >= 300);
    const failures = [];
    for (const vector of vectors) {
        const forms = typeof vector.payload === "string" ? [vector.payload, Buffer.from(vector.payload)] : [vector.payload];
        for (const payload of forms) {
            const problem = disagreement(vector, payload);
            if (problem) failures.push(`${vector.name} (${typeof payload}): ${problem}`);
        }
    }
    assert.deepEqual(failures, []);
});

function disagreement({ expect, maxPayloadBytes }, payload) {
    const result = ce.tryDecodeEnvelope(payload, maxPayloadBytes === undefined ? undefined : { maxPayloadBytes });
    if (result.ok !== expect.ok) return `ok=${result.ok}, reference ok=${expect.ok} ${JSON.stringify(result.errors ?? "")}`;
    if (!result.ok) {
        if (result.reason !== expect.reason) return `reason ${result.reason}, reference ${expect.reason}`;
        const errors = errorSet(result.errors);
        const wanted = errorSet(expect.errors);
        if (!same(errors, wanted)) return `errors ${errors}, reference ${wanted}`;
        if (result.errors.some((e) => typeof e.message !== "string" || e.message === "")) return "an error without a message";
        return null;
    }
    const actual = withoutFields(result.envelope, expect.volatile);
    const wanted = withoutFields(expect.envelope, expect.volatile);
    if (!same(actual, wanted)) return `values differ:\n  wasm:      ${JSON.stringify(actual)}\n  reference: ${JSON.stringify(wanted)}`;
    if (ce.verifyDecision(result.envelope) !== expect.verify) return `verifyDecision ${!expect.verify}, reference ${expect.verify}`;
    return null;
}

test("decoded envelopes are plain objects of the wire shape", () => {
    const envelope = ce.buildEnvelope(PREDICTIONS.polymarket_bet, { meta: { nested: { k: [1, "x"] } } });
    const decoded = ce.decodeEnvelope(ce.encodeEnvelope(envelope));
    assert.equal(Object.getPrototypeOf(decoded), Object.prototype);
    assert.equal(Object.getPrototypeOf(decoded.meta), Object.prototype);
    assert.deepEqual(decoded.meta, { nested: { k: [1, "x"] } });
    assert.match(decoded.published_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z$/);
    assert.equal(decoded.decision_kind, "polymarket_side");
    assert.deepEqual(Object.keys(decoded), [
        "schema_version", "arena", "prediction", "decision", "decision_kind", "published_at", "correlation_id", "meta",
    ]);
});

test("build, encode, decode round trip for each source type", () => {
    for (const [sourceType, prediction] of Object.entries(PREDICTIONS)) {
        const envelope = ce.buildEnvelope(prediction, {
            correlationId: `id-${sourceType}`,
            publishedAt: new Date(Date.UTC(2026, 10, 26, 21, 0, 0, 250)),
            meta: { run: 7 },
        });
        assert.equal(envelope.correlation_id, `id-${sourceType}`);
        assert.equal(envelope.published_at, "2026-11-26T21:00:00.250000Z");
        const payload = ce.encodeEnvelope(envelope);
        assert.ok(!payload.includes(" ") || payload.includes(prediction.question));
        const result = ce.tryDecodeEnvelope(payload);
        assert.equal(result.ok, true);
        assert.ok(same(result.envelope, envelope), sourceType);
        assert.equal(ce.encodeEnvelope(result.envelope), payload, "encoding is canonical");
        assert.equal(ce.verifyDecision(result.envelope), true);
    }
});

test("the mappers give the decisions buildEnvelope embeds, per SPEC section 3", () => {
    assert.deepEqual(ce.crowdToFomo2Signal(PREDICTIONS.fomo2_report), ce.buildEnvelope(PREDICTIONS.fomo2_report).decision);
    const side = ce.crowdToPolymarketSide(PREDICTIONS.polymarket_bet);
    assert.equal(side.side, "yes");
    assert.ok(Object.is(side.edge, 0.7 - 0.5));
    assert.ok(Object.is(side.stake_fraction, Math.min(0.25, 0.5 * 0.8 * ((0.7 - 0.5) / (1.0 - 0.5)))));
    const multiplier = ce.crowdToOddsoddyMultiplier(PREDICTIONS.oddsoddy_strategy);
    assert.ok(Object.is(multiplier.multiplier, Math.min(2.0, Math.max(0.0, 1.0 + 0.7 * (0.6 / 0.45 - 1.0)))));
    assert.equal(multiplier.reason, "value_bet");
});

test("a decision that is not SPEC's fails verifyDecision; an invalid envelope is false, not a throw", () => {
    const envelope = ce.buildEnvelope(PREDICTIONS.fomo2_report);
    assert.equal(ce.verifyDecision({ ...envelope, decision: { ...envelope.decision, strength: 0.5 } }), false);
    assert.equal(ce.verifyDecision({}), false);
    assert.equal(ce.verifyDecision(null), false);
});

test("validatePrediction coerces as Pydantic does and throws ValidationError with every path", () => {
    const canonical = ce.validatePrediction({ ...PREDICTIONS.fomo2_report, probability: "0.81", crowd: { agents: 120.0, bullish: "80", bearish: 25, neutral: 15 } });
    assert.equal(canonical.probability, 0.81);
    assert.equal(canonical.crowd.bullish, 80);
    assert.equal(canonical.market_probability, null);
    assert.deepEqual(canonical.drivers, []);
    let thrown;
    try {
        ce.validatePrediction({ ...PREDICTIONS.fomo2_report, probability: NaN, confidence: 2, source_id: "  ", crowd: { agents: 1n, bullish: 1, bearish: 1, neutral: 1 } });
    } catch (error) {
        thrown = error;
    }
    assert.ok(thrown instanceof ce.ValidationError);
    assert.ok(thrown instanceof Error);
    assert.equal(thrown.name, "ValidationError");
    assert.equal(thrown.reason, "invalid");
    assert.deepEqual(errorSet(thrown.errors), [
        "confidence less_than_equal", "crowd crowd_sum_mismatch", "probability finite_number", "source_id blank_string",
    ]);
    assert.equal(thrown.errors.find((e) => e.path === "probability").message, "expected a finite number, found NaN");
});

test("values JSON has no word for are named as the caller gave them", () => {
    const at = (value, path) => {
        try {
            ce.validatePrediction(value);
        } catch (error) {
            return error.errors.find((e) => e.path === path)?.message;
        }
        return "accepted";
    };
    const p = PREDICTIONS.fomo2_report;
    assert.equal(at({ ...p, generated_at: new Date("nope") }, "generated_at"), "expected a date-time, found an invalid Date");
    assert.equal(at({ ...p, confidence: Infinity }, "confidence"), "expected a finite number, found Infinity");
    assert.equal(at({ ...p, crowd: { ...p.crowd, bullish: -Infinity } }, "crowd.bullish"), "expected an integer, found -Infinity");
    // The string "NaN" is a string, and said so.
    assert.equal(at({ ...p, probability: "NaN" }, "probability"), 'expected a finite number, found the string "NaN"');
    assert.throws(() => ce.buildEnvelope({ ...p, probability: NaN }), (error) => error.message === "probability: expected a finite number, found NaN");
});

test("an already parsed value given to tryDecodeEnvelope is told what to do", () => {
    const { errors } = ce.tryDecodeEnvelope(JSON.parse(ce.encodeEnvelope(ce.buildEnvelope(PREDICTIONS.fomo2_report))));
    assert.match(errors[0].message, /^expected JSON text as a string, Uint8Array or ArrayBuffer, found an object \(already parsed\? .*envelopeSchema/);
    assert.match(ce.tryDecodeEnvelope(new Map()).errors[0].message, /found a Map$/);
    assert.match(ce.tryDecodeEnvelope(42).errors[0].message, /found a number$/);
});

test("wrong types from JS throw ValidationError, never a wasm trap, and the instance keeps working", () => {
    const bad = [undefined, null, 42, "text", [], Symbol("s"), () => 1, { toJSON() { throw new Error("boom"); } }];
    const cyclic = { ...PREDICTIONS.fomo2_report };
    cyclic.self = cyclic;
    bad.push(cyclic);
    for (const value of bad) {
        assert.throws(() => ce.buildEnvelope(value), ce.ValidationError);
        assert.throws(() => ce.validatePrediction(value), ce.ValidationError);
        assert.throws(() => ce.encodeEnvelope(value), ce.ValidationError);
        assert.throws(() => ce.crowdToFomo2Signal(value), ce.ValidationError);
    }
    assert.throws(() => ce.buildEnvelope(PREDICTIONS.fomo2_report, { publishedAt: 12n ** 40n, meta: [], correlationId: 5 }), (error) => {
        assert.deepEqual(errorSet(error.errors), [
            "options.correlationId string_type", "options.meta dict_type", "options.publishedAt datetime_from_date_parsing",
        ]);
        return true;
    });
    assert.equal(ce.tryDecodeEnvelope(ce.encodeEnvelope(ce.buildEnvelope(PREDICTIONS.fomo2_report))).ok, true);
});

test("tryDecodeEnvelope never throws, whatever it is given", () => {
    const inputs = [undefined, null, 0, {}, [], "", "{", "\uD800", new ArrayBuffer(3), new Uint8Array([0xff, 0xfe]), "x".repeat(2_000_000), Symbol("s")];
    for (const input of inputs) {
        const result = ce.tryDecodeEnvelope(input);
        assert.equal(result.ok, false);
        assert.ok(result.errors.length > 0);
    }
    assert.equal(ce.tryDecodeEnvelope("\uD800").reason, "invalid_utf8");
    assert.equal(ce.tryDecodeEnvelope("x".repeat(2_000_000)).reason, "too_large");
    assert.equal(ce.tryDecodeEnvelope("{}", { maxPayloadBytes: -1 }).errors[0].path, "options.maxPayloadBytes");
    assert.equal(ce.tryDecodeEnvelope("{}", { maxPayloadBytes: 1 }).reason, "too_large");
    assert.equal(ce.decodeEnvelope("nope"), null);
});

test("decodeBatch gives one result per payload, in order", () => {
    const good = ce.encodeEnvelope(ce.buildEnvelope(PREDICTIONS.oddsoddy_strategy));
    const results = ce.decodeBatch([good, "{", Buffer.from(good), '{"schema_version":"9"}']);
    assert.deepEqual(results.map((r) => r.ok), [true, false, true, false]);
    assert.deepEqual(results.map((r) => r.reason), [undefined, "invalid_json", undefined, "unsupported_version"]);
    assert.deepEqual(ce.decodeBatch(new Set([good])).length, 1);
    assert.deepEqual(ce.decodeBatch([]), []);
    // Never throws: a string is one payload, not many; options that throw.
    for (const wrong of [good, Buffer.from(good), null, 42]) {
        const [only, ...rest] = ce.decodeBatch(wrong);
        assert.equal(only.ok, false);
        assert.deepEqual(rest, []);
    }
    const hostile = { get maxPayloadBytes() { throw new Error("boom"); } };
    assert.doesNotThrow(() => ce.decodeBatch([good], hostile));
    assert.equal(ce.decodeBatch([good], hostile)[0].ok, false);
    assert.equal(ce.tryDecodeEnvelope(good, hostile).ok, false);
});

test("the Standard Schema v1 interface validates envelopes and predictions", () => {
    const schema = ce.envelopeSchema["~standard"];
    assert.equal(schema.version, 1);
    assert.equal(schema.vendor, "crowd-envelope");
    const envelope = ce.buildEnvelope(PREDICTIONS.fomo2_report);
    const ok = schema.validate(JSON.parse(JSON.stringify(envelope)));
    assert.ok(same(ok.value, envelope));
    assert.equal(ok.issues, undefined);
    const bad = schema.validate({ ...envelope, prediction: { ...envelope.prediction, crowd: { ...envelope.prediction.crowd, bullish: -1 } } });
    assert.ok(bad.issues.some((issue) => same(issue.path, ["prediction", "crowd", "bullish"]) && issue.code === "greater_than_equal"));
    const drivers = ce.predictionSchema["~standard"].validate({ ...PREDICTIONS.fomo2_report, drivers: ["ok", ""] });
    assert.ok(drivers.issues.some((issue) => same(issue.path, ["drivers", 1]) && issue.code === "string_too_short"));
});

test("the constants have SPEC's values", () => {
    assert.equal(ce.DEFAULT_STREAM_NAME, "maf:arena:crowd_simulation:output");
    assert.equal(ce.SCHEMA_VERSION, "1");
    assert.equal(ce.DEFAULT_MAX_PAYLOAD_BYTES, 1048576);
});

test("an envelope built from the decoder's tape is what JSON.parse of the payload gives, keys in order", () => {
    const base = ce.buildEnvelope(PREDICTIONS.polymarket_bet, { correlationId: "c", publishedAt: "2026-01-01T00:00:00Z" });
    const metas = [
        {},
        { producer: "crowd-sim-7", run: 1842, region: "eu-west-1" },
        { s: "a b", n: -12, t: true, f: false, z: null, big: 999999999999999 },
        { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8 },
        { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9 },
        { b: 1, 2: 0, 1: "x" },
        { nested: { deep: [1, 2.5, "é"] }, x: 1e21 },
        { ["__proto__"]: 1 },
        { q: 'quote " and \\ backslash', u: "\u0001" },
    ];
    for (const meta of metas) {
        const payload = JSON.stringify({ ...base, meta });
        const result = ce.tryDecodeEnvelope(payload);
        assert.equal(result.ok, true, payload);
        const parsed = JSON.parse(payload);
        assert.ok(same(result.envelope, parsed), payload);
        assert.equal(JSON.stringify(result.envelope), JSON.stringify(parsed), payload);
        assert.equal(Object.getPrototypeOf(result.envelope.meta), Object.prototype);
        assert.equal(ce.encodeEnvelope(result.envelope), ce.encodeEnvelope(parsed));
    }
    // Escapes in the tape's strings (read as JSON tokens), and non-ASCII
    // text (offsets in UTF-16 units, as the string counts them).
    for (const [question, rationale] of [
        ['He said "yes"\n\tthen \\ left', "tab\there \u0001"],
        ["Café à Paris? 😀", "ünïcödé"],
    ]) {
        const envelope = ce.buildEnvelope({ ...PREDICTIONS.fomo2_report, question, rationale });
        const payload = ce.encodeEnvelope(envelope);
        const result = ce.tryDecodeEnvelope(payload);
        assert.equal(result.ok, true, payload);
        assert.ok(same(result.envelope, JSON.parse(payload)), payload);
        assert.equal(result.envelope.prediction.question, question);
        assert.equal(result.envelope.prediction.rationale, rationale);
    }
    const proto = ce.tryDecodeEnvelope(JSON.stringify({ ...base, meta: {} }).replace('"meta":{}', '"meta":{"__proto__":{"polluted":1}}'));
    assert.equal(Object.hasOwn(proto.envelope.meta, "__proto__"), true, "an own property, as JSON.parse makes it");
    assert.equal({}.polluted, undefined);
});

test("every form producers write decodes to the canonical envelope, keys in SPEC order", () => {
    const base = ce.buildEnvelope(
        { ...PREDICTIONS.polymarket_bet, market_probability: null, rationale: "", drivers: [], resolves_at: null },
        { correlationId: "c", publishedAt: "2026-01-01T00:00:01.5Z" },
    );
    const canonical = ce.encodeEnvelope(base);
    const expected = JSON.stringify(JSON.parse(canonical));
    const sorted = (v) => (v && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted(v[k])])) : v);
    const leftOut = JSON.parse(canonical);
    for (const k of ["schema_version", "arena", "meta"]) delete leftOut[k];
    for (const k of ["market_probability", "rationale", "drivers", "resolves_at"]) delete leftOut.prediction[k];
    const forms = {
        offsets: canonical.replace(base.published_at, "2026-01-01T02:00:01.500+02:00")
            .replace(base.prediction.generated_at, "0001-01-01T01:00:00+01:00"),
        omitted: JSON.stringify(leftOut),
        separators: canonical.replaceAll(",", ", ").replaceAll('":', '": '),
        sorted: JSON.stringify(sorted(JSON.parse(canonical))),
        pretty: JSON.stringify(JSON.parse(canonical), null, 2),
    };
    for (const [form, payload] of Object.entries(forms)) {
        const result = ce.tryDecodeEnvelope(payload);
        assert.equal(result.ok, true, `${form}: ${JSON.stringify(result.errors)}`);
        const want = form === "offsets" ? expected.replace(base.prediction.generated_at, "0001-01-01T00:00:00Z") : expected;
        assert.equal(JSON.stringify(result.envelope), want, form);
        const bytes = ce.tryDecodeEnvelope(Buffer.from(payload));
        assert.equal(JSON.stringify(bytes.envelope), want, `${form}, as bytes`);
        const encoded = form === "offsets" ? canonical.replace(base.prediction.generated_at, "0001-01-01T00:00:00Z") : canonical;
        assert.equal(ce.encodeEnvelope(result.envelope), encoded, form);
    }
});

test("lax values, unknown members, left-out ids and non-ASCII text are built from the tape as native decodes them", () => {
    const base = ce.buildEnvelope(
        { ...PREDICTIONS.polymarket_bet, question: "Café à Paris? 😀", drivers: ["ü", "e\u0301"], market_probability: 0.4 },
        { correlationId: "c", publishedAt: "2026-01-01T00:00:01.5Z" },
    );
    const canonical = ce.encodeEnvelope(base);
    const lax = JSON.parse(canonical);
    lax.prediction.probability = String(lax.prediction.probability);
    lax.prediction.crowd.agents = `${lax.prediction.crowd.agents}`;
    lax.prediction.generated_at = Date.parse(lax.prediction.generated_at) / 1000;
    lax.prediction.extra = { nested: ["é", 1, null] };
    lax.decision.multiplier = "not a polymarket field: dropped";
    lax.unknown = "😀";
    const payloads = {
        lax: JSON.stringify(lax).replace(/"neutral":(\d+)/, '"neutral":$1.0'),
        "meta with numbers JavaScript rounds": canonical.replace('"meta":{}', '"meta":{"big":12345678901234567890,"f":1.0,"ü":"😀"}'),
    };
    for (const [form, payload] of Object.entries(payloads)) {
        for (const input of [payload, Buffer.from(payload)]) {
            const result = ce.tryDecodeEnvelope(input);
            assert.equal(result.ok, true, `${form}: ${JSON.stringify(result.errors)}`);
            const native = form === "lax" ? canonical : payload;
            assert.equal(ce.encodeEnvelope(result.envelope), native, form);
            assert.equal(result.envelope.prediction.question, "Café à Paris? 😀");
            assert.deepEqual(result.envelope.prediction.drivers, ["ü", "e\u0301"]);
            if (form === "lax") assert.equal(JSON.stringify(result.envelope), JSON.stringify(JSON.parse(canonical)), form);
        }
    }
    // Left out: a fresh id and the time of decoding, as native fills them.
    const leftOut = JSON.parse(canonical);
    delete leftOut.correlation_id;
    delete leftOut.published_at;
    const before = Date.now();
    const ids = new Set();
    for (let i = 0; i < 3; i++) {
        const { ok, envelope } = ce.tryDecodeEnvelope(JSON.stringify(leftOut));
        assert.equal(ok, true);
        assert.match(envelope.correlation_id, /^[0-9a-f]{32}$/);
        ids.add(envelope.correlation_id);
        const published = Date.parse(envelope.published_at);
        assert.ok(published >= before - 1 && published <= Date.now() + 1, envelope.published_at);
        assert.deepEqual(Object.keys(envelope), Object.keys(JSON.parse(canonical)));
    }
    assert.equal(ids.size, 3);
});

test("lazyMeta parses a meta that is not flat on first read, and everything that reads values sees it", () => {
    const meta = { nested: { deep: [1, 2.5, "é"] }, big: 12345678901234567890, f: 1.5, list: Array.from({ length: 20 }, (_, i) => i) };
    const payload = ce.encodeEnvelope(ce.buildEnvelope(PREDICTIONS.fomo2_report, { correlationId: "c", meta }))
        .replace('"f":1.5', '"f":1.0');
    const eager = ce.tryDecodeEnvelope(payload).envelope;
    const lazy = () => {
        const result = ce.tryDecodeEnvelope(payload, { lazyMeta: true });
        assert.equal(result.ok, true);
        return result.envelope;
    };
    const descriptor = Object.getOwnPropertyDescriptor(lazy(), "meta");
    assert.equal(typeof descriptor.get, "function", "an accessor until read");
    assert.equal(descriptor.enumerable, true);
    assert.equal(JSON.stringify(lazy()), JSON.stringify(eager));
    assert.deepEqual({ ...lazy() }.meta, eager.meta);
    assert.deepEqual(structuredClone(lazy()).meta, eager.meta);
    assert.deepEqual(Object.entries(lazy()).at(-1), ["meta", eager.meta]);
    assert.deepEqual(Object.keys(lazy()), Object.keys(eager));
    const once = lazy();
    assert.equal(once.meta, once.meta, "parsed once, then kept");
    // Encoded from its text (1.0 and the big integer as written), as eager.
    assert.equal(ce.encodeEnvelope(lazy()), payload);
    assert.equal(ce.encodeEnvelope(eager), payload);
    // Changed: encoded from the new value; assigned: a data property again.
    const changed = lazy();
    changed.meta.f = 2;
    assert.match(ce.encodeEnvelope(changed), /"f":2/);
    const assigned = lazy();
    assigned.meta = { a: 1 };
    assert.equal(Object.getOwnPropertyDescriptor(assigned, "meta").value.a, 1);
    assert.match(ce.encodeEnvelope(assigned), /"meta":\{"a":1\}/);
    assert.deepEqual(Object.freeze(lazy()).meta, eager.meta, "a frozen envelope still reads");
    // A flat meta is built from the tape either way: a plain data property.
    const flat = ce.encodeEnvelope(ce.buildEnvelope(PREDICTIONS.fomo2_report, { meta: { run: 1 } }));
    assert.equal(Object.getOwnPropertyDescriptor(ce.tryDecodeEnvelope(flat, { lazyMeta: true }).envelope, "meta").value.run, 1);
    // In a batch too.
    const [batched] = ce.decodeBatch([payload], { lazyMeta: true });
    assert.equal(typeof Object.getOwnPropertyDescriptor(batched.envelope, "meta").get, "function");
});

test("a date-time with an offset comes back as Date writes its instant, years 1 to 9999", () => {
    const payload = ce.encodeEnvelope(ce.buildEnvelope(PREDICTIONS.fomo2_report, { correlationId: "c" }));
    const published = JSON.parse(payload).published_at;
    let seed = 7;
    const random = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    for (let i = 0; i < 3000; i++) {
        const ms = Math.floor(-62135596800000 + random() * 315537897599000);
        const iso = new Date(ms).toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
        const frac = ms % 1000 === 0 ? "" : `.${iso.slice(20, 23)}000`;
        const expected = `${iso.slice(0, 19)}${frac}Z`;
        const result = ce.tryDecodeEnvelope(payload.replace(published, iso.replace("Z", "+00:00")));
        assert.equal(result.ok, true, iso);
        assert.equal(result.envelope.published_at, expected, iso);
    }
});

test("decodeStreamEntry applies SPEC section 1's entry rule, with the Rust core's messages", () => {
    const data = ce.encodeEnvelope(ce.buildEnvelope(PREDICTIONS.polymarket_bet));
    const decoded = ce.decodeStreamEntry({ fields: ["data"], data });
    assert.equal(decoded.ok, true);
    assert.equal(ce.encodeEnvelope(decoded.envelope), data);
    assert.deepEqual(ce.decodeStreamEntry({ fields: ["other"] }), {
        ok: false,
        reason: "no_data",
        errors: [{ path: "", code: "missing", message: "the entry has no 'data' field" }],
    });
    assert.deepEqual(ce.decodeStreamEntry({ fields: ["source", "data", "at"], data }), {
        ok: false,
        reason: "extra_fields",
        errors: [{ path: "", code: "extra_forbidden", message: "expected exactly one field, 'data', found also at, source" }],
    });
    assert.deepEqual(ce.decodeStreamEntry({ fields: ["data"], oversized: 5000 }, { maxPayloadBytes: 100 }), {
        ok: false,
        reason: "too_large",
        errors: [{ path: "", code: "too_large", message: "payload is 5000 bytes, over the limit of 100 bytes" }],
    });
    const invalid = ce.decodeStreamEntry({ fields: ["data"], data: "{" });
    assert.equal(invalid.ok, false);
    assert.equal(invalid.reason, "invalid_json");
    // Whatever it is given, an answer, not a throw.
    assert.equal(ce.decodeStreamEntry(null).ok, false);
    assert.equal(ce.decodeStreamEntry({ fields: 7 }).ok, false);
});

test("decisionSummary words each decision as the Rust core does", () => {
    const bet = ce.buildEnvelope(PREDICTIONS.polymarket_bet);
    assert.match(ce.decisionSummary(bet), /^(yes|no), edge [+-]0\.\d{3}, stake 0\.\d{3}$|^abstain/);
    const signal = ce.buildEnvelope(PREDICTIONS.fomo2_report);
    assert.equal(ce.decisionSummary(signal), `${signal.decision.action} ${signal.decision.strength.toFixed(2)}`);
    const multiplier = ce.buildEnvelope(PREDICTIONS.oddsoddy_strategy);
    assert.match(ce.decisionSummary(multiplier), /^×\d\.\d\d$/);
    assert.equal(ce.decisionSummary({ ...bet, decision: { side: "maybe" } }), "");
    assert.equal(ce.decisionSummary(null), "");
});

test("every rejection the wrapper makes itself says where and what, in full", () => {
    // pkg-template/src/api.ts answers these before wasm is called; the whole
    // reply is compared, so a changed path, code or message fails here.
    const one = (reason, path, code, message) => ({ ok: false, reason, errors: [{ path, code, message }] });
    const given = "expected JSON text as a string, Uint8Array or ArrayBuffer, found";
    const cases = [
        [["{}", { maxPayloadBytes: -1 }], one("invalid", "options.maxPayloadBytes", "greater_than_equal", "expected a number of bytes >= 0, found a number")],
        [["{}", { maxPayloadBytes: Number.NaN }], one("invalid", "options.maxPayloadBytes", "greater_than_equal", "expected a number of bytes >= 0, found a number")],
        [["{}", { maxPayloadBytes: "1" }], one("invalid", "options.maxPayloadBytes", "float_type", "expected a number of bytes >= 0, found a string")],
        [[12], one("invalid", "", "model_type", `${given} a number`)],
        [[{ schema_version: "1" }], one("invalid", "", "model_type", `${given} an object (already parsed? decode the text itself, or check a parsed value with envelopeSchema["~standard"].validate)`)],
        [[[1]], one("invalid", "", "model_type", `${given} an array`)],
        [["x".repeat(20), { maxPayloadBytes: 10 }], one("too_large", "", "too_large", "payload is at least 20 bytes, over the limit of 10 bytes")],
        [[new Uint8Array(20), { maxPayloadBytes: 10.9 }], one("too_large", "", "too_large", "payload is 20 bytes, over the limit of 10 bytes")],
        [['{"a":"\ud800"}'], one("invalid_utf8", "", "json_invalid", "the string holds a lone surrogate, which has no UTF-8 encoding")],
        [['{"a":"\udc00\ud800"}'], one("invalid_utf8", "", "json_invalid", "the string holds a lone surrogate, which has no UTF-8 encoding")],
    ];
    for (const [args, expected] of cases) {
        assert.deepEqual(ce.tryDecodeEnvelope(...args), expected, JSON.stringify(args));
        assert.equal(ce.decodeEnvelope(...args), null);
    }
    // A payload of exactly the limit is read; a well-formed pair is not a
    // lone surrogate.
    assert.equal(ce.tryDecodeEnvelope("x".repeat(10), { maxPayloadBytes: 10 }).reason, "invalid_json");
    const pair = ce.tryDecodeEnvelope('{"a":"\ud83d\ude00"}');
    assert.notEqual(pair.reason, "invalid_utf8");
    assert.deepEqual(ce.decodeBatch("x"), [one("invalid", "", "model_type", "expected an iterable of payloads, found one payload")]);
    assert.deepEqual(ce.decodeBatch(new Uint8Array(2)), [one("invalid", "", "model_type", "expected an iterable of payloads, found one payload")]);
    assert.deepEqual(ce.decodeBatch(5), [one("invalid", "", "model_type", "cannot read the payloads: TypeError: payloads is not iterable")]);
    assert.deepEqual(ce.decodeBatch(["{", 7], { maxPayloadBytes: -1 }).map((r) => r.errors[0].path), ["options.maxPayloadBytes", "options.maxPayloadBytes"]);
    // A ValidationError's message: the first three errors, then how many more.
    assert.throws(() => ce.validatePrediction({ source_type: "x" }), (error) => {
        assert.equal(error.name, "ValidationError");
        assert.equal(error.errors.length, 7);
        assert.equal(
            error.message,
            'source_type: expected one of fomo2_report, polymarket_bet, oddsoddy_strategy, found the string "x"; source_id: required field is missing; question: required field is missing; and 4 more',
        );
        return true;
    });
    assert.throws(() => ce.validatePrediction({ ...PREDICTIONS.fomo2_report, probability: 2 }), (error) => {
        assert.equal(error.errors.length, 1);
        assert.equal(error.message, `probability: ${error.errors[0].message}`);
        return true;
    });
});
