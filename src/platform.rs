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
    if fill(&mut bytes).is_err() {
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

/// The operating system's randomness, straight.
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
fn fill(bytes: &mut [u8; 16]) -> Result<(), getrandom::Error> {
    getrandom::fill(bytes)
}

/// Bytes from `crypto.getRandomValues`, asked for 4 KiB at a time: a call
/// into JavaScript costs about 8 µs in Node, a third of `buildEnvelope`'s
/// time when it was made for every id (measured, docs/bench-report.md).
/// The instance is single-threaded, and each byte is handed out once.
#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
fn fill(bytes: &mut [u8; 16]) -> Result<(), getrandom::Error> {
    use std::cell::RefCell;
    const POOL: usize = 4096;
    thread_local! {
        static POOL_BYTES: RefCell<(Box<[u8; POOL]>, usize)> = RefCell::new((Box::new([0; POOL]), POOL));
    }
    POOL_BYTES.with(|pool| {
        let mut pool = pool.borrow_mut();
        let (buffer, used) = &mut *pool;
        if *used + bytes.len() > POOL {
            getrandom::fill(&mut buffer[..])?;
            *used = 0;
        }
        let taken = buffer
            .get_mut(*used..*used + bytes.len())
            .ok_or(getrandom::Error::UNEXPECTED)?;
        bytes.copy_from_slice(taken);
        // Handed out once: wiped, so nothing later reads it from the pool.
        taken.fill(0);
        *used += bytes.len();
        Ok(())
    })
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
    fn ids_past_a_pool_refill_still_differ() {
        let ids: std::collections::HashSet<[u8; 16]> = (0..1000).map(|_| random_bytes()).collect();
        assert_eq!(ids.len(), 1000);
    }

    #[test]
    fn the_clock_is_after_2020() {
        assert!(unix_micros_now() > 1_577_836_800_000_000);
    }
}
