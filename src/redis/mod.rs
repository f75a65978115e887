//! The Redis transport (feature `redis`): `publish_envelope`,
//! `read_envelopes` and `follow_envelopes`, made safe to run bots on, and
//! consumer groups for fleets of them.
//!
//! A stream entry holds exactly one field, `data`, with the envelope JSON
//! (SPEC section 1). Nothing is dropped silently: every entry that cannot be
//! delivered (no `data`, undecodable) is logged with `tracing` and handed to
//! the caller as a [`Skipped`], and in group mode written to a dead-letter
//! stream before it is acknowledged.
//!
//! ```no_run
//! # async fn demo() -> Result<(), crowd_envelope::redis::TransportError> {
//! use crowd_envelope::redis::{follow_envelopes, FollowOptions, RedisUrl, StreamItem};
//! use futures_util::StreamExt;
//!
//! let url = RedisUrl::parse("redis://127.0.0.1:6379")?;
//! let follow = follow_envelopes(url, crowd_envelope::DEFAULT_STREAM_NAME, FollowOptions::default());
//! futures_util::pin_mut!(follow);
//! while let Some(item) = follow.next().await {
//!     match item {
//!         Ok(StreamItem::Envelope(entry)) => println!("{} {:?}", entry.id, entry.envelope.decision),
//!         Ok(StreamItem::Skipped(skipped)) => eprintln!("skipped {}: {}", skipped.id, skipped.reason),
//!         Err(lost) => eprintln!("{lost}; reconnecting"), // it resumes by itself
//!     }
//! }
//! # Ok(()) }
//! ```

mod admin;
mod connection;
mod follow;
mod group;
mod keys;
mod migrate;
mod publish;
mod scripts;
mod since;
mod url;

use std::time::Duration;

use redis_rs::{RedisError, RetryMethod, Value};

pub use admin::{
    dead_letters, legacy_dead_letters, purge_dead_letters, replay_dead_letter, stream_stats,
    ConsumerState, DeadLetter, GroupState, Replayed, StreamStats,
};
pub use connection::Connection;
pub use follow::{follow_entries, follow_envelopes, FollowOptions, Followed};
pub use group::{GroupConsumer, GroupOptions, GroupStats};
pub use keys::{attempts_key, dead_letter_key};
pub use migrate::{migrate_legacy_keys, Migrated};
pub use publish::{
    publish_each, publish_envelope, publish_envelopes, read_entries, read_entries_before,
    read_envelopes, PublishOptions,
};
pub use scripts::{FOLLOW_SCRIPT, RANGE_SCRIPT};
pub use since::{cursor_at, parse_since};
pub use url::{redact_url, RedisUrl};

use crate::entry::{decode_entry, EntryData};
use crate::error::ValidationError;
use crate::{CrowdPredictionEnvelope, Decoder};

pub use crate::entry::{Gap, GapReason, SkipReason, Skipped, DATA_FIELD};
/// The redis-rs crate this transport runs on, for naming its connection
/// types (`redis::aio::ConnectionManager`, ...) without a dependency of
/// your own that must match its version.
pub use redis_rs as redis;

/// Where replies to ordinary commands must arrive by.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Reconnection backoff: doubling from the first to the last.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(5));

/// What went wrong talking to Redis. Messages never hold the URL's password.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// The URL cannot be used.
    #[error("invalid Redis URL {url}: {message}")]
    InvalidUrl {
        /// The URL, password replaced by `***`.
        url: String,
        /// Why.
        message: String,
    },
    /// No connection could be made.
    #[error("cannot connect to Redis at {url}: {message}")]
    Connect {
        /// The URL, password replaced by `***`.
        url: String,
        /// Why.
        message: String,
    },
    /// A command failed (the connection dropped, or the server said no).
    #[error("Redis {command} failed: {message}")]
    Command {
        /// The command, e.g. `XREAD`.
        command: &'static str,
        /// Why.
        message: String,
        /// The redis-rs error, when there is one (not for a reply this
        /// crate could not read).
        #[source]
        source: Option<RedisError>,
    },
    /// An envelope to publish is not valid.
    #[error("not published: {0}")]
    Invalid(#[from] ValidationError),
    /// An entry added to the stream that fewer replicas had than
    /// [`PublishOptions::wait_replicas`] asked for, by its timeout: it is
    /// there, but a failover before it reaches a replica loses it. Not
    /// retryable (publishing again would add it twice).
    #[error(
        "entry {id} added, but {replicas} of the {wanted} replica(s) asked for have it: \
         a failover now would lose it"
    )]
    NotReplicated {
        /// The entry's id.
        id: String,
        /// How many replicas had it.
        replicas: u64,
        /// How many were asked for.
        wanted: usize,
    },
    /// A stream name that no dead-letter key can share a cluster slot with
    /// (see [`dead_letter_key`]).
    #[error("invalid stream name {stream:?}: {message}")]
    InvalidStream {
        /// The name.
        stream: String,
        /// Why.
        message: String,
    },
    /// A start id that Redis would not read (see [`is_stream_id`]).
    #[error("invalid stream id {0:?}: expected $, MS or MS-SEQ (64-bit numbers)")]
    InvalidId(String),
    /// A time to read from that is in the future (see [`cursor_at`]).
    #[error("{0} is in the future: no entry was added then yet")]
    InvalidTime(String),
}

