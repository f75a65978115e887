//! Whether `JSON.parse` of a payload gives exactly the envelope decoded from
//! it, as JS values: every field present, no unknown field, each value of
//! its canonical JSON type, date-times in SPEC's form. Numbers need no
//! check beyond their type: `JSON.parse` and the decoder both round a
//! lexeme to the nearest double, and an integer lexeme such as `120.0`
//! reads as the same JS number as `120`.

use crate::decision::Decision;
use crate::fast::{CROWD, ENVELOPE as ENVELOPE_KEYS, PREDICTION as PREDICTION_KEYS};
use crate::json::{FieldTable, Json, Object};
use crate::{CrowdPrediction, CrowdPredictionEnvelope, Timestamp};

pub(crate) fn parses_to_itself(json: &Json<'_>, envelope: &CrowdPredictionEnvelope) -> bool {
    let Some(o) = exactly(json, names(ENVELOPE_KEYS)) else {
        return false;
    };
    let field = |key| o.get(key).unwrap_or(&Json::Null);
    string(field("schema_version"))
        && string(field("arena"))
        && string(field("decision_kind"))
        && string(field("correlation_id"))
        && matches!(field("meta"), Json::Object(_))
        && timestamp(field("published_at"), envelope.published_at)
        && prediction(field("prediction"), &envelope.prediction)
        && decision(field("decision"), &envelope.decision)
}

fn prediction(json: &Json<'_>, prediction: &CrowdPrediction) -> bool {
    let Some(o) = exactly(json, names(PREDICTION_KEYS)) else {
        return false;
    };
    let field = |key| o.get(key).unwrap_or(&Json::Null);
    let crowd = exactly(field("crowd"), names(CROWD))
        .is_some_and(|c| c.members.iter().all(|(_, v)| count(v)));
    let drivers = match field("drivers") {
        Json::Array(a) => a.items.len() == a.len && a.items.iter().all(string),
        _ => false,
    };
    let resolves_at = match (field("resolves_at"), prediction.resolves_at) {
        (Json::Null, None) => true,
        (value, Some(at)) => timestamp(value, at),
        _ => false,
    };
    ["source_type", "source_id", "question", "rationale"]
        .into_iter()
        .all(|key| string(field(key)))
        && number(field("probability"))
        && number(field("confidence"))
        && nullable_number(field("market_probability"))
        && crowd
        && drivers
        && resolves_at
        && timestamp(field("generated_at"), prediction.generated_at)
}

fn decision(json: &Json<'_>, decision: &Decision) -> bool {
    let keys: &[&str] = match decision {
        Decision::Fomo2Signal(_) => &["action", "strength", "reason"],
        Decision::PolymarketSide(_) => &["side", "edge", "price", "stake_fraction", "reason"],
        Decision::OddsoddyMultiplier(_) => &["multiplier", "reason"],
    };
    let Some(o) = exactly(json, keys.iter().copied()) else {
        return false;
    };
    o.members.iter().all(|(key, value)| match key.as_ref() {
        "action" | "side" | "reason" => string(value),
        "edge" | "price" => nullable_number(value),
        _ => number(value),
    })
}

/// The object, if its keys are exactly `keys` (the reader has already
/// rejected duplicates, so no member dropped, equal counts and
/// membership suffice).
fn exactly<'j, 'a, 'k>(
    json: &'j Json<'a>,
    keys: impl Iterator<Item = &'k str> + Clone,
) -> Option<&'j Object<'a>> {
    match json {
        Json::Object(o)
            if o.dropped == 0
                && o.members.len() == keys.clone().count()
                && o.members
                    .iter()
                    .all(|(k, _)| keys.clone().any(|name| name == k)) =>
        {
            Some(o)
        }
        _ => None,
    }
}

/// The names of a field table.
fn names(fields: FieldTable) -> impl Iterator<Item = &'static str> + Clone {
    fields.iter().map(|(name, _)| *name)
}

fn string(json: &Json<'_>) -> bool {
    matches!(json, Json::String(_))
}

