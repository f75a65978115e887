//! [`Timestamp`] to and from the time types Rust programs already hold:
//! `std::time::SystemTime`, and with feature `chrono`,
//! `chrono::DateTime<Utc>`. Sub-microsecond parts are truncated toward the
//! past; instants outside years 1 to 9999 do not convert.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{DateTimeError, Timestamp};

fn out_of_range() -> DateTimeError {
    DateTimeError("outside years 1 to 9999 (UTC)".to_owned())
}

/// Microseconds of `duration`, if they fit.
fn micros(duration: Duration) -> Option<i64> {
    i64::try_from(duration.as_micros()).ok()
}

impl TryFrom<SystemTime> for Timestamp {
    type Error = DateTimeError;

    fn try_from(time: SystemTime) -> Result<Timestamp, DateTimeError> {
        let since_epoch = match time.duration_since(UNIX_EPOCH) {
            Ok(after) => micros(after),
            // Before the epoch: round toward the past, as for later instants.
            Err(before) => {
                let before = before.duration();
                let whole = micros(before);
                let partial = before.subsec_nanos() % 1_000 != 0;
                whole.and_then(|m| m.checked_neg()?.checked_sub(i64::from(partial)))
            }
        };
        since_epoch
            .and_then(Timestamp::from_unix_micros)
            .ok_or_else(out_of_range)
    }
}

/// Fails only where `SystemTime` cannot go before 1970
/// (`wasm32-unknown-unknown`).
impl TryFrom<Timestamp> for SystemTime {
    type Error = DateTimeError;

    fn try_from(at: Timestamp) -> Result<SystemTime, DateTimeError> {
        let micros = at.unix_micros();
        let offset = Duration::from_micros(micros.unsigned_abs());
        let time = if micros >= 0 {
            UNIX_EPOCH.checked_add(offset)
        } else {
            UNIX_EPOCH.checked_sub(offset)
        };
        time.ok_or_else(|| DateTimeError(format!("{at} is not a SystemTime on this platform")))
    }
}

#[cfg(feature = "chrono")]
#[cfg_attr(docsrs, doc(cfg(feature = "chrono")))]
impl TryFrom<chrono::DateTime<chrono::Utc>> for Timestamp {
    type Error = DateTimeError;

    fn try_from(time: chrono::DateTime<chrono::Utc>) -> Result<Timestamp, DateTimeError> {
        Timestamp::from_unix_micros(time.timestamp_micros()).ok_or_else(out_of_range)
    }
}

#[cfg(feature = "chrono")]
#[cfg_attr(docsrs, doc(cfg(feature = "chrono")))]
impl From<Timestamp> for chrono::DateTime<chrono::Utc> {
    fn from(at: Timestamp) -> chrono::DateTime<chrono::Utc> {
        // Every Timestamp (years 1 to 9999) is within chrono's range.
        chrono::DateTime::from_timestamp_micros(at.unix_micros()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn round_trip(micros: i64) -> Timestamp {
        let at = Timestamp::from_unix_micros(micros).unwrap();
        Timestamp::try_from(SystemTime::try_from(at).unwrap()).unwrap()
    }

    #[test]
    fn system_time_round_trips_to_the_microsecond() {
        for micros in [0, 1, 1_767_225_600_123_456, Timestamp::MAX.unix_micros()] {
            assert_eq!(round_trip(micros).unix_micros(), micros);
        }
        // Truncated toward the past.
        let later = UNIX_EPOCH + Duration::from_nanos(1_500);
        assert_eq!(Timestamp::try_from(later).unwrap().unix_micros(), 1);
        let far = UNIX_EPOCH + Duration::from_secs(300_000_000_000);
        assert!(Timestamp::try_from(far).is_err());
    }

    // SystemTime cannot go before 1970 in wasm32-unknown-unknown.
    #[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
    #[test]
    fn system_time_before_the_epoch_round_trips_too() {
        for micros in [-1, Timestamp::MIN.unix_micros()] {
            assert_eq!(round_trip(micros).unix_micros(), micros);
        }
        let earlier = UNIX_EPOCH - Duration::from_nanos(1_500);
        assert_eq!(Timestamp::try_from(earlier).unwrap().unix_micros(), -2);
    }

    #[cfg(feature = "chrono")]
    #[test]
    fn chrono_round_trips() {
        let at: Timestamp = "2026-01-01T00:00:00.5Z".parse().unwrap();
        let time = chrono::DateTime::<chrono::Utc>::from(at);
        assert_eq!(time.to_rfc3339(), "2026-01-01T00:00:00.500+00:00");
        assert_eq!(Timestamp::try_from(time).unwrap(), at);
        let too_late: chrono::DateTime<chrono::Utc> = "+10000-01-01T00:00:00Z".parse().unwrap();
        assert!(Timestamp::try_from(too_late).is_err());
    }
}
