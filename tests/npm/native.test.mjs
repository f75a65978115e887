// Native and wasm give the same envelopes, byte for byte: random predictions
// built by the native CLI and by the package, with the same clock and id.
import test from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as ce from "crowd-envelope";

const BIN = process.env.CROWD_ENVELOPE_BIN;
const CASES = Number(process.env.PARITY_CASES ?? 2000);

/** A small deterministic generator (mulberry32), so a failure can be replayed. */
function generator(seed) {
    let state = seed >>> 0;
    return () => {
        state = (state + 0x6d2b79f5) >>> 0;
        let t = state;
        t = Math.imul(t ^ (t >>> 15), t | 1);
        t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
        return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
}

function randomPrediction(random) {
    const pick = (items) => items[Math.floor(random() * items.length)];
    // Values near the decision thresholds, where a last-bit difference would flip a branch.
    const unit = () => pick([random(), 0, 1, 0.5, 0.6, 0.4, 0.25 + random() * 1e-12, 0.1 + 0.2, 0.55, 0.45, 1 / 3]);
    const agents = 1 + Math.floor(random() * 1000);
    const bullish = Math.floor(random() * (agents + 1));
    const bearish = Math.floor(random() * (agents - bullish + 1));
    return {
        source_type: pick(["fomo2_report", "polymarket_bet", "oddsoddy_strategy"]),
        source_id: `id-${Math.floor(random() * 1e6)}`,
        question: "q?",
        probability: unit(),
        confidence: unit(),
        market_probability: pick([null, Math.min(Math.max(unit(), 1e-9), 1 - 1e-9), 0.5, 0.05 + random() * 0.9]),
        crowd: { agents, bullish, bearish, neutral: agents - bullish - bearish },
        generated_at: "2026-11-26T00:00:00Z",
    };
}

test(`native and wasm build the same ${CASES} envelopes, byte for byte`, () => {
    assert.ok(BIN, "CROWD_ENVELOPE_BIN names the native CLI");
    const seed = Number(process.env.PARITY_SEED ?? 20261126);
    const random = generator(seed);
    const predictions = Array.from({ length: CASES }, () => randomPrediction(random));
    const input = predictions.map((p) => JSON.stringify(p)).join("\n") + "\n";
    const stdout = execFileSync(BIN, ["build", "--lines", "--correlation-id", "parity", "--published-at", "2026-11-26T12:00:00Z"], {
        input, maxBuffer: 1 << 28,
    }).toString("utf8");
    const lines = stdout.trimEnd().split("\n");
    assert.equal(lines.length, CASES);
    lines.forEach((line, i) => {
        // Each result line starts with its input line (`build --lines`).
        const prefix = `{"line":${i + 1},"ok":true,"envelope":`;
        assert.ok(line.startsWith(prefix), `case ${i} (seed ${seed}): native rejected ${input.split("\n")[i]}: ${line}`);
        const native = line.slice(prefix.length, -1);
        const wasm = ce.encodeEnvelope(ce.buildEnvelope(predictions[i], { correlationId: "parity", publishedAt: "2026-11-26T12:00:00Z" }));
        assert.equal(wasm, native, `case ${i} (seed ${seed})`);
    });
});
