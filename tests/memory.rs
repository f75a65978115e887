//! One decode's peak memory is bounded by a small multiple of the payload
//! plus a constant, whatever the payload's shape (counted by a global
//! allocator that tracks live bytes; this test binary has no other threads
//! allocating while it measures).

#[path = "common/hostile.rs"]
mod hostile;

#[path = "common/counting.rs"]
mod counting;

#[test]
fn one_decode_holds_at_most_4x_the_payload_whatever_its_shape() {
    let limit = crowd_envelope::DEFAULT_MAX_PAYLOAD_BYTES;
    let decoder = crowd_envelope::Decoder::new();
    let mut report = Vec::new();
    let mut over = Vec::new();
    for (name, payload) in hostile::hostile_payloads(limit) {
        assert!(
            payload.len() > limit - 64 && payload.len() <= limit,
            "{name}"
        );
        let (decoded, peak, _) = counting::measure(|| decoder.decode(payload.as_bytes()));
        assert!(decoded.is_err(), "{name} is not an envelope");
        let ratio = peak as f64 / payload.len() as f64;
        report.push(format!("{name}: {peak} bytes, {ratio:.2}x"));
        // The bound is 8x (issue 12); today's worst shape is 1.5x, so 4x
        // catches a regression long before it.
        if peak > 4 * payload.len() + 64 * 1024 {
            over.push(name);
        }
    }
    eprintln!("{}", report.join("\n"));
    assert!(over.is_empty(), "over the bound: {over:?}");
    // In the same test: the counting allocator sees every thread of the
    // binary, so measurements must not run side by side.
    many_short_keys_hold_at_most_4x_the_payload();
}

/// Many short keys cost more than any other shape: each key's start is
/// remembered for the duplicate check (4 bytes, plus the index's own room),
/// against 5 or 6 bytes of payload per key. The attack's shape: a 60 KB
/// payload of 8,464 two-character keys, measured at 3.35x. SECURITY.md
/// states 4x for it; this holds it there.
fn many_short_keys_hold_at_most_4x_the_payload() {
    let decoder = crowd_envelope::Decoder::new();
    let mut keys = Vec::new();
    'outer: for a in b'!'..=b'~' {
        for b in b'!'..=b'~' {
            if keys.len() == 8464 {
                break 'outer;
            }
            if a != b'"' && a != b'\\' && b != b'"' && b != b'\\' {
                keys.push(format!("\"{}{}\":0", a as char, b as char));
            }
        }
    }
    let payload = format!("{{\"meta\":{{{}}}}}", keys.join(","));
    assert!(
        (55_000..70_000).contains(&payload.len()),
        "{}",
        payload.len()
    );
    let (decoded, peak, _) = counting::measure(|| decoder.decode(payload.as_bytes()));
    assert!(decoded.is_err(), "not an envelope");
    let ratio = peak as f64 / payload.len() as f64;
    eprintln!(
        "8,464 two-character keys, {} bytes: {peak} bytes at peak, {ratio:.2}x",
        payload.len()
    );
    assert!(peak <= 4 * payload.len(), "{ratio:.2}x");
}
