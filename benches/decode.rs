//! Native decode speed (criterion), on the payloads the JS benchmarks use
//! (`benches/js/payloads.mjs`, written to `target/bench/payloads.json` by
//! `make bench`). Run through `make bench`, which also times Pydantic on
//! the same bytes and writes the report.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use crowd_envelope::Decoder;

fn payloads() -> Vec<(String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/target/bench/payloads.json");
    let text = std::fs::read_to_string(path)
        .expect("run `make bench`: it writes target/bench/payloads.json");
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&text).expect("JSON");
    map.into_iter()
        .filter_map(|(name, payload)| Some((name, payload.as_str()?.to_owned())))
        .collect()
}

fn decode(c: &mut Criterion) {
    let decoder = Decoder::new().max_payload_bytes(2 << 20);
    let mut group = c.benchmark_group("decode");
    for (name, payload) in payloads() {
        group.throughput(Throughput::Bytes(payload.len() as u64));
        group.bench_with_input(
            BenchmarkId::from_parameter(&name),
            &payload,
            |b, payload| b.iter(|| decoder.decode(payload.as_bytes())),
        );
    }
    group.finish();
}

fn encode(c: &mut Criterion) {
    let payloads = payloads();
    let typical = payloads
        .iter()
        .find(|(name, _)| name == "typical")
        .map(|(_, p)| p);
    let envelope = crowd_envelope::try_decode_envelope(typical.expect("typical")).expect("valid");
    c.bench_function("encode/typical", |b| b.iter(|| envelope.to_json()));
}

criterion_group! {
    name = benches;
    config = Criterion::default().warm_up_time(std::time::Duration::from_millis(500)).measurement_time(std::time::Duration::from_secs(2)).sample_size(30);
    targets = decode, encode
}
criterion_main!(benches);
