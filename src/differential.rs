//! The decoder's paths against each other, on payloads made by mutating the
//! parity corpus and raw JSON text:
//!
//! - the exact decoder reading what the schema names against it reading the
//!   whole tree: the same verdict, reason, paths, codes, messages and
//!   values, whatever the reader dropped or kept as a mark;
//! - the fast path against the exact decoder: whatever it accepts, the
//!   exact decoder accepts as the same envelope, and `JSON.parse` of the
//!   payload gives that envelope.
//!
//! `make test` runs `CROWD_DIFF_CASES` payloads (default 100,000, about 10
//! s in a debug build); `make fuzz` runs 1,000,000 in a release build with
//! a new seed (`CROWD_DIFF_SEED` repeats one).

use crate::decode::exact;
use crate::json::{Json, Keep};
use crate::{envelope, CrowdPredictionEnvelope, DecodeError};

/// xorshift64*: reproducible from the seed, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'t>(&mut self, items: &[&'t str]) -> &'t str {
        items[self.below(items.len())]
    }
}

/// Pieces a mutation splices in: the schema's keys, escaped forms of them,
/// containers where scalars belong, numbers at every edge, bad escapes.
const TOKENS: &[&str] = &[
    "{}",
    "[]",
    "{\"a\":{}}",
    "[{},{}]",
    "[[[]]]",
    "null",
    "true",
    "false",
    "0",
    "-0",
    "-0.0",
    "1e400",
    "1e-400",
    "120.0",
    "1.5",
    "\"1.5\"",
    "\" 7 \"",
    "18446744073709551616",
    "\"2026-01-01T00:00:00Z\"",
    "\"2026-01-01\"",
    "1767225600",
    "\"x\"",
    "\"\"",
    "\"\\u0061\"",
    "\"\\ud800\"",
    "\"\\n\"",
    "\"é\"",
    ",",
    ":",
    "\"",
    "\\",
    " ",
    "\n",
    "\"meta\"",
    "\"drivers\"",
    "\"crowd\"",
    "\"prediction\"",
    "\"decision\"",
    "\"decision_kind\"",
    "\"source_type\"",
    "\"schema_version\"",
    "\"published_at\"",
    "\"correlation_id\"",
    "\"\\u006deta\"",
    "\"agents\"",
    "\"bullish\"",
    "\"reason\"",
    "\"side\"",
    "\"price\"",
    "\"multiplier\"",
    ",\"x\":1",
    ",\"meta\":{}",
    ",\"drivers\":[]",
    ",\"extra\":[{},{\"b\":[1,2]}]",
    "\"fomo2_report\"",
    "\"polymarket_bet\"",
    "\"oddsoddy_strategy\"",
    "\"fomo2_signal\"",
    "\"polymarket_side\"",
    "\"oddsoddy_multiplier\"",
    "[\"a\",\"b\"]",
];

fn mutate(rng: &mut Rng, seeds: &[String], text: &str) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for _ in 0..1 + rng.below(3) {
        let at = rng.below(bytes.len() + 1);
        let end = (at + rng.below(12)).min(bytes.len());
        match rng.below(6) {
            0 => {
                bytes.drain(at..end);
            }
            1 => {
                let piece = rng.pick(TOKENS).as_bytes().to_vec();
                bytes.splice(at..at, piece);
            }
            2 => {
                let piece = rng.pick(TOKENS).as_bytes().to_vec();
                bytes.splice(at..end, piece);
            }
            3 => {
                let copy = bytes[at..end].to_vec();
                bytes.splice(at..at, copy);
            }
            4 => {
                let other = seeds[rng.below(seeds.len())].as_bytes();
                let from = rng.below(other.len());
                let to = (from + rng.below(64)).min(other.len());
                bytes.splice(at..end, other[from..to].iter().copied());
            }
            _ => {
                if let Some(b) = bytes.get_mut(at) {
                    *b = b"{}[]\",:0-e. \\a"[rng.below(14)];
                }
            }
        }
    }
    // Invalid UTF-8 is rejected before the reader; keep the text valid.
    String::from_utf8_lossy(&bytes).into_owned()
}

fn corpus_payloads() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/corpus.jsonl");
    let text = std::fs::read_to_string(path).expect("the parity corpus");
    text.lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter_map(|v| v["payload"].as_str().map(str::to_owned))
        .filter(|p| p.len() < 100_000)
        .collect()
}

type Outcome = Result<(CrowdPredictionEnvelope, bool), DecodeError>;

