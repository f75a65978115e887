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

mod follow;
mod group;

use std::fmt;
use std::time::Duration;

use redis_rs::aio::{ConnectionLike, MultiplexedConnection};
use redis_rs::streams::{StreamId, StreamRangeReply};
use redis_rs::{AsyncConnectionConfig, Client, RedisError, RetryMethod, Value};

pub use follow::{
    follow_entries, follow_envelopes, FollowOptions, Followed, Gap, GapReason, FOLLOW_SCRIPT,
};
pub use group::{GroupConsumer, GroupOptions, GroupStats};

use crate::entry::{decode_entry, EntryData};
use crate::error::ValidationError;
use crate::{CrowdPredictionEnvelope, Decoder};

pub use crate::entry::{SkipReason, Skipped, DATA_FIELD};
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
    /// A start id that Redis would not read (see [`is_stream_id`]).
    #[error("invalid stream id {0:?}: expected $, MS or MS-SEQ (64-bit numbers)")]
    InvalidId(String),
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
            | TransportError::InvalidId(_) => false,
        }
    }
}

/// Whether `id` is a stream entry id Redis reads as a start: `$`, or `MS`
/// or `MS-SEQ`, each a 64-bit number.
pub fn is_stream_id(id: &str) -> bool {
    let number =
        |part: &str| part.bytes().all(|b| b.is_ascii_digit()) && part.parse::<u64>().is_ok();
    id == "$"
        || match id.split_once('-') {
            Some((ms, seq)) => number(ms) && number(seq),
            None => number(id),
        }
}

/// A Redis URL (`redis://`, `rediss://` for TLS, `redis+unix://`), shown and
/// logged only with its password replaced by `***`.
#[derive(Clone)]
pub struct RedisUrl {
    client: Client,
    shown: String,
}

impl RedisUrl {
    /// Parses a URL such as `redis://:secret@127.0.0.1:6379/0`.
    pub fn parse(url: &str) -> Result<RedisUrl, TransportError> {
        let shown = redact_url(url);
        let client = Client::open(url).map_err(|e| TransportError::InvalidUrl {
            url: shown.clone(),
            message: scrub(&e, url),
        })?;
        Ok(RedisUrl { client, shown })
    }

    /// The URL with its password replaced by `***`.
    pub fn redacted(&self) -> &str {
        &self.shown
    }

    /// A multiplexed connection for ordinary commands.
    pub async fn connect(&self) -> Result<MultiplexedConnection, TransportError> {
        self.connect_with_timeout(COMMAND_TIMEOUT).await
    }

    /// A connection whose replies may take `timeout`: a blocking read needs
    /// more than the 500 ms redis-rs allows by default, and a connection of
    /// its own so it does not stall other commands.
    async fn connect_with_timeout(
        &self,
        timeout: Duration,
    ) -> Result<MultiplexedConnection, TransportError> {
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(CONNECT_TIMEOUT))
            .set_response_timeout(Some(timeout));
        self.client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| TransportError::Connect {
                url: self.shown.clone(),
                message: scrub(&e, ""),
            })
    }
}

impl fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl fmt::Display for RedisUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

/// The URL with the password of its user info replaced by `***`.
///
/// ```
/// use crowd_envelope::redis::redact_url;
/// assert_eq!(redact_url("redis://:hunter2@db:6379/0"), "redis://:***@db:6379/0");
/// assert_eq!(redact_url("rediss://bot:hunter2@db"), "rediss://bot:***@db");
/// assert_eq!(redact_url("redis://db:6379"), "redis://db:6379");
/// ```
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let Some((user_info, host)) = authority.rsplit_once('@') else {
        return url.to_owned();
    };
    let user = user_info
        .split_once(':')
        .map_or(user_info, |(user, _)| user);
    if user_info.contains(':') {
        format!("{scheme}://{user}:***@{host}{path}")
    } else {
        // `redis://secret@host`: redis-rs reads a lone user info as the password.
        format!("{scheme}://***@{host}{path}")
    }
}

/// A redis-rs error as text, with any trace of `url` (and its password)
/// removed: some errors quote the URL they could not use.
fn scrub(error: &RedisError, url: &str) -> String {
    let text = error.to_string();
    if url.is_empty() {
        return text;
    }
    let mut text = text.replace(url, &redact_url(url));
    if let Some(password) = password_of(url) {
        text = text.replace(password, "***");
    }
    text
}

