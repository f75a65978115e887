//! Shared by the integration tests: the parity corpus and value comparison.
#![allow(dead_code)]

pub mod redis_cluster;
pub mod redis_server;

use base64::Engine;
use serde_json::Value;

/// One vector of `tests/vectors/corpus.jsonl`.
pub struct Vector {
    pub name: String,
    pub payload: Vec<u8>,
    pub max_payload_bytes: usize,
    pub expect: Value,
}

pub fn corpus() -> Vec<Vector> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/vectors/corpus.jsonl");
    let text = std::fs::read_to_string(path).expect("corpus is readable");
    text.lines().map(parse_vector).collect()
}

fn parse_vector(line: &str) -> Vector {
    let v = parse_deep(line);
    let mut payload = match (&v["payload"], &v["payload_b64"]) {
        (Value::String(text), _) => text.as_bytes().to_vec(),
        (_, Value::String(b64)) => base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("payload_b64 is base64"),
        _ => panic!("vector without payload: {line}"),
    };
    if let Some(pad_to) = v["pad_to"].as_u64() {
        payload.resize(pad_to as usize, b' ');
    }
    Vector {
        name: v["name"].as_str().unwrap().to_owned(),
        payload,
        max_payload_bytes: v["max_payload_bytes"]
            .as_u64()
            .map_or(crowd_envelope::DEFAULT_MAX_PAYLOAD_BYTES, |n| n as usize),
        expect: v["expect"].clone(),
    }
}

/// Parses JSON without serde_json's nesting limit: the corpus holds values
/// as deep as the decoder's own limit, inside the vector's own nesting.
pub fn parse_deep(text: &str) -> Value {
    use serde::Deserialize;
    let mut deserializer = serde_json::Deserializer::from_str(text);
    deserializer.disable_recursion_limit();
    Value::deserialize(&mut deserializer).expect("valid JSON")
}

/// Deep equality with floats compared bit for bit and ints kept apart from floats.
pub fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => match (x.is_f64(), y.is_f64()) {
            (true, true) => x.as_f64().unwrap().to_bits() == y.as_f64().unwrap().to_bits(),
            (false, false) => x == y,
            _ => false,
        },
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
        }
        _ => a == b,
    }
}

/// Compares an accepted envelope (as JSON) with the vector's expectation,
/// leaving out the fields whose defaults depend on the clock or randomness.
pub fn assert_envelope_matches(name: &str, actual: &Value, expect: &Value) {
    let mut actual = actual.clone();
    let mut wanted = expect["envelope"].clone();
    for field in expect["volatile"].as_array().unwrap() {
        let field = field.as_str().unwrap();
        actual.as_object_mut().unwrap().remove(field);
        wanted.as_object_mut().unwrap().remove(field);
    }
    assert!(
        same(&actual, &wanted),
        "{name}: decoded envelope differs\n  rust:      {actual}\n  reference: {wanted}"
    );
}

/// The sorted, distinct `(path, code)` pairs of a rejection.
pub fn error_set<'a>(
    errors: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Vec<(String, String)> {
    let mut errors: Vec<(String, String)> = errors
        .into_iter()
        .map(|(path, code)| (path.to_owned(), code.to_owned()))
        .collect();
    errors.sort();
    errors.dedup();
    errors
}

/// The expected `(path, code)` pairs of a rejected vector.
pub fn expected_errors(expect: &Value) -> Vec<(String, String)> {
    let errors = expect["errors"]
        .as_array()
        .expect("a rejection lists its errors");
    error_set(errors.iter().map(|e| {
        (
            e["path"].as_str().expect("path"),
            e["code"].as_str().expect("code"),
        )
    }))
}

/// A loopback port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A free loopback port for a cluster node: its bus port, 10000 above it,
/// must be a port too (and free).
pub fn free_cluster_port() -> u16 {
    loop {
        let port = free_port();
        if port <= 55535 && std::net::TcpListener::bind(("127.0.0.1", port + 10000)).is_ok() {
            return port;
        }
    }
}

/// The most memory a process has held, from Linux's `/proc`, in KiB.
pub fn peak_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}
