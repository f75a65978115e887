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
    let ids: Vec<String> = (0..64).map(|_| new_correlation_id()).collect();
    assert_ne!(ids[0], ids[1]);
    // Sixty-four ids: a version or variant bit left random shows in one.
    for id in &ids {
        assert_eq!(id.len(), 32);
        assert!(id.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')));
        assert_eq!(&id[12..13], "4", "version nibble of {id}");
        assert!("89ab".contains(&id[16..17]), "variant of {id}");
    }
}

#[test]
fn a_decision_names_its_kind_and_reason() {
    let envelope = build_envelope(prediction(), BuildOptions::default()).unwrap();
    assert_eq!(envelope.decision.reason(), "crowd_above_market");
    assert_eq!(envelope.decision_kind(), DecisionKind::PolymarketSide);
    let fomo2 = Decision::Fomo2Signal(Fomo2Signal {
        action: Fomo2Action::Hold,
        strength: 0.0,
        reason: "custom".into(),
    });
    assert_eq!(fomo2.reason(), "custom");
}

#[test]
fn timestamps_convert_to_and_from_unix_microseconds() {
    for micros in [0, 1, -1, 1_700_000_000_123_456] {
        let at = Timestamp::from_unix_micros(micros).unwrap();
        assert_eq!(at.unix_micros(), micros);
    }
    assert_eq!(Timestamp::MIN.unix_micros(), -62_135_596_800_000_000);
    assert!(Timestamp::from_unix_micros(Timestamp::MAX.unix_micros() + 1).is_none());
}

#[test]
fn date_time_errors_say_why() {
    let why = |text: &str| text.parse::<Timestamp>().unwrap_err().to_string();
    assert_eq!(
        why("0000-01-01"),
        r#"year 0 does not exist in "0000-01-01""#
    );
    assert!(why("0001-01-01T00:00:00+01:00").starts_with("out of range: years 1 to 9999 in UTC"));
    assert!(why("2026-02-30").starts_with("the date does not exist"));
    assert!(why("soon").starts_with("not an ISO 8601 date-time or a Unix timestamp"));
    assert!(why("-62135596800001").starts_with("the timestamp is out of range"));
}

#[test]
fn the_calendar_has_leap_years_and_short_months() {
    let parses = |text: &str| text.parse::<Timestamp>().is_ok();
    for leap in ["2024-02-29", "2000-02-29", "1600-02-29", "0004-02-29"] {
        assert!(parses(leap), "{leap}");
    }
    for not_leap in ["2023-02-29", "1900-02-29", "2100-02-29", "0001-02-29"] {
        assert!(!parses(not_leap), "{not_leap}");
    }
    for short in [
        "2026-04-31",
        "2026-06-31",
        "2026-09-31",
        "2026-11-31",
        "2026-02-30",
    ] {
        assert!(!parses(short), "{short}");
    }
    for long in ["2026-01-31", "2026-03-31", "2026-12-31", "2026-04-30"] {
        assert!(parses(long), "{long}");
    }
    // The last day of each 400-year cycle, where the calendar arithmetic turns.
    for year in ["0400", "1600", "2000", "2400", "9999"] {
        let text = format!("{year}-12-31T23:59:59Z");
        assert_eq!(text.parse::<Timestamp>().unwrap().to_string(), text);
    }
}

#[test]
fn float_timestamps_switch_to_milliseconds_strictly_above_2e10() {
    let at = |text: &str| text.parse::<Timestamp>().unwrap().to_string();
    assert_eq!(
        at("20000000000.0"),
        "2603-10-11T11:33:20Z",
        "2e10 itself is seconds"
    );
    assert_eq!(at("20000000000.5"), "1970-08-20T11:33:20.000500Z");
}

