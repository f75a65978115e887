//! `make bench`: the most memory one decode holds at once, per payload
//! (the benchmark's, and the hostile shapes of `tests/memory.rs` at 1 MiB),
//! counted by a global allocator that tracks live bytes. Prints JSON.

#[path = "../tests/common/hostile.rs"]
mod hostile;

#[path = "../tests/common/counting.rs"]
mod counting;

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/bench/payloads.json".into());
    let text = std::fs::read_to_string(&path).expect("the payloads `make bench` writes");
    let payloads: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&text).expect("JSON");
    let decoder = crowd_envelope::Decoder::new().max_payload_bytes(2 << 20);
    let mut out = serde_json::Map::new();
    let hostile: serde_json::Map<String, serde_json::Value> = hostile::hostile_payloads(1 << 20)
        .into_iter()
        .map(|(name, payload)| (format!("hostile: {name}"), serde_json::Value::from(payload)))
        .collect();
    // The same payloads for the Node measurement (benches/js/memory.mjs).
    if let Some(path) = std::env::args().nth(2) {
        let text = serde_json::Value::Object(hostile.clone()).to_string();
        std::fs::write(&path, text).expect("writable bench directory");
    }
    for (name, payload) in payloads.into_iter().chain(hostile) {
        let Some(payload) = payload.as_str() else {
            continue;
        };
        let (_, peak, kept) = counting::measure(|| decoder.decode(payload.as_bytes()));
        out.insert(
            name,
            serde_json::json!({"bytes": payload.len(), "peakBytes": peak, "keptBytes": kept}),
        );
    }
    println!("{}", serde_json::Value::Object(out));
}
