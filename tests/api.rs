//! The public Rust API beyond decoding the corpus: building, validating
//! values made in Rust, seed-style decoding, and the decision check.

use crowd_envelope::*;
// These tests also run as wasm under Node (`make test-wasm`).
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn prediction() -> CrowdPrediction {
    CrowdPrediction::from_json(
        r#"{"source_type": "polymarket_bet", "source_id": "m-1", "question": "Rain?",
            "probability": 0.7, "confidence": 0.8, "market_probability": 0.5,
            "crowd": {"agents": 10, "bullish": 6, "bearish": 3, "neutral": 1},
            "generated_at": "2026-01-01T00:00:00Z"}"#,
    )
    .unwrap()
}

#[test]
fn build_encode_decode_round_trips() {
    let options = BuildOptions {
        correlation_id: Some("id-1".into()),
        meta: Some(Meta::parse(r#"{"b": 1, "a": [1.50, "x"]}"#).unwrap()),
        published_at: Some(Timestamp::from_unix_micros(1_700_000_000_000_001).unwrap()),
    };
    let envelope = build_envelope(prediction(), options).unwrap();
    assert_eq!(envelope.meta.as_json(), r#"{"b":1,"a":[1.50,"x"]}"#);
    let decoded = try_decode_envelope(encode_envelope(&envelope)).unwrap();
    assert_eq!(decoded, envelope);
    assert_eq!(
        decode_envelope(envelope.to_json().into_bytes()),
        Some(envelope)
    );
}

#[test]
fn seed_style_decode_gives_none_on_any_rejection() {
    assert_eq!(decode_envelope("not json"), None);
    assert_eq!(decode_envelope(b"\xff".as_slice()), None);
    assert_eq!(decode_envelope(r#"{"schema_version": "2"}"#), None);
}

#[test]
fn build_validates_the_prediction_with_relative_paths() {
    let mut bad = prediction();
    bad.probability = f64::NAN;
    bad.crowd.bullish = 9;
    bad.drivers = vec![String::new()];
    bad.question = " \t".into();
    let error = build_envelope(bad, BuildOptions::default()).unwrap_err();
    let paths: Vec<&str> = error.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["question", "probability", "crowd", "drivers.0"]);
    assert!(error
        .to_string()
        .contains("question: expected text that is not blank"));
}

#[test]
fn envelope_validate_catches_what_rust_code_can_break() {
    let mut envelope = build_envelope(prediction(), BuildOptions::default()).unwrap();
    assert!(envelope.validate().is_ok());
    envelope.decision = Decision::OddsoddyMultiplier(OddsoddyMultiplier {
        multiplier: 3.0,
        reason: "x".into(),
    });
    let error = envelope.validate().unwrap_err();
    let paths: Vec<&str> = error.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(paths, ["decision.multiplier", "decision_kind"]);
}

#[test]
fn verify_decision_compares_bits() {
    let mut envelope = build_envelope(prediction(), BuildOptions::default()).unwrap();
    assert!(verify_decision(&envelope));
    let Decision::PolymarketSide(side) = &mut envelope.decision else {
        panic!("polymarket expected")
    };
    side.stake_fraction = f64::from_bits(side.stake_fraction.to_bits() + 1);
    assert!(!verify_decision(&envelope));
}

#[test]
fn meta_must_be_an_object_and_is_strict_json() {
    assert!(Meta::parse("[1]").is_err());
    assert_eq!(
        Meta::parse(r#"{"a":1,"a":2}"#).unwrap_err().reason,
        DecodeReason::InvalidJson
    );
    assert!(Meta::new().is_empty());
    let map = Meta::parse(r#"{"z": 1, "a": {"b": null}}"#)
        .unwrap()
        .to_map()
        .unwrap();
    assert_eq!(map.keys().collect::<Vec<_>>(), ["z", "a"]);
}

#[test]
fn decoder_limit_is_settable_and_checked_first() {
    let payload = build_envelope(prediction(), BuildOptions::default())
        .unwrap()
        .to_json();
    let exact = Decoder::new().max_payload_bytes(payload.len());
    assert!(exact.decode_str(&payload).is_ok());
    let error = Decoder::new()
        .max_payload_bytes(payload.len() - 1)
        .decode_str(&payload)
        .unwrap_err();
    assert_eq!(error.reason, DecodeReason::TooLarge);
    assert_eq!(
        Decoder::default().payload_limit(),
        DEFAULT_MAX_PAYLOAD_BYTES
    );
}

#[test]
fn correlation_ids_are_uuid4_and_distinct() {
    let a = new_correlation_id();
    let b = new_correlation_id();
    assert_ne!(a, b);
    for id in [&a, &b] {
        assert_eq!(id.len(), 32);
        assert!(id.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')));
        assert_eq!(&id[12..13], "4", "version nibble of {id}");
        assert!("89ab".contains(&id[16..17]), "variant of {id}");
    }
}
