//! The typed pass: its tables, its tape, and every form producers write.

use super::decision::DECISION;
use super::tape::{flat_meta, survives_js, GENERATED};
use super::*;
use crate::json::{Json, Keep};
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// The keys of the object at `path` (keys, from the root) of `json`.
fn keys_at<'a>(json: &'a Json<'a>, path: &[&str]) -> Vec<String> {
    let mut here = json;
    for key in path {
        let Json::Object(o) = here else {
            panic!("{key}")
        };
        here = o.get(key).unwrap();
    }
    let Json::Object(o) = here else {
        panic!("{path:?}")
    };
    o.members.iter().map(|(k, _)| k.to_string()).collect()
}

#[test]
fn the_canonical_encoding_writes_the_field_tables_in_order() {
    let prediction = CrowdPrediction::from_json(
        r#"{"source_type": "polymarket_bet", "source_id": "m", "question": "q?",
            "probability": 0.7, "confidence": 0.8, "market_probability": 0.5,
            "crowd": {"agents": 10, "bullish": 6, "bearish": 3, "neutral": 1},
            "generated_at": "2026-01-01T00:00:00Z"}"#,
    )
    .unwrap();
    let text = crate::build_envelope(prediction, crate::BuildOptions::default())
        .unwrap()
        .to_json();
    let json = crate::json::parse(&text, Keep::All).unwrap();
    let names = |fields: FieldTable| -> Vec<String> {
        fields.iter().map(|(name, _)| name.to_string()).collect()
    };
    assert_eq!(keys_at(&json, &[]), names(ENVELOPE));
    assert_eq!(keys_at(&json, &["prediction"]), names(PREDICTION));
    assert_eq!(keys_at(&json, &["prediction", "crowd"]), names(CROWD));
    // Each decision's fields come in the table's order.
    let decision = keys_at(&json, &["decision"]);
    let order: Vec<String> = names(DECISION)
        .into_iter()
        .filter(|name| decision.contains(name))
        .collect();
    assert_eq!(decision, order);
}

#[test]
fn flat_meta_goes_on_the_tape() {
    let payload = r#"xx{"s":"a b","n":-12,"t":true,"f":false,"z":null}"#;
    let raw = &payload[2..];
    let mut tape = Tape::new();
    assert_eq!(flat_meta(raw, 2, &mut tape), Some(5));
    let member = |i: usize| &tape.0[slot::META_MEMBERS + 5 * i..slot::META_MEMBERS + 5 * i + 5];
    assert_eq!(&payload[member(0)[0] as usize..member(0)[1] as usize], "s");
    assert_eq!(member(0)[2], 0.0);
    assert_eq!(
        &payload[member(0)[3] as usize..member(0)[4] as usize],
        "a b"
    );
    assert_eq!(member(1)[2..4], [1.0, -12.0]);
    assert_eq!([member(2)[2], member(3)[2], member(4)[2]], [2.0, 3.0, 4.0]);
    assert_eq!(flat_meta("{}", 0, &mut tape), Some(0));
    for nested in [
        r#"{"a":[1]}"#,
        r#"{"a":{}}"#,
        r#"{"__proto__":1}"#,
        r#"{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9}"#,
    ] {
        assert_eq!(flat_meta(nested, 0, &mut tape), None, "{nested}");
    }
}

#[test]
fn meta_that_javascript_writes_back_as_it_was() {
    for stable in [
        "{}",
        r#"{"producer":"crowd-sim-7","run":1842,"region":"eu-west-1"}"#,
        r#"{ "a" : [1, -2, true, null, {"b": "x y"}] }"#,
        r#"{"n":999999999999999,"s":"é😀"}"#,
    ] {
        assert!(survives_js(stable), "{stable}");
    }
    for changed in [
        r#"{"n":1.0}"#,
        r#"{"n":1e5}"#,
        r#"{"n":-0}"#,
        r#"{"n":1234567890123456}"#,
        r#"{"s":"\u00e9"}"#,
        r#"{"b":1,"2":0}"#,
        r#"{"n":0.5}"#,
    ] {
        assert!(!survives_js(changed), "{changed}");
    }
}