fn decode(text: &str, keep: Keep) -> (Outcome, bool, bool) {
    let mut given = (false, false);
    let outcome = exact(text, keep, |json, envelope| {
        if let Json::Object(o) = json {
            given = (
                o.get("published_at").is_some(),
                o.get("correlation_id").is_some(),
            );
        }
        #[cfg(feature = "wasm")]
        let itself = crate::wasm::js_shape::parses_to_itself(json, &envelope);
        #[cfg(not(feature = "wasm"))]
        let itself = false;
        (envelope, itself)
    });
    (outcome, given.0, given.1)
}

/// The two outcomes agree, except for the defaults (now, a fresh id) that
/// fill fields the payload left out.
fn agree(text: &str) -> Result<(), String> {
    let (tree, has_published, has_id) = decode(text, Keep::All);
    let (shaped, ..) = decode(text, envelope::KEEP);
    let same = match (&tree, &shaped) {
        (Ok((a, a_itself)), Ok((b, b_itself))) => {
            let mut b = b.clone();
            if !has_published {
                b.published_at = a.published_at;
            }
            if !has_id {
                b.correlation_id.clone_from(&a.correlation_id);
            }
            *a == b
                && a_itself == b_itself
                && a.to_json() == b.to_json()
                && a.to_json() == serde_json::to_string(a).unwrap_or_default()
        }
        (Err(a), Err(b)) => a == b,
        _ => false,
    };
    if same {
        Ok(())
    } else {
        Err(format!(
            "{text:?}\n  tree:   {tree:?}\n  shaped: {shaped:?}"
        ))
    }
}

#[test]
fn the_schema_driven_reader_decodes_as_the_whole_tree() {
    let cases: usize = std::env::var("CROWD_DIFF_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000);
    let seed: u64 = std::env::var("CROWD_DIFF_SEED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0x5eed);
    let seeds = corpus_payloads();
    assert!(seeds.len() > 300);
    let mut rng = Rng(seed | 1);
    let mut failures = Vec::new();
    let mut accepted = 0;
    let mut fast = 0;
    for case in 0..cases {
        if case > 0 && case % 100_000 == 0 {
            eprintln!(
                "differential: {case} of {cases}, {accepted} accepted, {fast} by the fast path"
            );
        }
        let base = &seeds[rng.below(seeds.len())];
        let text = if case % 10 == 0 {
            base.clone()
        } else {
            mutate(&mut rng, &seeds, base)
        };
        if try_decode_ok(&text) {
            accepted += 1;
        }
        match fast_agrees(&text) {
            Ok(true) => fast += 1,
            Ok(false) => {}
            Err(failure) => failures.push(failure),
        }
        if let Err(failure) = agree(&text) {
            failures.push(failure);
            if failures.len() >= 5 {
                break;
            }
        }
    }
    assert!(failures.is_empty(), "seed {seed}:\n{}", failures.join("\n"));
    // The mutations must leave enough payloads valid to test the accepting path.
    assert!(accepted * 20 > cases, "only {accepted} of {cases} accepted");
    assert!(
        fast * 3 > accepted,
        "the fast path took only {fast} of {accepted}"
    );
    eprintln!(
        "differential: {cases} payloads (seed {seed}), {accepted} accepted, {fast} by the fast path, no disagreement"
    );
}

fn try_decode_ok(text: &str) -> bool {
    crate::try_decode_envelope(text).is_ok()
}

/// Whatever the fast path accepts, the exact decoder accepts the same way;
/// whatever it rejects, the exact decoder rejects with the same errors.
fn fast_agrees(text: &str) -> Result<bool, String> {
    use crate::fast::Read;
    let mut tape = crate::fast::Tape::new();
    let fast = crate::fast::decode(text, &mut tape);
    let as_parsed = tape.0[crate::fast::slot::AS_PARSED] == 1.0;
    let (exact, ..) = decode(text, Keep::All);
    let agrees = match (&fast, &exact) {
        (Read::Other, _) => return Ok(false),
        // A tape that says JSON.parse gives the envelope must be right.
        (Read::Valid(fast), Ok((envelope, itself))) => {
            envelope == fast && (!as_parsed || *itself || cfg!(not(feature = "wasm")))
        }
        (Read::Invalid(fast), Err(error)) => *error == DecodeError::from(fast.clone()),
        _ => false,
    };
    if agrees {
        Ok(true)
    } else {
        let fast = match fast {
            Read::Valid(envelope) => format!("{envelope:?}"),
            Read::Invalid(errors) => format!("{errors:?}"),
            Read::Other => String::new(),
        };
        Err(format!("{text:?}\n  fast:  {fast}\n  exact: {exact:?}"))
    }
}
