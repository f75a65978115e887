//! The AsyncAPI 3.0 document of the stream, generated from the same Rust
//! types as the JSON Schema ([`crate::envelope_json_schema`]): the Redis
//! server, the prediction stream and its dead-letter stream, the envelope
//! message with an example of each decision kind, and who sends and
//! receives what. `crowd-envelope schema --asyncapi` prints it; the npm
//! package ships it (`crowd-envelope/asyncapi.json`).

use serde_json::{json, Map, Value};

use crate::{
    build_envelope, envelope_json_schema, BuildOptions, CrowdPrediction, Timestamp,
    DEFAULT_STREAM_NAME,
};

/// The document, as JSON.
///
/// ```
/// let doc = crowd_envelope::asyncapi_document();
/// assert_eq!(doc["asyncapi"], "3.0.0");
/// assert_eq!(doc["channels"]["predictions"]["address"], crowd_envelope::DEFAULT_STREAM_NAME);
/// assert_eq!(doc["channels"]["deadLetters"]["x-redis-key"], "{maf:arena:crowd_simulation:output}:dead");
/// ```
pub fn asyncapi_document() -> Value {
    let mut envelope = envelope_json_schema();
    // The schema's definitions go to components.schemas, and its references
    // with them: in AsyncAPI a `$ref` is resolved against the document.
    let definitions = envelope
        .as_object_mut()
        .and_then(|schema| {
            schema.remove("$schema");
            schema.remove("$defs")
        })
        .unwrap_or_else(|| json!({}));
    let mut schemas = Map::new();
    if let Value::Object(definitions) = definitions {
        for (name, mut schema) in definitions {
            rebase_refs(&mut schema);
            schemas.insert(name, schema);
        }
    }
    rebase_refs(&mut envelope);
    schemas.insert("CrowdPredictionEnvelope".to_owned(), envelope);
    schemas.insert("DeadLetter".to_owned(), dead_letter_schema());
    // As src/redis/keys.rs names it (a test with feature `redis` holds the
    // two equal): the stream's own name as its hash tag.
    let dead_letters = format!("{{{DEFAULT_STREAM_NAME}}}:dead");
    json!({
        "asyncapi": "3.0.0",
        "info": {
            "title": "crowd_simulation predictions",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Predictions of the crowd simulation, each wrapped in a versioned envelope with a decision for one consumer (SPEC.md). Every entry of the stream has exactly one field, `data`, holding the envelope as JSON.",
        },
        "defaultContentType": "application/json",
        "servers": {
            "redis": {
                "host": "127.0.0.1:6379",
                "protocol": "redis",
                "description": "Any Redis 7 (one server, a Cluster or behind Sentinels); the streams are Redis streams.",
            },
        },
        "channels": {
            "predictions": {
                "address": DEFAULT_STREAM_NAME,
                "description": "The prediction stream: one field per entry, `data`, the envelope's JSON.",
                "messages": { "envelope": { "$ref": "#/components/messages/envelope" } },
            },
            "deadLetters": {
                // An address would read the key's `{…}` (its cluster hash
                // tag) as a channel parameter: the key goes in its own field.
                "address": null,
                "x-redis-key": dead_letters,
                "description": "What consumer groups could not handle (an entry that does not decode, or whose handler failed every attempt), with why, in the prediction stream's cluster slot.",
                "messages": { "deadLetter": { "$ref": "#/components/messages/deadLetter" } },
            },
        },
        "operations": {
            "publishPrediction": {
                "action": "send",
                "channel": { "$ref": "#/channels/predictions" },
                "summary": "The simulation adds an envelope (XADD).",
                "messages": [{ "$ref": "#/channels/predictions/messages/envelope" }],
            },
            "consumePrediction": {
                "action": "receive",
                "channel": { "$ref": "#/channels/predictions" },
                "summary": "A bot or dashboard reads envelopes (XREAD, or XREADGROUP in a consumer group).",
                "messages": [{ "$ref": "#/channels/predictions/messages/envelope" }],
            },
            "consumeDeadLetter": {
                "action": "receive",
                "channel": { "$ref": "#/channels/deadLetters" },
                "summary": "An operator lists, replays or purges dead letters.",
                "messages": [{ "$ref": "#/channels/deadLetters/messages/deadLetter" }],
            },
        },
        "components": {
            "messages": {
                "envelope": {
                    "name": "CrowdPredictionEnvelope",
                    "title": "A prediction and its decision",
                    "contentType": "application/json",
                    "payload": { "$ref": "#/components/schemas/CrowdPredictionEnvelope" },
                    "examples": examples(),
                },
                "deadLetter": {
                    "name": "DeadLetter",
                    "title": "An entry a consumer group gave up on",
                    "payload": { "$ref": "#/components/schemas/DeadLetter" },
                },
            },
            "schemas": schemas,
        },
    })
}

