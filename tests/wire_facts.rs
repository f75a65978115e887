//! Wire facts that other languages must write by hand (the npm wrapper's
//! constants and glue, the dashboard's filters) against their one Rust
//! definition: a copy that drifts fails here.

use std::collections::BTreeSet;

use crowd_envelope::{Fomo2Action, Side, SourceType};

fn file(path: &str) -> String {
    std::fs::read_to_string(format!("{}/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// The text between `start` and the next `end` after it.
fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).unwrap_or_else(|| panic!("{start:?}")) + start.len();
    let rest = &text[from..];
    &rest[..rest
        .find(end)
        .unwrap_or_else(|| panic!("{end:?} after {start:?}"))]
}

#[test]
fn the_npm_constants_are_the_crate_constants() {
    let api = file("pkg-template/src/api.ts");
    let constant = |name: &str| between(&api, &format!("export const {name} = "), ";").to_owned();
    assert_eq!(
        constant("DEFAULT_STREAM_NAME"),
        format!("\"{}\"", crowd_envelope::DEFAULT_STREAM_NAME)
    );
    assert_eq!(
        constant("SCHEMA_VERSION"),
        format!("\"{}\"", crowd_envelope::SCHEMA_VERSION)
    );
    assert_eq!(
        constant("DEFAULT_MAX_PAYLOAD_BYTES").replace('_', ""),
        crowd_envelope::DEFAULT_MAX_PAYLOAD_BYTES.to_string()
    );
}

#[test]
fn the_glue_interface_is_the_wasm_exports() {
    let wasm = file("src/wasm/mod.rs");
    let exported: BTreeSet<&str> = wasm
        .split("js_name = ")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .filter(|name| name.starts_with("wire"))
        .collect();
    let binding = file("pkg-template/src/binding.ts");
    let glue = between(&binding, "export interface Glue {", "}");
    let declared: BTreeSet<&str> = glue
        .lines()
        .filter_map(|line| line.trim().split('(').next())
        .filter(|name| name.starts_with("wire"))
        .collect();
    assert_eq!(declared, exported);
    // The rejection marker.
    assert!(wasm.contains("const REJECTED: char = '!';"));
    assert!(binding.contains("export const REJECTED = 0x21;"));
}

#[test]
fn the_dashboard_filters_offer_every_source_type_and_action() {
    let page = file("www/index.html");
    let options: BTreeSet<&str> = page
        .split("<option value=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    let wire: Vec<&str> = SourceType::ALL
        .iter()
        .map(|t| t.as_str())
        .chain(Fomo2Action::ALL.iter().map(|a| a.as_str()))
        .chain(Side::ALL.iter().map(|s| s.as_str()))
        .collect();
    for name in wire {
        assert!(options.contains(name), "{name} is not offered: {options:?}");
    }
}

#[test]
fn the_npm_follower_words_gaps_as_the_core_does() {
    // The core's wording, through the public API.
    let gap = |reason, missed| {
        crowd_envelope::entry::Gap {
            reason,
            after: "AFTER".to_owned(),
            before: "BEFORE".to_owned(),
            missed,
        }
        .to_skipped()
        .errors[0]
            .message
            .clone()
    };
    let redis_ts = file("pkg-template/src/transport.ts");
    let as_template = |message: String| {
        message
            .replace("AFTER", "${after}")
            .replace("BEFORE", "${before}")
    };
    let reset = as_template(gap(crowd_envelope::entry::GapReason::Reset, None));
    assert!(redis_ts.contains(&reset), "{reset}");
    let trimmed = as_template(gap(crowd_envelope::entry::GapReason::Trimmed, None));
    assert!(redis_ts.contains(&trimmed), "{trimmed}");
}

#[test]
fn the_npm_and_python_group_consumers_write_the_dead_letters_rust_writes() {
    // The words of the two dead letters they write themselves (the others'
    // come from the decoder, and tests/npm/group.test.mjs and
    // python/tests/test_group.py compare them with the CLI's, field for field).
    let rust = file("src/redis/group/commands.rs") + &file("src/redis/group/handle.rs");
    let npm = file("pkg-template/src/group.ts");
    let python = file("python/crowd_envelope/group.py");
    let deleted = "the entry was deleted from the stream before it was handled";
    for (name, text) in [("Rust", &rust), ("npm", &npm), ("Python", &python)] {
        assert!(text.contains(deleted), "{name}: {deleted}");
    }
    assert!(rust.contains(r#""handler failed {attempts} times, last: {error}""#));
    assert!(npm.contains("`handler failed ${attempts} times, last: ${"));
    assert!(python.contains(r#"f"handler failed {attempts} times, last: {error}""#));
}

#[test]
fn the_npm_and_python_backoffs_are_rusts() {
    assert!(file("src/redis/mod.rs").contains(
        "const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(5));"
    ));
    assert!(file("pkg-template/src/transport.ts").contains("BACKOFF_MS = [100, 5000]"));
    assert!(file("python/crowd_envelope/_stream.py").contains("BACKOFF_SECONDS = (0.1, 5.0)"));
}
