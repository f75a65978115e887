//! What the core asks of its platform: the wall clock and randomness.

/// Microseconds since the Unix epoch, now.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
pub(crate) fn unix_micros_now() -> i64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Microseconds since the Unix epoch, now: `std::time` panics on
/// `wasm32-unknown-unknown`, so ask JavaScript's `Date`.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
pub(crate) fn unix_micros_now() -> i64 {
    (js_sys::Date::now() * 1000.0) as i64
}

/// 16 random bytes from the operating system (or `crypto.getRandomValues`
/// in JavaScript).
///
/// `uuid::Uuid::new_v4` panics when the platform has no randomness, and a
/// panic kills a wasm instance, so a failure here degrades instead: the
/// bytes then mix the clock with a process-wide counter, which keeps ids
/// unique within the process though no longer unpredictable.
pub(crate) fn random_bytes() -> [u8; 16] {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let count = COUNTER.fetch_add(1, Ordering::Relaxed);
        let now = unix_micros_now().to_le_bytes();
        let (high, low) = bytes.split_at_mut(8);
        high.copy_from_slice(&now);
        low.copy_from_slice(&count.to_le_bytes());
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn random_bytes_differ_between_calls() {
        assert_ne!(random_bytes(), random_bytes());
    }

    #[test]
    fn the_clock_is_after_2020() {
        assert!(unix_micros_now() > 1_577_836_800_000_000);
    }
}
