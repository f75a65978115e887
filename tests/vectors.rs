//! Every payload of the parity corpus decodes as the Pydantic reference says:
//! accept or reject, the reason, the failing paths and their error codes,
//! the decoded values, and
//! whether the decision is the one SPEC section 3 gives.

mod common;

use crowd_envelope::{verify_decision, Decoder};
use serde_json::Value;

#[test]
fn corpus_is_large_and_covers_every_reason() {
    let corpus = common::corpus();
    assert!(corpus.len() >= 300, "only {} vectors", corpus.len());
    for reason in [
        "too_large",
        "invalid_utf8",
        "invalid_json",
        "unsupported_version",
        "invalid",
    ] {
        assert!(
            corpus.iter().any(|v| v.expect["reason"] == reason),
            "no vector for {reason}"
        );
    }
}

#[test]
fn every_vector_agrees_with_the_reference() {
    let mut failures = Vec::new();
    for vector in common::corpus() {
        let decoder = Decoder::new().max_payload_bytes(vector.max_payload_bytes);
        let result = std::panic::catch_unwind(|| check(&decoder, &vector));
        if let Err(panic) = result {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_else(|| "panic".to_owned());
            failures.push(message);
        }
    }
    assert!(
        failures.is_empty(),
        "{} vectors disagree:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn check(decoder: &Decoder, vector: &common::Vector) {
    let name = &vector.name;
    let expect = &vector.expect;
    match (
        decoder.decode(&vector.payload),
        expect["ok"].as_bool().unwrap(),
    ) {
        (Ok(envelope), true) => {
            let actual: Value = common::parse_deep(&envelope.to_json());
            common::assert_envelope_matches(name, &actual, expect);
            assert_eq!(
                verify_decision(&envelope),
                expect["verify"].as_bool().unwrap(),
                "{name}: verify_decision disagrees"
            );
        }
        (Err(error), false) => {
            assert_eq!(
                error.reason.as_str(),
                expect["reason"],
                "{name}: reason ({error})"
            );
            let actual = common::error_set(
                error
                    .errors
                    .iter()
                    .map(|e| (e.path.as_str(), e.code.as_str())),
            );
            assert_eq!(
                actual,
                common::expected_errors(expect),
                "{name}: failing paths and codes ({error})"
            );
        }
        (Ok(_), false) => panic!(
            "{name}: accepted, reference rejects with {}",
            expect["reason"]
        ),
        (Err(error), true) => panic!("{name}: rejected ({error}), reference accepts"),
    }
}
