//! Moving dead letters and attempt counts from the keys versions before 0.3
//! used (`<stream>:dead`, `<stream>:attempts:<group>`) to today's, which
//! share the stream's cluster slot (`keys.rs`). Until moved they are not
//! lost: [`super::legacy_dead_letters`] counts them, and `stats`, `dead
//! list` and every group consumer's start warn of them.
//!
//! The old and new keys hash to different slots, so no one script can see
//! both on a cluster: the move goes through this process, a few letters at
//! a time (`XADD`ed to the new stream in one pipeline, then `XDEL`ed from
//! the old once Redis has them all). A crash between the two leaves a
//! letter in both, never in neither; run it again and it finishes, though
//! such a letter is then there twice. Attempt counts move the same way
//! (`HINCRBY`s, then one `HDEL`).

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
            let mut adds = redis_rs::pipe();
            for (_, fields) in &letters {
                adds.cmd("XADD").arg(&new).arg("*").arg(fields).ignore();
            }
            let ids: Vec<&String> = letters.iter().map(|(id, _)| id).collect();
            moved_then_deleted(
                conn,
                adds,
                redis_rs::cmd("XDEL").arg(&old).arg(&ids),
                ("XADD", "XDEL"),
            )
            .await?;
            migrated.dead_letters += letters.len() as u64;
        }
        // XDEL leaves an empty stream behind: gone, it is not counted again.
        let _: u64 = redis_rs::cmd("DEL")
            .arg(&old)
            .query_async(conn)
            .await
            .map_err(command_error("DEL"))?;
    }
    for group in super::admin::group_names(conn, stream).await? {
        let Some(old) = legacy_attempts_key(stream, &group) else {
            continue;
        };
        let new = attempts_key(stream, &group)?;
        let counts: Vec<(String, i64)> = redis_rs::cmd("HGETALL")
            .arg(&old)
            .query_async(conn)
            .await
            .map_err(command_error("HGETALL"))?;
        if counts.is_empty() {
            continue;
        }
        let mut adds = redis_rs::pipe();
        for (id, count) in &counts {
            adds.cmd("HINCRBY").arg(&new).arg(id).arg(count).ignore();
        }
        let ids: Vec<&String> = counts.iter().map(|(id, _)| id).collect();
        moved_then_deleted(
            conn,
            adds,
            redis_rs::cmd("HDEL").arg(&old).arg(&ids),
            ("HINCRBY", "HDEL"),
        )
        .await?;
        migrated.attempt_counts += counts.len() as u64;
    }
    Ok(migrated)
}

/// Sends `adds` (one pipeline), then, once Redis has answered them all,
/// `delete`: so what is deleted from the old key is already in the new.
async fn moved_then_deleted(
    conn: &mut impl ConnectionLike,
    adds: redis_rs::Pipeline,
    delete: &mut redis_rs::Cmd,
    (add_name, delete_name): (&'static str, &'static str),
) -> Result<(), TransportError> {
    let () = adds
        .query_async(conn)
        .await
        .map_err(command_error(add_name))?;
    let _: u64 = delete
        .query_async(conn)
        .await
        .map_err(command_error(delete_name))?;
    Ok(())
}
