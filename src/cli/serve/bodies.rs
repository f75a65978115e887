//! What the page receives of the stream, as JSON: an entry (`/feed`'s
//! `entries` events, `/entries`) and a gap. The page decodes; the server
//! only relays (feed.rs, hub.rs and pages.rs all write these).

use base64::Engine as _;
use serde_json::json;

use crowd_envelope::redis::{Gap, RawEntry};

/// One entry of an `entries` event: `{"id", "fields", "data"}`, all the
/// field names and the payload as a JSON string, so no byte of it is lost
/// to SSE's line handling; `data_b64` when the bytes are not UTF-8,
/// `too_large` (its size) and `limit` instead when it is over the limit.
/// The page applies the entry rule and decodes.
pub(super) fn entry_body(entry: &RawEntry, max_payload_bytes: usize) -> serde_json::Value {
    let mut body = serde_json::Map::new();
    body.insert("id".into(), json!(entry.id));
    let size = entry
        .oversized
        .or_else(|| entry.data.as_ref().map(Vec::len))
        .filter(|&size| size > max_payload_bytes);
    if let Some(size) = size {
        // The page rejects it as too_large; the bytes are not relayed.
        body.insert("too_large".into(), json!(size));
        body.insert("limit".into(), json!(max_payload_bytes));
    } else if let Some(bytes) = &entry.data {
        match std::str::from_utf8(bytes) {
            Ok(text) => body.insert("data".into(), json!(text)),
            Err(_) => body.insert(
                "data_b64".into(),
                json!(base64::engine::general_purpose::STANDARD.encode(bytes)),
            ),
        };
    }
    body.insert("fields".into(), json!(entry.fields));
    serde_json::Value::Object(body)
}

/// `{"reason": "trimmed"|"stream_reset", "after", "before", "missed":
/// n|null, "message"}`: entries the page will never see.
pub(super) fn gap_body(gap: &Gap) -> String {
    let skipped = gap.to_skipped();
    let message = skipped.errors.first().map(|e| e.message.clone());
    json!({
        "reason": skipped.reason.as_str(),
        "after": gap.after,
        "before": gap.before,
        "missed": gap.missed,
        "message": message,
    })
    .to_string()
}