#[test]
fn meta_compares_prints_and_converts_as_its_text() {
    let a = Meta::parse(r#"{"a": [1, 2.50]}"#).unwrap();
    let b = Meta::parse(r#"{"a":[1,2.5]}"#).unwrap();
    assert_ne!(a, b, "lexemes are kept, so 2.50 and 2.5 differ");
    assert_eq!(a, Meta::parse(r#"{ "a" : [ 1 , 2.50 ] }"#).unwrap());
    assert_eq!(format!("{a:?}"), r#"{"a":[1,2.50]}"#);
    assert!(!a.is_empty());
    assert!(Meta::new().is_empty());
    let map = serde_json::json!({"z": 1, "y": [true, null]});
    let from_map = Meta::from_map(map.as_object().unwrap());
    assert_eq!(from_map.as_json(), r#"{"z":1,"y":[true,null]}"#);
    assert_eq!(&from_map.to_map().unwrap(), map.as_object().unwrap());
}

#[test]
fn errors_display_their_reason_paths_and_codes() {
    assert_eq!(
        ErrorCode::CrowdSumMismatch.to_string(),
        "crowd_sum_mismatch"
    );
    assert_eq!(
        DecodeReason::UnsupportedVersion.to_string(),
        "unsupported_version"
    );
    let error = try_decode_envelope(r#"{"prediction": [], "decision": {}, "decision_kind": "x"}"#)
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "prediction: expected an object, found an array; \
         decision_kind: expected one of fomo2_signal, polymarket_side, oddsoddy_multiplier, found the string \"x\""
    );
    let validation = ValidationError {
        errors: error.errors.clone(),
    };
    assert_eq!(error.to_string(), validation.to_string());
    let json = try_decode_envelope("{\"a\": tru}").unwrap_err();
    assert_eq!(
        json.to_string(),
        "invalid JSON: invalid literal (expected true, false or null) at byte 6"
    );
    // A text of several lines (a file) is placed by line and column too.
    let multi_line = try_decode_envelope("{\n  \"a\": tru\n}").unwrap_err();
    assert_eq!(
        multi_line.to_string(),
        "invalid JSON: invalid literal (expected true, false or null) at line 2, column 8 (byte 9)"
    );
    assert_eq!(json.errors[0].code, ErrorCode::JsonInvalid);
}

#[test]
fn validate_checks_drivers_made_in_rust() {
    let mut p = prediction();
    p.drivers = vec!["d".to_owned(); MAX_DRIVERS];
    assert!(p.validate().is_ok(), "sixteen drivers are allowed");
    p.drivers[MAX_DRIVERS - 1] = String::new();
    let error = p.validate().unwrap_err();
    assert_eq!(error.errors[0].path, "drivers.15");
    assert_eq!(error.errors[0].code, ErrorCode::StringTooShort);
    p.drivers.push("d".to_owned());
    let error = p.validate().unwrap_err();
    assert_eq!(error.errors.len(), 1, "too many drivers is one error");
    assert_eq!(error.errors[0].code, ErrorCode::TooLong);
}

#[test]
fn deserialize_reads_and_validates_as_from_json_does() {
    let valid = r#"{"source_type": "polymarket_bet", "source_id": "m", "question": "q?",
        "probability": "0.62", "confidence": 0.5, "market_probability": 0.4,
        "crowd": {"agents": 3, "bullish": 2, "bearish": 1, "neutral": 0},
        "generated_at": 1767225600}"#;
    let read: CrowdPrediction = serde_json::from_str(valid).unwrap();
    assert_eq!(read, CrowdPrediction::from_json(valid).unwrap());
    assert_eq!(
        read.probability, 0.62,
        "the lax string, as Pydantic reads it"
    );
    for (from, to) in [
        ("\"probability\": \"0.62\"", "\"probability\": 5.0"),
        ("\"source_id\": \"m\"", "\"source_id\": \"  \""),
        ("\"neutral\": 0", "\"neutral\": 7"),
    ] {
        let invalid = valid.replace(from, to);
        let error = serde_json::from_str::<CrowdPrediction>(&invalid).unwrap_err();
        assert_eq!(
            error.to_string(),
            CrowdPrediction::from_json(&invalid)
                .unwrap_err()
                .to_string(),
            "{to}"
        );
    }
    let at: Timestamp = serde_json::from_str("1767225600").unwrap();
    assert_eq!(at.to_string(), "2026-01-01T00:00:00Z");
    // Through serde's data model a number keeps its value, not its lexeme.
    let meta: Meta = serde_json::from_str(r#"{"k": [1, 2.50]}"#).unwrap();
    assert_eq!(meta.as_json(), r#"{"k":[1,2.5]}"#);
    assert!(serde_json::from_str::<Meta>("[1]").is_err());
    let error = try_decode_envelope("{").unwrap_err();
    let back: DecodeError = serde_json::from_str(&serde_json::to_string(&error).unwrap()).unwrap();
    assert_eq!(back, error);
}
