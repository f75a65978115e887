// The npm package against native on every accepted payload of the last
// differential run (tests/reference/test_differential.py writes
// target/parity/accepted.jsonl with native's encoding and decision check):
// encodeEnvelope(tryDecodeEnvelope(p).envelope) byte for byte, -0.0 and
// meta as written included, and verifyDecision.
import test from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as ce from "crowd-envelope";
import { REPO, same } from "./helpers.mjs";

const ACCEPTED = join(REPO, "target/parity/accepted.jsonl");

test("the npm round trip and decision check are native's, byte for byte, on the differential run", () => {
    assert.ok(existsSync(ACCEPTED), `${ACCEPTED} is missing: run 'make test-reference' first`);
    const records = readFileSync(ACCEPTED, "utf8").split("\n").filter(Boolean).map((line) => JSON.parse(line));
    assert.ok(records.length >= 2000, `only ${records.length} accepted payloads`);
    const failures = [];
    let negativeZeros = 0;
    for (const { payload, encoded, verify } of records) {
        const result = ce.tryDecodeEnvelope(payload);
        if (!result.ok) {
            failures.push(`rejected (${result.reason}): ${payload}`);
            continue;
        }
        // Built from the fast path's tape, or parsed: either way the values
        // JSON.parse gives for native's encoding.
        const expected = JSON.parse(encoded);
        if (!same(result.envelope, expected)) {
            failures.push(`decoded object differs:\n  npm:    ${JSON.stringify(result.envelope)}\n  native: ${encoded}`);
        }
        const ours = ce.encodeEnvelope(result.envelope);
        if (ours !== encoded) failures.push(`encoding differs:\n  npm:    ${ours}\n  native: ${encoded}`);
        if (ce.verifyDecision(result.envelope) !== verify) failures.push(`verifyDecision differs (native ${verify}): ${payload}`);
        if (encoded.includes("-0.0")) negativeZeros += 1;
    }
    assert.deepEqual(failures.slice(0, 5), []);
    assert.ok(negativeZeros > 0, "the run holds envelopes with -0.0");
});

test("-0 keeps its sign through every entry point that takes a JS value", () => {
    const source = ce.buildEnvelope(
        {
            source_type: "fomo2_report", source_id: "r", question: "q?", probability: 0.5, confidence: 0.9,
            crowd: { agents: 2, bullish: 1, bearish: 1, neutral: 0 }, generated_at: "2026-01-01T00:00:00Z",
        },
        { correlationId: "c", publishedAt: "2026-01-01T00:00:00Z", meta: { z: -0, n: [0, -0] } },
    );
    assert.equal(Object.is(source.decision.strength, 0), true);
    assert.ok(ce.encodeEnvelope(source).endsWith('"meta":{"z":-0.0,"n":[0,-0.0]}}'));
    const flipped = structuredClone(source);
    flipped.decision.strength = -0;
    assert.equal(ce.verifyDecision(source), true);
    assert.equal(ce.verifyDecision(flipped), false, "strength -0.0 is not the mapper's +0.0");
    assert.match(ce.encodeEnvelope(flipped), /"strength":-0\.0/);
    const reserved = { ...source, meta: { s: "\u0000-0:" } };
    assert.doesNotThrow(() => ce.encodeEnvelope(reserved));
});

test("meta as written survives a decode and encode; a changed envelope is encoded as changed", () => {
    const base = ce.buildEnvelope(
        {
            source_type: "oddsoddy_strategy", source_id: "s", question: "q?", probability: 0.6, confidence: 0.7,
            crowd: { agents: 1, bullish: 1, bearish: 0, neutral: 0 }, generated_at: "2026-01-01T00:00:00Z",
        },
        { correlationId: "c", publishedAt: "2026-01-01T00:00:00Z" },
    );
    const text = ce.encodeEnvelope(base).replace('"meta":{}', '"meta": {"big": 12345678901234567890, "f": 1.0, "e": 1e21, "k": "\\u0041"}');
    const decoded = ce.decodeEnvelope(text);
    assert.ok(ce.encodeEnvelope(decoded).endsWith('"meta":{"big":12345678901234567890,"f":1.0,"e":1e21,"k":"\\u0041"}}'));
    decoded.meta.f = 2;
    assert.ok(ce.encodeEnvelope(decoded).endsWith('"meta":{"big":12345678901234567000,"f":2,"e":1e+21,"k":"A"}}'));
});
