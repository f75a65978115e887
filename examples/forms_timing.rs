//! `make bench`: native decode time per envelope for each form producers
//! write (`benches/forms.py` writes them), against serde_json and sonic-rs
//! (SIMD) deserializing the same bytes into derived structs of the
//! envelope's shape with no validation at all: floors that do less work.
//! Competitors run in alternating rounds in this one process; the median
//! round is printed as JSON, `{"form": {"crowd-envelope": ns, "serde_json
//! derive": ns, "sonic-rs derive": ns}}`.
//! `benches/python_forms.py` runs it between its own rounds.

use std::time::{Duration, Instant};

use serde::Deserialize;

// The envelope's shape as a serde user would write it; every field is read
// (`dead_code` only because nothing looks at them afterwards).
#[allow(dead_code)]
#[derive(Deserialize)]
struct Envelope {
    schema_version: Option<String>,
    arena: Option<String>,
    prediction: Prediction,
    decision: Decision,
    decision_kind: String,
    published_at: String,
    correlation_id: String,
    #[serde(default)]
    meta: serde_json::Map<String, serde_json::Value>,
}

#[allow(dead_code)]
#[derive(Deserialize)]
struct Prediction {
    source_type: String,
    source_id: String,
    question: String,
    probability: f64,
    confidence: f64,
    #[serde(default)]
    market_probability: Option<f64>,
    crowd: Crowd,
    #[serde(default)]
    rationale: String,
    #[serde(default)]
    drivers: Vec<String>,
    #[serde(default)]
    resolves_at: Option<String>,
    generated_at: String,
}

#[allow(dead_code)]
#[derive(Deserialize)]
struct Crowd {
    agents: u32,
    bullish: u32,
    bearish: u32,
    neutral: u32,
}

#[allow(dead_code)]
#[derive(Deserialize)]
struct Decision {
    action: Option<String>,
    strength: Option<f64>,
    side: Option<String>,
    edge: Option<f64>,
    price: Option<f64>,
    stake_fraction: Option<f64>,
    multiplier: Option<f64>,
    reason: String,
}

/// One decode of one payload: whether it was accepted.
type Decode<'a> = dyn Fn(&[u8]) -> bool + 'a;
type Competitor<'a> = (&'static str, Box<Decode<'a>>);

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "target/bench/forms.json".into());
    let text = std::fs::read_to_string(&path).expect("the forms `make bench` writes");
    let forms: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&text).expect("JSON");
    let decoder = crowd_envelope::Decoder::new();
    let competitors: Vec<Competitor<'_>> = vec![
        (
            "crowd-envelope",
            Box::new(|p: &[u8]| decoder.decode(p).is_ok()),
        ),
        (
            "serde_json derive",
            Box::new(|p: &[u8]| serde_json::from_slice::<Envelope>(p).is_ok()),
        ),
        (
            "sonic-rs derive",
            Box::new(|p: &[u8]| sonic_rs::from_slice::<Envelope>(p).is_ok()),
        ),
    ];
    let mut out = serde_json::Map::new();
    for (form, payloads) in &forms {
        let payloads: Vec<&[u8]> = payloads
            .as_array()
            .expect("an array of payloads")
            .iter()
            .filter_map(|p| Some(p.as_str()?.as_bytes()))
            .collect();
        for p in &payloads {
            let text = String::from_utf8_lossy(p);
            if let Err(e) = decoder.decode(p) {
                panic!("crowd-envelope refuses a {form} payload ({e}): {text}");
            }
            if let Err(e) = serde_json::from_slice::<Envelope>(p) {
                panic!("serde_json refuses a {form} payload ({e}): {text}");
            }
            if let Err(e) = sonic_rs::from_slice::<Envelope>(p) {
                panic!("sonic-rs refuses a {form} payload ({e}): {text}");
            }
        }
        let mut iterations = 1u32;
        while time(&payloads, &*competitors[0].1, iterations) < Duration::from_millis(40) {
            iterations *= 2;
        }
        let mut samples = vec![Vec::new(); competitors.len()];
        for round in 0..9 {
            let mut order: Vec<usize> = (0..competitors.len()).collect();
            if round % 2 == 1 {
                order.reverse();
            }
            for i in order {
                let elapsed = time(&payloads, &*competitors[i].1, iterations);
                let per = elapsed.as_nanos() as f64 / f64::from(iterations) / payloads.len() as f64;
                samples[i].push(per);
            }
        }
        let mut medians = serde_json::Map::new();
        for ((name, _), mut s) in competitors.iter().zip(samples) {
            s.sort_by(f64::total_cmp);
            medians.insert((*name).to_owned(), s[s.len() / 2].into());
        }
        eprintln!("forms (native): {form}: {medians:?}");
        out.insert(form.clone(), medians.into());
    }
    println!("{}", serde_json::Value::Object(out));
}

/// `n` times every payload.
fn time(payloads: &[&[u8]], decode: &Decode<'_>, n: u32) -> Duration {
    let start = Instant::now();
    for _ in 0..n {
        for p in payloads {
            std::hint::black_box(decode(std::hint::black_box(p)));
        }
    }
    start.elapsed()
}
