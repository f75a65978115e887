//! The decoder and its second pass against the whole-tree reader, on
//! payloads made by mutating the parity corpus and raw JSON text:
//!
//! - the second pass (`decode::explain`) reading what the schema names against it reading the
//!   whole tree: the same verdict, reason, paths, codes, messages and
//!   values, whatever the reader dropped or kept as a mark;
//! - the decoder (`crate::typed`) against the whole-tree reader: whatever
//!   one accepts the other accepts as the same envelope, whatever one
//!   rejects the other rejects (where the decoder gives the errors itself,
//!   with the same errors), so no payload the second pass would accept is
//!   ever refused by the first.
//!
//! `make test` runs `CROWD_DIFF_CASES` payloads (default 100,000, about 10
//! s in a debug build); `make fuzz` runs 1,000,000 in a release build with
//! a new seed (`CROWD_DIFF_SEED` repeats one).

use crate::decode::explain;
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

type Outcome = Result<CrowdPredictionEnvelope, DecodeError>;

/// The second pass's outcome, and whether `published_at` and
/// `correlation_id` were given (their defaults differ from call to call).
fn decode(text: &str, keep: Keep) -> (Outcome, bool, bool) {
    let mut given = (false, false);
    let outcome = explain(text, keep, |json, envelope| {
        if let Json::Object(o) = json {
            given = (
                o.get("published_at").is_some(),
                o.get("correlation_id").is_some(),
            );
        }
        envelope
    });
    (outcome, given.0, given.1)
}

/// `a` and `b` are the same envelope, but for the defaults (now, a fresh
/// id) that fill fields the payload left out.
fn same_envelope(
    a: &CrowdPredictionEnvelope,
    b: &CrowdPredictionEnvelope,
    has_published: bool,
    has_id: bool,
) -> bool {
    let mut b = b.clone();
    if !has_published {
        b.published_at = a.published_at;
    }
    if !has_id {
        b.correlation_id.clone_from(&a.correlation_id);
    }
    *a == b && a.to_json() == b.to_json()
}

/// The two outcomes agree, except for the defaults (now, a fresh id) that
/// fill fields the payload left out.
fn agree(text: &str) -> Result<(), String> {
    let (tree, has_published, has_id) = decode(text, Keep::All);
    let (shaped, ..) = decode(text, envelope::KEEP);
    let same = match (&tree, &shaped) {
        (Ok(a), Ok(b)) => {
            same_envelope(a, b, has_published, has_id)
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
    let mut typed_errors = 0;
    for case in 0..cases {
        if case > 0 && case % 100_000 == 0 {
            eprintln!(
                "differential: {case} of {cases}, {accepted} accepted, {typed_errors} rejected with the decoder's own errors"
            );
        }
        let base = &seeds[rng.below(seeds.len())];
        let text = if case % 10 == 0 {
            base.clone()
        } else {
            mutate(&mut rng, &seeds, base)
        };
        match typed_agrees(&text) {
            Ok(Verdict::Accepted) => accepted += 1,
            Ok(Verdict::Invalid) => typed_errors += 1,
            Ok(Verdict::Refused) => {}
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
    // And enough rejected by the rules on values, which the decoder reports itself.
    assert!(
        typed_errors * 50 > cases,
        "only {typed_errors} of {cases} rejected by the decoder's own errors"
    );
    eprintln!(
        "differential: {cases} payloads (seed {seed}), {accepted} accepted, {typed_errors} rejected with the decoder's own errors, no disagreement"
    );
}

/// What the decoder made of a payload the two passes agree on.
enum Verdict {
    Accepted,
    /// Rejected with the decoder's own errors.
    Invalid,
    /// Refused, and explained by the second pass.
    Refused,
}

/// The decoder against the whole-tree reader: the same envelope, the same
/// errors where it gives them, and no payload refused that the second pass
/// would accept.
fn typed_agrees(text: &str) -> Result<Verdict, String> {
    use crate::typed::Read;
    let typed = crate::typed::decode(text, &mut crate::typed::Tape::new());
    let (tree, has_published, has_id) = decode(text, Keep::All);
    let verdict = match (&typed, &tree) {
        (Read::Valid(typed), Ok(tree)) if same_envelope(tree, typed, has_published, has_id) => {
            Some(Verdict::Accepted)
        }
        (Read::Invalid(typed), Err(error)) if *error == DecodeError::from(typed.clone()) => {
            Some(Verdict::Invalid)
        }
        (Read::Refused, Err(_)) => Some(Verdict::Refused),
        _ => None,
    };
    verdict.ok_or_else(|| {
        let typed = match typed {
            Read::Valid(envelope) => format!("{envelope:?}"),
            Read::Invalid(errors) => format!("{errors:?}"),
            Read::Refused => "refused".to_owned(),
        };
        format!("{text:?}\n  decoder: {typed}\n  tree:    {tree:?}")
    })
}
