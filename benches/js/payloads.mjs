// The payloads every benchmark decodes: one typical envelope (about 0.7 KB),
// the same with a 64 KB and a 1 MB `meta`, an invalid one, and a size ladder
// for the scaling runs. Deterministic, so every runtime sees the same bytes.

export const TYPICAL = {
    schema_version: "1",
    arena: "crowd_simulation",
    prediction: {
        source_type: "polymarket_bet",
        source_id: "0x5f3a9c2e41d7",
        question: "Will the Federal Reserve cut interest rates at its December meeting?",
        probability: 0.64,
        confidence: 0.77,
        market_probability: 0.52,
        crowd: { agents: 200, bullish: 121, bearish: 55, neutral: 24 },
        rationale: "Agents weighted the softening labour data and the last two CPI prints over hawkish guidance.",
        drivers: ["labour market", "CPI trend", "forward guidance"],
        resolves_at: "2026-12-10T19:00:00Z",
        generated_at: "2026-11-26T21:16:00Z",
    },
    decision: { side: "yes", edge: 0.12, price: 0.52, stake_fraction: 0.09625, reason: "crowd_above_market" },
    decision_kind: "polymarket_side",
    published_at: "2026-11-26T21:17:10.123456Z",
    correlation_id: "c0ffeec0ffeec0ffeec0ffeec0ffee00",
    meta: { producer: "crowd-sim-7", run: 1842, region: "eu-west-1" },
};

/** The typical envelope with `meta` padded to about `bytes` of JSON in all. */
export function withMetaSize(bytes) {
    const base = JSON.stringify(TYPICAL).length;
    const notes = [];
    let size = base;
    for (let i = 0; size < bytes - 40; i++) {
        const note = `observation ${i}: agents moved on the latest print`;
        notes.push(note);
        size += note.length + 3;
    }
    return JSON.stringify({ ...TYPICAL, meta: { ...TYPICAL.meta, notes } });
}

export const PAYLOADS = {
    typical: JSON.stringify(TYPICAL),
    invalid: JSON.stringify({
        ...TYPICAL,
        prediction: { ...TYPICAL.prediction, probability: 1.4, crowd: { agents: 200, bullish: 121, bearish: 55, neutral: 99 } },
    }),
    meta64k: withMetaSize(64 * 1024),
    meta1m: withMetaSize(1_000_000),
};

export const LADDER = [1024, 4096, 16384, 65536, 262144, 1_000_000].map((bytes) => ({ bytes, payload: withMetaSize(bytes) }));