impl TransportError {
    /// Whether trying again can help: a lost connection, a timeout or a
    /// server that is loading can; an invalid URL, envelope or start id
    /// cannot, nor a command the server refuses (`WRONGTYPE` on a key that
    /// is not a stream, say).
    pub fn is_retryable(&self) -> bool {
        match self {
            TransportError::Connect { .. } => true,
            TransportError::Command { source, .. } => source
                .as_ref()
                .is_none_or(|e| !matches!(e.retry_method(), RetryMethod::NoRetry)),
            TransportError::InvalidUrl { .. }
            | TransportError::Invalid(_)
            | TransportError::InvalidStream { .. }
            | TransportError::NotReplicated { .. }
            | TransportError::InvalidId(_)
            | TransportError::InvalidTime(_) => false,
        }
    }
}

/// Whether `id` is a stream entry id Redis reads as a start: `$`, or `MS`
/// or `MS-SEQ`, each a 64-bit number.
pub fn is_stream_id(id: &str) -> bool {
    id == "$" || stream_id_parts(id).is_some()
}

/// An entry id (`MS-SEQ`, or `MS` for `MS-0`) as its two numbers, which
/// order ids as Redis does; `None` for anything else.
pub fn stream_id_parts(id: &str) -> Option<(u64, u64)> {
    let (ms, seq) = id.split_once('-').unwrap_or((id, "0"));
    let number = |part: &str| {
        part.bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| part.parse().ok())?
    };
    Some((number(ms)?, number(seq)?))
}

/// [`stream_id_parts`] of an id Redis gave, `(0, 0)` should it be none.
fn id_key(id: &str) -> (u64, u64) {
    stream_id_parts(id).unwrap_or((0, 0))
}

fn command_error(command: &'static str) -> impl Fn(RedisError) -> TransportError {
    move |e| TransportError::Command {
        command,
        message: e.to_string(),
        source: Some(e),
    }
}

/// A reply this crate could not read: a bug, or a server that is not Redis.
fn reply_error(command: &'static str) -> TransportError {
    TransportError::Command {
        command,
        message: "unexpected reply".to_owned(),
        source: None,
    }
}

/// A decoded envelope and its entry id.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamEnvelope {
    /// The entry id, e.g. `1735580000000-0`.
    pub id: String,
    /// The decoded envelope.
    pub envelope: CrowdPredictionEnvelope,
}

/// One entry read from the stream: an envelope, or a skip with its reason.
/// Exhaustive on purpose: whatever is not delivered is a [`Skipped`] with
/// its reason, so there will never be a third case.
// Envelopes are the common case: boxing them would cost an allocation per
// entry to save space only in the rare skip.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum StreamItem {
    /// Decoded.
    Envelope(StreamEnvelope),
    /// Not decodable; logged at WARN.
    Skipped(Skipped),
}

impl StreamItem {
    /// The entry id.
    pub fn id(&self) -> &str {
        match self {
            StreamItem::Envelope(entry) => &entry.id,
            StreamItem::Skipped(skipped) => &skipped.id,
        }
    }

    /// The envelope, if the entry decoded.
    pub fn into_envelope(self) -> Option<StreamEnvelope> {
        match self {
            StreamItem::Envelope(entry) => Some(entry),
            StreamItem::Skipped(_) => None,
        }
    }
}

/// A stream entry as Redis holds it, before decoding: what a relay (such
/// as `crowd-envelope serve`) passes on for another decoder to judge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEntry {
    /// The entry id.
    pub id: String,
    /// The `data` field's bytes, if the entry has one.
    pub data: Option<Vec<u8>>,
    /// The names of all its fields, in no particular order.
    pub fields: Vec<String>,
    /// Set when a follower left `data` in Redis for being over its size
    /// limit: the payload's size in bytes (`data` is then `None`).
    pub oversized: Option<usize>,
}

/// A reply value's bytes, if it is a string.
fn value_bytes(value: Value) -> Option<Vec<u8>> {
    match value {
        Value::BulkString(bytes) => Some(bytes),
        Value::SimpleString(text) => Some(text.into_bytes()),
        _ => None,
    }
}

impl RawEntry {
    /// Decodes the entry by SPEC section 1's rule ([`crate::entry`]); a
    /// skip is logged at WARN.
    pub fn decode(&self, decoder: &Decoder) -> StreamItem {
        let data = match (&self.data, self.oversized) {
            (_, Some(size)) => EntryData::Oversized(size),
            (Some(bytes), None) => EntryData::Bytes(bytes),
            (None, None) => EntryData::Missing,
        };
        match decode_entry(&self.fields, data, decoder) {
            Ok(envelope) => StreamItem::Envelope(StreamEnvelope {
                id: self.id.clone(),
                envelope,
            }),
            Err(error) => StreamItem::Skipped(log_skip(Skipped {
                id: self.id.clone(),
                reason: error.reason,
                errors: error.errors,
                data: self.data.clone(),
            })),
        }
    }
}

fn log_skip(skipped: Skipped) -> Skipped {
    tracing::warn!(
        id = %skipped.id,
        reason = %skipped.reason,
        "skipping stream entry: {}",
        ValidationError { errors: skipped.errors.clone() }
    );
    skipped
}

fn duration_ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Doubling delays between reconnection attempts, reset by a success.
#[derive(Debug, Default)]
struct Backoff {
    failures: u32,
}

impl Backoff {
    fn delay(&self) -> Duration {
        match self.failures {
            0 => Duration::ZERO,
            n => doubling(BACKOFF.0, n - 1).min(BACKOFF.1),
        }
    }

    async fn wait(&self) {
        let delay = self.delay();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
    }

    fn failed(&mut self) {
        self.failures = self.failures.saturating_add(1);
    }

    fn succeeded(&mut self) {
        self.failures = 0;
    }
}

/// `first` doubled `times` times (at most 2^16 times, so it cannot overflow).
fn doubling(first: Duration, times: u32) -> Duration {
    first.saturating_mul(1 << times.min(16))
}
