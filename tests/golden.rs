//! Golden files: for each `tests/golden/NAME.input.json` the exact bytes the
//! encoder must write are in `NAME.expected.json`. Checked both ways: the
//! input decodes and re-encodes to the expected bytes, and the expected bytes
//! decode and re-encode to themselves. `UPDATE_GOLDEN=1` rewrites them.

use std::fs;
use std::path::{Path, PathBuf};

use crowd_envelope::{build_envelope, try_decode_envelope, BuildOptions, CrowdPrediction, Meta};

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn cases(suffix: &str) -> Vec<(String, PathBuf)> {
    let mut cases: Vec<_> = fs::read_dir(golden_dir())
        .unwrap()
        .filter_map(|entry| {
            let path = entry.unwrap().path();
            let name = path.file_name()?.to_str()?.strip_suffix(suffix)?.to_owned();
            Some((name, path))
        })
        .collect();
    cases.sort();
    cases
}

fn check(name: &str, actual: &str) {
    let expected_path = golden_dir().join(format!("{name}.expected.json"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        fs::write(&expected_path, actual).unwrap();
    }
    let expected = fs::read_to_string(&expected_path).unwrap();
    assert_eq!(
        actual,
        expected,
        "{name}: encoded bytes differ from {}",
        expected_path.display()
    );
    let again = try_decode_envelope(&expected).unwrap().to_json();
    assert_eq!(again, expected, "{name}: expected bytes do not round-trip");
}

#[test]
fn decoded_inputs_encode_to_the_golden_bytes() {
    let cases = cases(".input.json");
    assert!(cases.len() >= 4, "golden inputs missing");
    for (name, path) in cases {
        let input = fs::read(&path).unwrap();
        let envelope = try_decode_envelope(&input).unwrap_or_else(|e| panic!("{name}: {e}"));
        check(&name, &envelope.to_json());
    }
}

#[test]
fn built_predictions_encode_to_the_golden_bytes() {
    let cases = cases(".prediction.json");
    assert!(!cases.is_empty(), "golden predictions missing");
    for (name, path) in cases {
        let prediction = CrowdPrediction::from_json(&fs::read_to_string(&path).unwrap()).unwrap();
        let options = BuildOptions {
            correlation_id: Some(format!("golden-{name}")),
            meta: Some(Meta::parse(r#"{"source": "golden", "n": [1, 2.5]}"#).unwrap()),
            published_at: Some("2026-11-26T21:17:10.000001Z".parse().unwrap()),
        };
        let envelope = build_envelope(prediction, options).unwrap();
        check(&name, &envelope.to_json());
    }
}
