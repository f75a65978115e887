//! `make bench`: native decode time per payload, as JSON
//! (`{"name": nanoseconds per decode}`). `benches/python_bench.py` runs it
//! between its Pydantic rounds, so that both are measured in the same
//! stretch of a shared machine's time.

use std::time::{Duration, Instant};

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/bench/payloads.json".into());
    let text = std::fs::read_to_string(&path).expect("the payloads `make bench` writes");
    let payloads: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&text).expect("JSON");
    let decoder = crowd_envelope::Decoder::new().max_payload_bytes(2 << 20);
    let mut out = serde_json::Map::new();
    for (name, payload) in &payloads {
        let Some(payload) = payload.as_str() else {
            continue;
        };
        let decode = || std::hint::black_box(decoder.decode(payload.as_bytes()).is_ok());
        let mut iterations = 1u32;
        while time(decode, iterations) < Duration::from_millis(20) {
            iterations *= 4;
        }
        let mut samples: Vec<f64> = (0..5)
            .map(|_| time(decode, iterations).as_nanos() as f64 / f64::from(iterations))
            .collect();
        samples.sort_by(f64::total_cmp);
        out.insert(name.clone(), samples[samples.len() / 2].into());
    }
    println!("{}", serde_json::Value::Object(out));
}

fn time(decode: impl Fn() -> bool, iterations: u32) -> Duration {
    let start = Instant::now();
    for _ in 0..iterations {
        decode();
    }
    start.elapsed()
}
