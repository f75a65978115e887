//! Properties over random valid predictions (proptest): the codec round
//! trip, and the mappers' invariants of SPEC section 3. (Native against
//! wasm on random predictions, byte for byte, is tests/npm/native.test.mjs.)

use crowd_envelope::*;
use proptest::prelude::*;

/// Probabilities with the values the thresholds care about mixed in.
fn unit() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => 0.0..=1.0f64,
        1 => prop::sample::select(vec![0.0, 1.0, 0.5, 0.6, 0.4, 0.45, 0.55, 0.25, 0.75, 1.0 / 3.0]),
    ]
}

fn market() -> impl Strategy<Value = Option<f64>> {
    prop_oneof![
        1 => Just(None),
        3 => (1e-9..1.0 - 1e-9f64).prop_map(Some),
        1 => prop::sample::select(vec![0.5, 0.55, 0.45, 0.05, 0.95]).prop_map(Some),
    ]
}

fn text(max: usize) -> impl Strategy<Value = String> {
    prop::string::string_regex(&format!("[a-zA-Z0-9 ?é€😀]{{0,{max}}}[a-z]"))
        .expect("a valid regex")
}

prop_compose! {
    fn crowd()(agents in 1u32..=1_000_000)(agents in Just(agents), bullish in 0..=agents, split in 0.0..=1.0f64) -> (u32, u32, u32, u32) {
        let bearish = (f64::from(agents - bullish) * split) as u32;
        (agents, bullish, bearish, agents - bullish - bearish)
    }
}

prop_compose! {
    fn prediction()(
        kind in prop::sample::select(vec!["fomo2_report", "polymarket_bet", "oddsoddy_strategy"]),
        source_id in text(40), question in text(200),
        probability in unit(), confidence in unit(), market in market(),
        (agents, bullish, bearish, neutral) in crowd(),
        rationale in text(100), drivers in prop::collection::vec(text(20), 0..=16),
        generated_at in 0i64..20_000_000_000, resolves_at in prop::option::of(0i64..20_000_000_000),
    ) -> CrowdPrediction {
        let json = serde_json::json!({
            "source_type": kind, "source_id": source_id, "question": question,
            "probability": probability, "confidence": confidence, "market_probability": market,
            "crowd": {"agents": agents, "bullish": bullish, "bearish": bearish, "neutral": neutral},
            "rationale": rationale, "drivers": drivers,
            "generated_at": generated_at, "resolves_at": resolves_at,
        });
        CrowdPrediction::from_json(&json.to_string()).expect("valid by construction")
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn decode_of_encode_is_identity(p in prediction(), meta in prop::option::of(text(30))) {
        let options = BuildOptions {
            meta: meta.map(|note| Meta::parse(&serde_json::json!({"note": note}).to_string()).expect("an object")),
            ..BuildOptions::default()
        };
        let envelope = build_envelope(p, options).expect("valid");
        let payload = encode_envelope(&envelope);
        let decoded = try_decode_envelope(&payload).expect("decodes");
        prop_assert_eq!(&decoded, &envelope);
        prop_assert_eq!(encode_envelope(&decoded), payload);
        prop_assert!(verify_decision(&decoded));
    }

    #[test]
    fn fomo2_signal_follows_spec(p in prediction()) {
        let s = crowd_to_fomo2_signal(&p);
        let score = (2.0 * p.probability - 1.0) * p.confidence;
        prop_assert!((0.0..=1.0).contains(&s.strength));
        prop_assert_eq!(s.strength.to_bits(), score.abs().to_bits());
        let expected = if p.confidence < MIN_CONFIDENCE {
            Fomo2Action::Hold
        } else if score >= FOMO2_THRESHOLD && p.crowd.bullish >= p.crowd.bearish {
            Fomo2Action::Buy
        } else if score <= -FOMO2_THRESHOLD && p.crowd.bearish >= p.crowd.bullish {
            Fomo2Action::Sell
        } else {
            Fomo2Action::Hold
        };
        prop_assert_eq!(s.action, expected);
    }

    #[test]
    fn polymarket_abstains_exactly_when_spec_says(p in prediction()) {
        let s = crowd_to_polymarket_side(&p);
        let abstain = match p.market_probability {
            None => true,
            Some(m) => p.confidence < MIN_CONFIDENCE || (p.probability - m).abs() < POLYMARKET_MIN_EDGE,
        };
        prop_assert_eq!(s.side == Side::Abstain, abstain);
        prop_assert!((0.0..=POLYMARKET_MAX_STAKE).contains(&s.stake_fraction));
        prop_assert_eq!(s.edge.is_none(), p.market_probability.is_none());
        if abstain {
            prop_assert_eq!(s.stake_fraction, 0.0);
            prop_assert!(s.price.is_none());
        } else {
            prop_assert!(s.stake_fraction > 0.0);
            prop_assert!(s.price.is_some_and(|price| (0.0..=1.0).contains(&price)));
        }
    }

    #[test]
    fn oddsoddy_multiplier_is_bounded_and_explained(p in prediction()) {
        let m = crowd_to_oddsoddy_multiplier(&p);
        prop_assert!((0.0..=ODDSODDY_MAX_MULTIPLIER).contains(&m.multiplier));
        let reason = if p.confidence < MIN_CONFIDENCE {
            "low_confidence"
        } else if m.multiplier > 1.0 {
            "value_bet"
        } else if m.multiplier < 1.0 {
            "negative_value"
        } else {
            "neutral"
        };
        prop_assert_eq!(m.reason.as_str(), reason);
    }

    #[test]
    fn any_bytes_decode_or_are_rejected_with_a_reason(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        match try_decode_envelope(&bytes) {
            Ok(envelope) => prop_assert!(envelope.validate().is_ok()),
            Err(error) => prop_assert!(!error.errors.is_empty()),
        }
    }
}