/// `#/$defs/X` as `#/components/schemas/X`, everywhere in `value`.
fn rebase_refs(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                match item {
                    Value::String(target) if key == "$ref" => {
                        if let Some(name) = target.strip_prefix("#/$defs/") {
                            *target = format!("#/components/schemas/{name}");
                        }
                    }
                    _ => rebase_refs(item),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(rebase_refs),
        _ => {}
    }
}

/// A dead letter's fields (src/redis/group/settle.lua and settle.rs write them).
fn dead_letter_schema() -> Value {
    let text = json!({ "type": "string" });
    json!({
        "type": "object",
        "description": "The fields of a dead-letter stream entry (all strings, as Redis keeps them).",
        "required": ["reason", "errors", "id", "group", "consumer", "deliveries", "attempts"],
        "properties": {
            "data": { "type": "string", "description": "The entry's payload, byte for byte (absent for an entry over the size limit, unless copied)." },
            "reason": { "type": "string", "description": "A decode reason, `no_data`, `extra_fields`, `handler_failed` or `deleted`." },
            "errors": { "type": "string", "description": "JSON: [{path, code, message}]." },
            "id": { "type": "string", "description": "The entry's id in the prediction stream." },
            "group": text.clone(),
            "consumer": text.clone(),
            "deliveries": { "type": "string", "description": "How many times the entry was delivered." },
            "attempts": { "type": "string", "description": "How many times its handler failed." },
            "size": { "type": "string", "description": "The payload's size, for an entry over the size limit." },
        },
    })
}

/// An envelope of each decision kind, as `build_envelope` makes them.
fn examples() -> Vec<Value> {
    let predictions = [
        (
            "fomo2_signal",
            r#"{"source_type":"fomo2_report","source_id":"r-1","question":"Will BTC close above 100k?","probability":0.81,"confidence":0.9,"crowd":{"agents":120,"bullish":80,"bearish":25,"neutral":15},"generated_at":"2026-11-26T21:00:00Z"}"#,
        ),
        (
            "polymarket_side",
            r#"{"source_type":"polymarket_bet","source_id":"m-1","question":"Rain in Paris tomorrow?","probability":0.7,"confidence":0.8,"market_probability":0.5,"crowd":{"agents":10,"bullish":6,"bearish":3,"neutral":1},"generated_at":"2026-11-26T21:00:00Z"}"#,
        ),
        (
            "oddsoddy_multiplier",
            r#"{"source_type":"oddsoddy_strategy","source_id":"s-1","question":"Back the home side?","probability":0.6,"confidence":0.7,"market_probability":0.45,"crowd":{"agents":100,"bullish":55,"bearish":30,"neutral":15},"generated_at":"2026-11-26T21:00:00Z","drivers":["form"],"rationale":"Home form is strong."}"#,
        ),
    ];
    predictions
        .iter()
        .filter_map(|(kind, text)| {
            let prediction = CrowdPrediction::from_json(text).ok()?;
            let options = BuildOptions {
                correlation_id: Some(format!("example-{kind}")),
                published_at: "2026-11-26T21:00:01Z".parse::<Timestamp>().ok(),
                ..BuildOptions::default()
            };
            let envelope = build_envelope(prediction, options).ok()?;
            let payload: Value = serde_json::from_str(&envelope.to_json()).ok()?;
            Some(json!({ "name": kind, "payload": payload }))
        })
        .collect()
}
