//! Reading from a time: the id a follower or a new group starts after, so
//! that it gets every entry added at or after an instant (Redis ids begin
//! with the milliseconds of the instant they were added).

use redis_rs::Value;

use super::{command_error, stream_id_parts, Connection, TransportError};
use crate::Timestamp;

/// The id to start after for every entry of `stream` added at or after
/// `at`: just before `at`'s millisecond, or `0-0` when the stream's first
/// entry is not older than `at` (so a time before the stream starts at its
/// first entry, with no gap told). A time in the future is refused
/// ([`TransportError::InvalidTime`]): nothing was added then yet.
///
/// ```no_run
/// # async fn demo(mut conn: crowd_envelope::redis::Connection) -> Result<(), crowd_envelope::redis::TransportError> {
/// use crowd_envelope::redis::{cursor_at, FollowOptions};
/// let two_hours_ago: crowd_envelope::Timestamp = "2026-12-08T10:00:00Z".parse().unwrap();
/// let options = FollowOptions::after(cursor_at(&mut conn, "maf:out", two_hours_ago).await?);
/// # Ok(()) }
/// ```
pub async fn cursor_at(
    conn: &mut Connection,
    stream: &str,
    at: Timestamp,
) -> Result<String, TransportError> {
    if at.unix_micros() > crate::platform::unix_micros_now() {
        return Err(TransportError::InvalidTime(at.to_string()));
    }
    let ms = u64::try_from(at.unix_micros().div_euclid(1000)).unwrap_or(0);
    let first: Value = redis_rs::cmd("XRANGE")
        .arg(stream)
        .arg("-")
        .arg("+")
        .arg("COUNT")
        .arg(1)
        .query_async(conn)
        .await
        .map_err(command_error("XRANGE"))?;
    Ok(start_after(first_id(&first), ms))
}

/// The first id of an `XRANGE ... COUNT 1` reply.
fn first_id(reply: &Value) -> Option<(u64, u64)> {
    let Value::Array(entries) = reply else {
        return None;
    };
    let Some(Value::Array(entry)) = entries.first() else {
        return None;
    };
    match entry.first() {
        Some(Value::BulkString(id)) => stream_id_parts(std::str::from_utf8(id).ok()?),
        Some(Value::SimpleString(id)) => stream_id_parts(id),
        _ => None,
    }
}

/// Where to start for entries at or after millisecond `ms`, given the
/// stream's first id.
fn start_after(first: Option<(u64, u64)>, ms: u64) -> String {
    match first {
        Some((first_ms, _)) if first_ms < ms => format!("{}-{}", ms - 1, u64::MAX),
        _ => "0-0".to_owned(),
    }
}

/// A `--since`-style time: `<n>s`, `<n>m`, `<n>h`, `<n>d` before now, or a
/// date-time (`2026-12-08T10:00:00Z`, the forms [`Timestamp`] reads).
pub fn parse_since(text: &str) -> Result<Timestamp, String> {
    let text = text.trim();
    let unit = text.chars().last().and_then(|c| match c {
        's' => Some(1),
        'm' => Some(60),
        'h' => Some(3600),
        'd' => Some(86_400),
        _ => None,
    });
    let ago = unit.and_then(|unit: i64| {
        let n: u32 = text.get(..text.len() - 1)?.parse().ok()?;
        i64::from(n).checked_mul(unit)?.checked_mul(1_000_000)
    });
    if let Some(ago) = ago {
        return crate::platform::unix_micros_now()
            .checked_sub(ago)
            .and_then(Timestamp::from_unix_micros)
            .ok_or_else(|| format!("{text:?} is before the year 1"));
    }
    text.parse::<Timestamp>().map_err(|error| {
        format!(
            "expected a time ago (30s, 15m, 2h, 1d) or a date-time (2026-12-08T10:00:00Z): {error}"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_after_the_first_entry_starts_just_before_its_millisecond() {
        assert_eq!(
            start_after(Some((1000, 3)), 1500),
            format!("1499-{}", u64::MAX)
        );
        assert_eq!(
            start_after(Some((1000, 3)), 1001),
            format!("1000-{}", u64::MAX)
        );
    }

    #[test]
    fn a_time_at_or_before_the_first_entry_starts_at_the_start() {
        assert_eq!(start_after(Some((1000, 0)), 1000), "0-0");
        assert_eq!(start_after(Some((1000, 0)), 10), "0-0");
        assert_eq!(start_after(None, 1500), "0-0");
    }

    #[test]
    fn since_reads_durations_ago_and_date_times() {
        let now = crate::platform::unix_micros_now();
        let two_hours = parse_since("2h").unwrap().unix_micros();
        assert!((now - two_hours - 7_200_000_000).abs() < 5_000_000);
        let thirty = parse_since("30m").unwrap().unix_micros();
        assert!((now - thirty - 1_800_000_000).abs() < 5_000_000);
        assert_eq!(
            parse_since("2026-12-08T10:00:00Z").unwrap().to_string(),
            "2026-12-08T10:00:00Z"
        );
        for bad in ["", "2x", "h", "yesterday", "-5m"] {
            assert!(parse_since(bad).is_err(), "{bad}");
        }
    }
}
