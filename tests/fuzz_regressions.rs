//! Every input under `fuzz/regressions/<target>/` (crashes the fuzzer found,
//! once fixed, and hand-picked corner cases) replayed through the same
//! checks the fuzz targets make (`fuzz/checks.rs`).

include!("../fuzz/checks.rs");

fn replay(target: &str, check: fn(&[u8])) -> usize {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/regressions/").to_owned() + target;
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{dir}: {e}")) {
        let path = entry.unwrap().path();
        let data = std::fs::read(&path).unwrap();
        let outcome = std::panic::catch_unwind(|| check(&data));
        assert!(outcome.is_ok(), "{} fails again", path.display());
        count += 1;
    }
    count
}

#[test]
fn decode_regressions() {
    assert!(replay("decode", check_decode) > 0);
}

#[test]
fn datetime_regressions() {
    assert!(replay("datetime", check_datetime) > 0);
}

#[test]
fn roundtrip_regressions() {
    assert!(replay("roundtrip", check_roundtrip_bytes) > 0);
}
