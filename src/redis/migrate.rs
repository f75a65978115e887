//! Moving dead letters and attempt counts from the keys versions before 0.3
//! used (`<stream>:dead`, `<stream>:attempts:<group>`) to today's, which
//! share the stream's cluster slot (`keys.rs`). Until moved they are not
//! lost: [`super::stream_stats`] counts them
//! ([`super::StreamStats::legacy_dead_letters`]) and `stats`, `dead list`
//! and every group consumer's start warn of them.
//!
//! The old and new keys hash to different slots, so no one script can see
//! both on a cluster: the move goes through this process, a few letters at
//! a time (each `XADD`ed to the new stream, then `XDEL`ed from the old). A
//! crash between the two leaves a letter in both, never in neither; run it
//! again and it finishes, though such a letter is then there twice.

use redis_rs::aio::ConnectionLike;
use serde::Serialize;

use super::keys::{attempts_key, dead_letter_key, legacy_attempts_key, legacy_dead_letter_key};
use super::{command_error, TransportError};

/// Letters moved per round trip: dead letters may hold copies of oversized
/// entries, so few at a time bounds what this process holds.
const BATCH: usize = 16;

/// What [`migrate_legacy_keys`] moved.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Migrated {
    /// Dead letters moved (under new ids, oldest first, after any already
    /// there; the entry's own id stays in their `id` field).
    pub dead_letters: u64,
    /// Attempt counts moved (added to any the group has counted since).
    pub attempt_counts: u64,
}

/// Moves what is left under the keys before 0.3 of `stream` and of each of
/// its groups to today's keys ([`super::dead_letter_key`],
/// [`super::attempts_key`]). Nothing to move (a name with a hash tag of its
/// own, whose keys did not change, or a migration already done) moves
/// nothing.
pub async fn migrate_legacy_keys(
    conn: &mut impl ConnectionLike,
    stream: &str,
) -> Result<Migrated, TransportError> {
    let mut migrated = Migrated::default();
    if let Some(old) = legacy_dead_letter_key(stream) {
        let new = dead_letter_key(stream)?;
        loop {
            let letters: Vec<(String, Vec<Vec<u8>>)> = redis_rs::cmd("XRANGE")
                .arg(&old)
                .arg("-")
                .arg("+")
                .arg("COUNT")
                .arg(BATCH)
                .query_async(conn)
                .await
                .map_err(command_error("XRANGE"))?;
            if letters.is_empty() {
                break;
            }
            for (id, fields) in &letters {
                let _: String = redis_rs::cmd("XADD")
                    .arg(&new)
                    .arg("*")
                    .arg(fields)
                    .query_async(conn)
                    .await
                    .map_err(command_error("XADD"))?;
                let _: u64 = redis_rs::cmd("XDEL")
                    .arg(&old)
                    .arg(id)
                    .query_async(conn)
                    .await
                    .map_err(command_error("XDEL"))?;
                migrated.dead_letters += 1;
            }
        }
        // XDEL leaves an empty stream behind: gone, it is not counted again.
        let _: u64 = redis_rs::cmd("DEL")
            .arg(&old)
            .query_async(conn)
            .await
            .map_err(command_error("DEL"))?;
    }
    let groups = super::stream_stats(conn, stream)
        .await?
        .map(|stats| stats.groups);
    for group in groups.unwrap_or_default().into_iter().map(|g| g.name) {
        let Some(old) = legacy_attempts_key(stream, &group) else {
            continue;
        };
        let new = attempts_key(stream, &group)?;
        let counts: Vec<(String, i64)> = redis_rs::cmd("HGETALL")
            .arg(&old)
            .query_async(conn)
            .await
            .map_err(command_error("HGETALL"))?;
        for (id, count) in &counts {
            let _: i64 = redis_rs::cmd("HINCRBY")
                .arg(&new)
                .arg(id)
                .arg(count)
                .query_async(conn)
                .await
                .map_err(command_error("HINCRBY"))?;
            let _: u64 = redis_rs::cmd("HDEL")
                .arg(&old)
                .arg(id)
                .query_async(conn)
                .await
                .map_err(command_error("HDEL"))?;
            migrated.attempt_counts += 1;
        }
    }
    Ok(migrated)
}

/// How many dead letters are left under the key before 0.3 (0 for a name
/// whose key did not change): a group consumer's start, `stats` and `dead`
/// warn of them.
pub async fn legacy_dead_letters(
    conn: &mut impl ConnectionLike,
    stream: &str,
) -> Result<u64, TransportError> {
    match legacy_dead_letter_key(stream) {
        Some(old) => super::admin::xlen(conn, &old).await,
        None => Ok(0),
    }
}