fn password_of(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let user_info = authority.rsplit_once('@')?.0;
    let password = user_info.split_once(':').map_or(user_info, |(_, p)| p);
    (!password.is_empty()).then_some(password)
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

// ---------------------------------------------------------------------------
// What comes off the stream
// ---------------------------------------------------------------------------

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

impl RawEntry {
    /// An entry as redis-rs reads it (kept out of the public API, so that a
    /// new redis-rs is not a breaking change here).
    fn from_stream_id(entry: StreamId) -> RawEntry {
        let data = match entry.map.get(DATA_FIELD) {
            Some(Value::BulkString(bytes)) => Some(bytes.clone()),
            Some(Value::SimpleString(text)) => Some(text.clone().into_bytes()),
            _ => None,
        };
        RawEntry {
            fields: entry.map.into_keys().collect(),
            id: entry.id,
            data,
            oversized: None,
        }
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

// ---------------------------------------------------------------------------
// Publish and read
// ---------------------------------------------------------------------------

/// Options of [`publish_envelope`].
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct PublishOptions {
    /// Trim the stream to about this many entries (`MAXLEN ~ n`).
    pub max_len: Option<usize>,
}

impl PublishOptions {
    /// Trim the stream to about `max_len` entries as each is added.
    pub fn max_len(max_len: usize) -> PublishOptions {
        PublishOptions {
            max_len: Some(max_len),
        }
    }
}

/// Validates the envelope, then `XADD`s it as one `data` field; gives the
/// entry id.
pub async fn publish_envelope(
    conn: &mut impl ConnectionLike,
    stream: &str,
    envelope: &CrowdPredictionEnvelope,
    options: PublishOptions,
) -> Result<String, TransportError> {
    envelope.validate()?;
    xadd(stream, &envelope.to_json(), options)
        .query_async(conn)
        .await
        .map_err(command_error("XADD"))
}

/// Publishes many envelopes in one round trip (a pipeline); gives their ids
/// in order. All are validated before any is sent.
pub async fn publish_envelopes(
    conn: &mut impl ConnectionLike,
    stream: &str,
    envelopes: &[CrowdPredictionEnvelope],
    options: PublishOptions,
) -> Result<Vec<String>, TransportError> {
    let mut pipe = redis_rs::pipe();
    for envelope in envelopes {
        envelope.validate()?;
        pipe.add_command(xadd(stream, &envelope.to_json(), options));
    }
    pipe.query_async(conn).await.map_err(command_error("XADD"))
}

fn xadd(stream: &str, payload: &str, options: PublishOptions) -> redis_rs::Cmd {
    let mut cmd = redis_rs::cmd("XADD");
    cmd.arg(stream);
    if let Some(max_len) = options.max_len {
        cmd.arg("MAXLEN").arg("~").arg(max_len);
    }
    cmd.arg("*").arg(DATA_FIELD).arg(payload);
    cmd
}

/// The newest `count` entries, newest first (`XREVRANGE`), decoded; the
/// ones that do not decode come as [`StreamItem::Skipped`].
pub async fn read_envelopes(
    conn: &mut impl ConnectionLike,
    stream: &str,
    count: usize,
) -> Result<Vec<StreamItem>, TransportError> {
    let decoder = Decoder::new();
    Ok(read_entries(conn, stream, count)
        .await?
        .iter()
        .map(|entry| entry.decode(&decoder))
        .collect())
}

/// The newest `count` entries, newest first, undecoded.
pub async fn read_entries(
    conn: &mut impl ConnectionLike,
    stream: &str,
    count: usize,
) -> Result<Vec<RawEntry>, TransportError> {
    Ok(newest(conn, stream, count)
        .await?
        .into_iter()
        .map(RawEntry::from_stream_id)
        .collect())
}

async fn newest(
    conn: &mut impl ConnectionLike,
    stream: &str,
    count: usize,
) -> Result<Vec<StreamId>, TransportError> {
    let reply: StreamRangeReply = redis_rs::cmd("XREVRANGE")
        .arg(stream)
        .arg("+")
        .arg("-")
        .arg("COUNT")
        .arg(count)
        .query_async(conn)
        .await
        .map_err(command_error("XREVRANGE"))?;
    Ok(reply.ids)
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