/// A polymarket envelope as the encoding writes it, with every optional
/// member at its default except `drivers`.
const CANONICAL: &str = r#"{"schema_version":"1","arena":"crowd_simulation","prediction":{"source_type":"polymarket_bet","source_id":"m","question":"q?","probability":0.7,"confidence":0.8,"market_probability":null,"crowd":{"agents":10,"bullish":6,"bearish":3,"neutral":1},"rationale":"","drivers":["a"],"resolves_at":null,"generated_at":"2026-01-01T00:00:00Z"},"decision":{"side":"abstain","edge":null,"price":null,"stake_fraction":0.0,"reason":"no_market_price"},"decision_kind":"polymarket_side","published_at":"2026-01-01T00:00:01.500000Z","correlation_id":"c","meta":{}}"#;

fn typed(text: &str) -> (CrowdPredictionEnvelope, Tape) {
    let mut tape = Tape::new();
    match decode(text, &mut tape) {
        Read::Valid(envelope) => (envelope, tape),
        Read::Invalid(errors) => panic!("{errors:?}: {text}"),
        Read::Refused => panic!("refused: {text}"),
    }
}

#[test]
fn every_form_producers_write_is_read_by_the_typed_pass_to_the_same_envelope() {
    let (canonical, _) = typed(CANONICAL);
    let forms = [
        // Offsets, as Pydantic writes an aware datetime.
        CANONICAL
            .replace("2026-01-01T00:00:00Z", "2026-01-01T01:00:00+01:00")
            .replace("2026-01-01T00:00:01.500000Z", "2025-12-31T23:00:01.5-01:00"),
        // Defaults left out.
        CANONICAL
            .replace(r#""schema_version":"1","arena":"crowd_simulation","#, "")
            .replace(r#""market_probability":null,"#, "")
            .replace(r#""rationale":"","#, "")
            .replace(r#","resolves_at":null"#, "")
            .replace(r#","meta":{}"#, ""),
        CANONICAL.replace(',', ", ").replace("\":", "\": "),
        CANONICAL.replace('{', "{\n  ").replace(',', ",\n  "),
        // Members in another order at every level.
        CANONICAL
            .replace(
                r#""schema_version":"1","arena":"crowd_simulation","#,
                r#""arena":"crowd_simulation","schema_version":"1","#,
            )
            .replace(r#""agents":10,"bullish":6"#, r#""bullish":6,"agents":10"#),
    ];
    for form in &forms {
        let (envelope, _) = typed(form);
        assert_eq!(envelope, canonical, "{form}");
        assert_eq!(envelope.to_json(), CANONICAL, "{form}");
    }
}

#[test]
fn defaults_and_converted_date_times_go_on_the_tape_as_written_ones_would() {
    let omitted = CANONICAL
        .replace(r#""rationale":"","#, "")
        .replace(r#","resolves_at":null"#, "")
        .replace(r#""drivers":["a"],"#, "")
        .replace(r#","meta":{}"#, "");
    let (_, tape) = typed(&omitted);
    assert_eq!(tape.0[slot::RATIONALE..slot::RATIONALE + 2], [0.0, 0.0]);
    assert_eq!(tape.0[slot::RESOLVES_AT], -1.0);
    assert_eq!(tape.0[slot::DRIVER_COUNT], 0.0);
    assert_eq!(tape.0[slot::META_COUNT], 0.0);
    assert_eq!(tape.0[slot::META_STABLE], 1.0);
    let shifted = CANONICAL.replace("2026-01-01T00:00:01.500000Z", "2026-01-01 01:00:01.5+01:00");
    let (envelope, tape) = typed(&shifted);
    assert_eq!(
        envelope.published_at.to_string(),
        "2026-01-01T00:00:01.500000Z"
    );
    // Start -2 - 500000 µs, end the Unix seconds of 2026-01-01T00:00:01Z.
    assert_eq!(tape.0[slot::PUBLISHED_AT], -500_002.0);
    assert_eq!(tape.0[slot::PUBLISHED_AT + 1], 1_767_225_601.0);
    // Required members still required.
    for refused in [
        CANONICAL.replace(r#""question":"q?","#, ""),
        CANONICAL.replace(r#""probability":0.7"#, r#""probability":"high""#),
        CANONICAL.replace(r#""meta":{}"#, r#""meta":{},"x":1,"x":2"#),
    ] {
        assert!(
            matches!(decode(&refused, &mut Tape::new()), Read::Refused),
            "{refused}"
        );
    }
}

#[test]
fn lax_values_unknown_members_and_clock_defaults_are_read_in_the_same_pass() {
    let (canonical, _) = typed(CANONICAL);
    let lax = CANONICAL
        .replace(r#""probability":0.7"#, r#""probability":"0.7""#)
        .replace(r#""agents":10"#, r#""agents":10.0"#)
        .replace(r#""bullish":6"#, r#""bullish":"6""#)
        .replace(r#""neutral":1"#, r#""neutral":true"#)
        .replace(r#""stake_fraction":0.0"#, r#""stake_fraction":-0"#)
        .replace(r#""2026-01-01T00:00:00Z""#, "1767225600")
        .replace(r#""meta":{}"#, r#""meta":{},"extra":[{"a":1}]"#)
        .replace(
            r#""edge":null"#,
            r#""edge":null,"multiplier":"not a number""#,
        );
    let (envelope, tape) = typed(&lax);
    assert_eq!(envelope, canonical, "{lax}");
    assert_eq!(tape.0[slot::PROBABILITY], 0.7);
    assert_eq!(tape.0[slot::CROWD..slot::CROWD + 4], [10.0, 6.0, 3.0, 1.0]);
    // The integer -0 is the integer 0 (SPEC section 6), not JavaScript's -0.
    assert!(tape.0[slot::NUMBERS + 3].is_sign_positive());
    assert_eq!(
        tape.0[slot::GENERATED_AT..slot::GENERATED_AT + 2],
        [-2.0, 1_767_225_600.0]
    );

    let defaults = CANONICAL
        .replace(r#","published_at":"2026-01-01T00:00:01.500000Z""#, "")
        .replace(r#","correlation_id":"c""#, "");
    let before = crate::Timestamp::now();
    let (envelope, tape) = typed(&defaults);
    assert!(envelope.published_at >= before);
    assert_eq!(envelope.correlation_id.len(), 32);
    assert_eq!(tape.0[slot::CORRELATION_ID], GENERATED);
    let (seconds, micros) = envelope.published_at.unix_seconds_and_micros();
    assert_eq!(
        tape.0[slot::PUBLISHED_AT..slot::PUBLISHED_AT + 2],
        [-2.0 - micros as f64, seconds as f64]
    );
}

#[test]
fn offsets_become_utf16_units_for_javascript() {
    let text = CANONICAL
        .replace(r#""question":"q?""#, r#""question":"é 😀 q?""#)
        .replace(r#""drivers":["a"]"#, r#""drivers":["ü","\u00fc"]"#)
        .replace(r#""meta":{}"#, r#""meta":{"k😀":"v"}"#);
    let (_, mut tape) = typed(&text);
    tape.offsets_in_utf16(text.as_bytes());
    let units: Vec<u16> = text.encode_utf16().collect();
    let at = |slot: usize| {
        let (start, end) = (tape.0[slot] as usize, tape.0[slot + 1].abs() as usize);
        String::from_utf16(&units[start..end]).unwrap()
    };
    assert_eq!(at(slot::QUESTION), "é 😀 q?");
    assert_eq!(at(slot::DRIVERS), "ü");
    assert_eq!(at(slot::DRIVERS + 2), "\\u00fc");
    assert!(tape.0[slot::DRIVERS + 3] < 0.0, "still marked as escaped");
    assert_eq!(at(slot::CORRELATION_ID), "c");
    assert_eq!(at(slot::META), r#"{"k😀":"v"}"#);
    assert_eq!(at(slot::META_MEMBERS), "k😀");
    assert_eq!(at(slot::META_MEMBERS + 3), "v");
}

#[test]
fn the_package_reads_the_tape_by_this_layout() {
    let table: Vec<String> = slot::NAMED
        .iter()
        .map(|(name, at)| format!("{name}: {at},"))
        .collect();
    let tape_ts = include_str!("../../pkg-template/src/tape.ts");
    let written: String = tape_ts
        .split("const SLOT = {")
        .nth(1)
        .and_then(|rest| rest.split("} as const;").next())
        .unwrap_or_default()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(written, table.join(" "));
}