/// A number `JSON.parse` reads as the decoder does: not the integer
/// token `-0`, which is `-0` in JS but `+0.0` here (SPEC section 6).
fn number(json: &Json<'_>) -> bool {
    matches!(json, Json::Number(lexeme) if *lexeme != "-0")
}

/// A crowd count `JSON.parse` reads as the decoder does: not negative,
/// so not `-0.0`, which is `-0` in JS and the count 0 here.
fn count(json: &Json<'_>) -> bool {
    matches!(json, Json::Number(lexeme) if !lexeme.starts_with('-'))
}

fn nullable_number(json: &Json<'_>) -> bool {
    matches!(json, Json::Null) || number(json)
}

/// The string is the timestamp's canonical form.
fn timestamp(json: &Json<'_>, at: Timestamp) -> bool {
    matches!(json, Json::String(text) if crate::datetime::canonical(text) == Some(at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Decoder;

    fn itself(payload: &str) -> bool {
        Decoder::new()
            .decode_with(payload.as_bytes(), |source, e| match source {
                crate::decode::Source::Fast(tape) => tape.0[crate::fast::slot::AS_PARSED] == 1.0,
                crate::decode::Source::Exact(json) => parses_to_itself(json, &e),
            })
            .unwrap()
    }

    const CANONICAL: &str = r#"{"schema_version":"1","arena":"crowd_simulation","prediction":{"source_type":"polymarket_bet","source_id":"m","question":"q?","probability":0.7,"confidence":0.8,"market_probability":0.5,"crowd":{"agents":10,"bullish":6,"bearish":3,"neutral":1},"rationale":"","drivers":["a"],"resolves_at":null,"generated_at":"2026-01-01T00:00:00Z"},"decision":{"side":"yes","edge":0.19999999999999996,"price":0.5,"stake_fraction":0.15999999999999998,"reason":"crowd_above_market"},"decision_kind":"polymarket_side","published_at":"2026-01-01T00:00:01.500000Z","correlation_id":"c","meta":{"k":[1,2]}}"#;

    #[test]
    fn canonical_payloads_and_harmless_variants_parse_to_themselves() {
        assert!(itself(CANONICAL));
        // Whitespace, key order and integer lexemes change nothing in JS.
        let spaced = CANONICAL.replace(",\"", ", \"");
        assert!(itself(&spaced));
        assert!(itself(
            &CANONICAL.replace("\"agents\":10", "\"agents\":10.0")
        ));
    }

    #[test]
    fn anything_the_decoder_changes_is_caught() {
        for (from, to) in [
            ("\"probability\":0.7", "\"probability\":\"0.7\""), // lax string
            ("\"confidence\":0.8", "\"confidence\":0.8,\"extra\":1"), // unknown field
            (",\"rationale\":\"\"", ""),                        // default filled in
            ("\"meta\":{\"k\":[1,2]}", "\"metaX\":{}"),         // absent meta
            ("01.500000Z", "01.5Z"),                            // date-time form
            ("\"2026-01-01T00:00:00Z\"", "\"2026-01-01T00:00:00+00:00\""),
            ("\"2026-01-01T00:00:00Z\"", "1767225600"), // number date-time
            (
                "\"reason\":\"crowd_above_market\"",
                "\"reason\":\"crowd_above_market\",\"x\":0",
            ),
            ("\"bullish\":6", "\"bullish\":true"),
            ("\"probability\":0.7", "\"probability\":-0"), // -0 in JS, +0.0 here
            ("\"neutral\":1", "\"neutral\":1,\"x\":0"),
            (
                "\"agents\":10,\"bullish\":6,\"bearish\":3,\"neutral\":1",
                "\"agents\":9,\"bullish\":6,\"bearish\":3,\"neutral\":-0.0",
            ),
            ("\"price\":0.5", "\"price\":-0"),
        ] {
            let changed = CANONICAL.replacen(from, to, 1);
            assert_ne!(changed, CANONICAL, "{from}");
            let decodes = Decoder::new().decode(changed.as_bytes()).is_ok();
            assert!(!decodes || !itself(&changed), "{from} -> {to}");
        }
    }
}
