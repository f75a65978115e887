//! The stream's documents as golden files: the AsyncAPI 3.0 document
//! (tests/golden/asyncapi.json, which the npm package ships and
//! tests/npm/asyncapi.test.mjs validates with the AsyncAPI parser and
//! decodes the examples of) and the envelope's JSON Schema
//! (tests/golden/envelope.schema.json): any change to the wire shows in a
//! diff. `CROWD_UPDATE_GOLDEN=1 cargo test --features schema --test
//! asyncapi` writes them anew.

use std::path::Path;

use serde_json::Value;

fn golden(name: &str, generated: &Value) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    let text = format!("{}\n", serde_json::to_string_pretty(generated).unwrap());
    if std::env::var_os("CROWD_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &text).unwrap();
    }
    let kept = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        kept == text,
        "{} differs from what the crate generates: if the change is meant, run with CROWD_UPDATE_GOLDEN=1 and review the diff",
        path.display()
    );
}

#[test]
fn the_asyncapi_document_is_its_golden_file() {
    golden("asyncapi.json", &crowd_envelope::asyncapi_document());
}

#[test]
fn the_json_schema_is_its_golden_file() {
    golden(
        "envelope.schema.json",
        &crowd_envelope::envelope_json_schema(),
    );
}

#[test]
fn every_example_of_the_document_decodes_and_every_reference_resolves() {
    let doc = crowd_envelope::asyncapi_document();
    let examples = doc["components"]["messages"]["envelope"]["examples"]
        .as_array()
        .unwrap();
    let kinds: Vec<&str> = examples
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        ["fomo2_signal", "polymarket_side", "oddsoddy_multiplier"]
    );
    for example in examples {
        let text = example["payload"].to_string();
        let envelope = crowd_envelope::try_decode_envelope(&text).unwrap();
        assert_eq!(envelope.to_json(), text, "canonical, as published");
    }
    // Every `$ref` names something in the document.
    fn refs<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
        match value {
            Value::Object(map) => {
                for (key, item) in map {
                    match item {
                        Value::String(target) if key == "$ref" => out.push(target),
                        _ => refs(item, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| refs(item, out)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    refs(&doc, &mut found);
    assert!(found.len() > 10);
    for target in found {
        let pointer = target.strip_prefix('#').unwrap();
        assert!(
            doc.pointer(pointer).is_some(),
            "{target} resolves to nothing"
        );
    }
}

#[cfg(feature = "redis")]
#[test]
fn the_dead_letter_channel_is_the_transports_key() {
    let doc = crowd_envelope::asyncapi_document();
    let key = crowd_envelope::redis::dead_letter_key(crowd_envelope::DEFAULT_STREAM_NAME).unwrap();
    assert_eq!(doc["channels"]["deadLetters"]["x-redis-key"], key.as_str());
}
