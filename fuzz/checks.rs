// What each fuzz target asserts, shared with tests/fuzz_regressions.rs so
// every input the fuzzer ever flagged keeps running in `make test`.
// Included with `include!`, so it names the crate by its full path.

/// Any bytes: decoding answers (no panic, no hang), and what it accepts
/// encodes to a canonical form that decodes back to the same envelope.
pub fn check_decode(data: &[u8]) {
    let decoder = crowd_envelope::Decoder::new();
    let Ok(envelope) = decoder.decode(data) else {
        return;
    };
    let encoded = envelope.to_json();
    let again = decoder
        .decode(encoded.as_bytes())
        .unwrap_or_else(|e| panic!("the encoding of an accepted payload is rejected: {e}\n{encoded}"));
    assert_eq!(again, envelope, "decode(encode(x)) != x");
    assert_eq!(again.to_json(), encoded, "encoding is not canonical");
    assert!(envelope.validate().is_ok(), "a decoded envelope fails validate()");
}

/// Any text: a date-time that parses prints in SPEC's form and parses back
/// to the same instant.
pub fn check_datetime(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(at) = text.parse::<crowd_envelope::Timestamp>() else {
        return;
    };
    let shown = at.to_string();
    let again: crowd_envelope::Timestamp = shown
        .parse()
        .unwrap_or_else(|e| panic!("{shown} (from {text:?}) does not parse back: {e}"));
    assert_eq!(again, at, "{text:?} -> {shown}");
}

/// Raw parts of a prediction, biased towards the valid ranges so most reach
/// the mappers and the codec.
#[derive(arbitrary::Arbitrary, Debug)]
pub struct Parts {
    source_type: u8,
    source_id: String,
    question: String,
    probability: f64,
    confidence: f64,
    market: Option<f64>,
    agents: u32,
    bullish: u32,
    bearish: u32,
    rationale: String,
    drivers: Vec<String>,
    generated_at: i64,
    resolves_at: Option<i64>,
}

fn unit(x: f64) -> f64 {
    if x.is_finite() {
        (x.abs() % 1.0000001).min(1.0)
    } else {
        0.5
    }
}

/// Any bytes, read as [`Parts`], then [`check_roundtrip`].
pub fn check_roundtrip_bytes(data: &[u8]) {
    let Ok(p) = <Parts as arbitrary::Arbitrary>::arbitrary(&mut arbitrary::Unstructured::new(data)) else {
        return;
    };
    let agents = p.agents % 1_000_000 + 1;
    let bullish = p.bullish % (agents + 1);
    let bearish = p.bearish % (agents - bullish + 1);
    let kinds = ["fomo2_report", "polymarket_bet", "oddsoddy_strategy"];
    let text = |s: String, fallback: &str| if s.trim().is_empty() { fallback.to_owned() } else { s };
    // Seconds since the epoch; past 2e10 a number is read as milliseconds.
    let when = |t: i64| t.rem_euclid(20_000_000_000);
    check_roundtrip(&serde_json::json!({
        "source_type": kinds[usize::from(p.source_type) % 3],
        "source_id": text(p.source_id, "id"),
        "question": text(p.question, "q?"),
        "probability": unit(p.probability),
        "confidence": unit(p.confidence),
        "market_probability": p.market.map(|m| unit(m).clamp(1e-9, 1.0 - 1e-9)),
        "crowd": {"agents": agents, "bullish": bullish, "bearish": bearish, "neutral": agents - bullish - bearish},
        "rationale": p.rationale,
        "drivers": p.drivers,
        "generated_at": when(p.generated_at),
        "resolves_at": p.resolves_at.map(when),
    }));
}

/// A prediction from raw parts: if it validates, build -> encode -> decode
/// gives the same envelope, its decision verifies, and the mapper's
/// invariants hold.
pub fn check_roundtrip(prediction: &serde_json::Value) {
    let Ok(prediction) = crowd_envelope::CrowdPrediction::from_json(&prediction.to_string()) else {
        return;
    };
    let envelope = crowd_envelope::build_envelope(prediction, crowd_envelope::BuildOptions::default())
        .expect("a validated prediction builds");
    let decoded = crowd_envelope::try_decode_envelope(envelope.to_json()).expect("a built envelope decodes");
    assert_eq!(decoded, envelope);
    assert!(crowd_envelope::verify_decision(&decoded));
    match &decoded.decision {
        crowd_envelope::Decision::Fomo2Signal(s) => assert!((0.0..=1.0).contains(&s.strength)),
        crowd_envelope::Decision::PolymarketSide(s) => {
            assert!((0.0..=0.25).contains(&s.stake_fraction));
            let abstain = s.side == crowd_envelope::Side::Abstain;
            assert_eq!(abstain, s.price.is_none());
            assert!(!abstain || s.stake_fraction == 0.0);
        }
        crowd_envelope::Decision::OddsoddyMultiplier(m) => assert!((0.0..=2.0).contains(&m.multiplier)),
    }
}
