// The packed package through require(), and one instance for require() and
// import alike (no dual-package hazard: one ValidationError class).
const test = require("node:test");
const assert = require("node:assert/strict");
const ce = require("crowd-envelope");
const redis = require("crowd-envelope/redis");

const prediction = {
    source_type: "fomo2_report", source_id: "r-1", question: "Up?", probability: 0.2, confidence: 0.9,
    crowd: { agents: 3, bullish: 0, bearish: 3, neutral: 0 }, generated_at: "2026-01-01T00:00:00Z",
};

test("require() gives the whole API, ready to use", () => {
    for (const name of ["tryDecodeEnvelope", "decodeEnvelope", "decodeBatch", "buildEnvelope", "encodeEnvelope",
        "verifyDecision", "validatePrediction", "crowdToFomo2Signal", "crowdToPolymarketSide", "crowdToOddsoddyMultiplier"]) {
        assert.equal(typeof ce[name], "function", name);
    }
    const envelope = ce.buildEnvelope(prediction);
    assert.equal(envelope.decision.action, "sell");
    assert.equal(ce.tryDecodeEnvelope(ce.encodeEnvelope(envelope)).ok, true);
    for (const name of ["publishEnvelope", "publishEnvelopes", "readEnvelopes", "followEnvelopes"]) {
        assert.equal(typeof redis[name], "function", name);
    }
});

test("import() and require() share one instance", async () => {
    const esm = await import("crowd-envelope");
    assert.equal(esm.ValidationError, ce.ValidationError);
    assert.equal(esm.tryDecodeEnvelope, ce.tryDecodeEnvelope);
    try {
        esm.validatePrediction({});
        assert.fail("no throw");
    } catch (error) {
        assert.ok(error instanceof ce.ValidationError);
    }
});
