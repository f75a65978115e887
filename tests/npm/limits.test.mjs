// The package under hostile load: a trapped wasm instance is replaced and
// later calls work, JS values have a size limit like payloads, and one
// decode's memory stays within a small multiple of the payload whatever
// its shape.
import test from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as ce from "crowd-envelope";
import { PREDICTIONS } from "./helpers.mjs";

// The package's private binding, the module its entry point bound the wasm
// instance into (reached by file path: it is not in the exports map).
const require = createRequire(import.meta.url);
const binding = require(join(dirname(require.resolve("crowd-envelope/package.json")), "dist/cjs/binding.js"));

const envelope = ce.buildEnvelope(PREDICTIONS.polymarket_bet, { meta: { run: 1 } });
const payload = ce.encodeEnvelope(envelope);

/** Makes the instance's next `name` call trap inside wasm (`unreachable`). */
function trapNext(name) {
    const glue = binding.glue();
    glue[name] = () => glue.wireTrap();
    return glue;
}

test("a trap while decoding is answered as a rejection; the instance is replaced and later calls work", () => {
    const trapped = trapNext("wireDecode");
    const result = ce.tryDecodeEnvelope(payload);
    assert.equal(result.ok, false);
    assert.equal(result.reason, "invalid");
    assert.match(result.errors[0].message, /restarted/);
    assert.notEqual(binding.glue(), trapped, "a fresh instance");
    for (let i = 0; i < 100; i++) {
        const again = ce.tryDecodeEnvelope(payload);
        assert.equal(again.ok, true);
        assert.deepEqual(again.envelope, envelope);
    }
    assert.deepEqual(ce.decodeBatch([payload, "{"]).map((r) => r.ok), [true, false]);
});

test("a trap in a function that throws is a ValidationError; later calls work", () => {
    trapNext("wireValidatePrediction");
    assert.throws(() => ce.validatePrediction(PREDICTIONS.fomo2_report), (error) => {
        assert.ok(error instanceof ce.ValidationError);
        assert.match(error.message, /restarted/);
        return true;
    });
    assert.equal(ce.validatePrediction(PREDICTIONS.fomo2_report).source_id, "r-1");
    trapNext("wireVerify");
    assert.equal(ce.verifyDecision(envelope), false, "a trapped check is not a pass");
    assert.equal(ce.verifyDecision(envelope), true);
    const schema = ce.envelopeSchema["~standard"];
    trapNext("wireEncode");
    // A copy: the envelope buildEnvelope made encodes from its canonical
    // text, without a call into wasm (pkg-template/src/api.ts, canonicalOf).
    assert.match(schema.validate(structuredClone(envelope)).issues[0].message, /restarted/);
    assert.deepEqual(schema.validate(envelope).value, envelope);
});

test("an envelope buildEnvelope made, then changed, is encoded as it is now and checked again", () => {
    const built = ce.buildEnvelope(PREDICTIONS.fomo2_report);
    const before = ce.encodeEnvelope(built);
    assert.equal(ce.tryDecodeEnvelope(before).ok, true);
    built.prediction.question = "Changed?";
    assert.equal(JSON.parse(ce.encodeEnvelope(built)).prediction.question, "Changed?");
    built.prediction.probability = 2;
    assert.throws(() => ce.encodeEnvelope(built), (error) => error instanceof ce.ValidationError && error.errors[0].path === "prediction.probability");
});

test("JS values have a size limit, checked before anything is copied into wasm", () => {
    const huge = { ...PREDICTIONS.fomo2_report, rationale: "x".repeat(ce.DEFAULT_MAX_PAYLOAD_BYTES) };
    for (const call of [
        () => ce.validatePrediction(huge),
        () => ce.buildEnvelope(huge),
        () => ce.crowdToFomo2Signal(huge),
        () => ce.encodeEnvelope({ ...envelope, meta: { big: "x".repeat(ce.DEFAULT_MAX_PAYLOAD_BYTES) } }),
        () => ce.buildEnvelope(PREDICTIONS.fomo2_report, { meta: { rows: new Array(400_000).fill({}) } }),
    ]) {
        assert.throws(call, (error) => error instanceof ce.ValidationError && error.reason === "too_large");
    }
    const objects = { ...envelope, meta: { rows: new Array(1_000_000).fill({}) } };
    assert.equal(ce.verifyDecision(objects), false);
    const issues = ce.envelopeSchema["~standard"].validate(objects).issues;
    assert.equal(issues[0].code, "too_large");
});

test("payloads of every size and script cross the boundary intact", () => {
    const wide = ce.buildEnvelope(PREDICTIONS.fomo2_report, {
        meta: { note: "é😀".repeat(20_000), ascii: "a".repeat(100_000) },
    });
    const text = ce.encodeEnvelope(wide);
    // Large, small (the input buffer given back), bytes and text, in turn.
    for (const [form, expected] of [
        [text, wide],
        [Buffer.from(text), wide],
        [payload, envelope],
        [Buffer.from(payload), envelope],
        [text, wide],
    ]) {
        const result = ce.tryDecodeEnvelope(form);
        assert.equal(result.ok, true);
        assert.deepEqual(result.envelope, expected);
    }
    const decoded = ce.tryDecodeEnvelope(text).envelope;
    assert.equal(decoded.meta.note, "é😀".repeat(20_000));
    assert.equal(ce.encodeEnvelope(decoded), text, "re-encoded byte for byte");
});

test("one decode of a 1 MiB payload of empty objects grows wasm memory by at most 8x the payload", () => {
    const memory = () => binding.glue().wireMemory().buffer.byteLength;
    const oneMiB = 1 << 20;
    const shapes = {
        "outside meta": (n) => `{"prediction": {"drivers": [${"{},".repeat(n)}{}]}, "x": [${"{},".repeat(n)}{}]}`,
        "inside meta": (n) => `{"meta": {"rows": [${"{},".repeat(n)}{}]}}`,
        "wide meta": (n) => `{"meta": {${Array.from({ length: n }, (_, i) => `"${i.toString(36)}":0`).join(",")}}}`,
        "deep arrays": (n) => `{"x": [${"[[[[[],[]]]],".repeat(n)}[]]}`,
    };
    for (const [name, make] of Object.entries(shapes)) {
        let n = 1000;
        while (make(n * 2).length < oneMiB - 64) n *= 2;
        const text = make(n);
        const before = memory();
        const result = ce.tryDecodeEnvelope(text, { maxPayloadBytes: oneMiB });
        assert.equal(result.ok, false, name);
        const grown = memory() - before;
        assert.ok(grown <= 8 * text.length + (2 << 20), `${name}: wasm memory grew by ${grown} bytes for ${text.length}`);
    }
});
