//! The wall clock, the one thing the core asks of its platform.

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
