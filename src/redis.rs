//! The Redis transport (feature `redis`): the seed's `publish_envelope`,
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

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

use ::redis::aio::MultiplexedConnection;
use ::redis::streams::{
    StreamAutoClaimReply, StreamId, StreamPendingCountReply, StreamRangeReply, StreamReadReply,
};
use ::redis::{AsyncConnectionConfig, Client, RedisError, Value};
use futures_util::{Stream, StreamExt};

use crate::error::{DecodeReason, ErrorCode, FieldError, ValidationError};
use crate::{CrowdPredictionEnvelope, Decoder, DEFAULT_MAX_PAYLOAD_BYTES};

/// The one field of a stream entry.
pub const DATA_FIELD: &str = "data";

/// Where replies to ordinary commands must arrive by.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Reconnection backoff: doubling from the first to the last.
const BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(5));

/// What went wrong talking to Redis. Messages never hold the URL's password.
#[derive(Debug, thiserror::Error)]
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
    },
    /// An envelope to publish is not valid.
    #[error("not published: {0}")]
    Invalid(#[from] ValidationError),
    /// A start id that Redis would not read (see [`is_stream_id`]).
    #[error("invalid stream id {0:?}: expected $, MS or MS-SEQ (64-bit numbers)")]
    InvalidId(String),
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

/// Why an entry was not delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    /// The entry has no `data` field.
    NoData,
    /// The entry has fields besides `data` (SPEC: exactly one field).
    ExtraFields,
    /// The `data` field does not decode.
    Decode(DecodeReason),
    /// (Group mode) the handler failed on every delivery allowed.
    HandlerFailed,
    /// (Group mode) a pending entry was deleted from the stream (`XDEL`,
    /// trimming) before it was handled.
    Deleted,
}

impl SkipReason {
    /// `no_data`, `extra_fields`, `handler_failed`, `deleted`, or the decode
    /// reason (`invalid_json`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::NoData => "no_data",
            SkipReason::ExtraFields => "extra_fields",
            SkipReason::Decode(reason) => reason.as_str(),
            SkipReason::HandlerFailed => "handler_failed",
            SkipReason::Deleted => "deleted",
        }
    }
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An entry that was not delivered, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    /// The entry id.
    pub id: String,
    /// Why it was skipped.
    pub reason: SkipReason,
    /// What was wrong, with paths.
    pub errors: Vec<FieldError>,
    /// The raw `data` field, when there was one.
    pub data: Option<Vec<u8>>,
}

/// One entry read from the stream: an envelope, or a skip with its reason.
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
}

impl From<StreamId> for RawEntry {
    fn from(entry: StreamId) -> RawEntry {
        let data = match entry.map.get(DATA_FIELD) {
            Some(Value::BulkString(bytes)) => Some(bytes.clone()),
            Some(Value::SimpleString(text)) => Some(text.clone().into_bytes()),
            _ => None,
        };
        RawEntry {
            fields: entry.map.into_keys().collect(),
            id: entry.id,
            data,
        }
    }
}

impl RawEntry {
    /// Decodes the `data` field; a skip is logged at WARN.
    pub fn decode(&self, decoder: &Decoder) -> StreamItem {
        let id = self.id.clone();
        // Only a pending entry read back after its deletion has no fields.
        if self.fields.is_empty() {
            return StreamItem::Skipped(log_skip(Skipped {
                id,
                reason: SkipReason::Deleted,
                errors: vec![FieldError::new(
                    "",
                    ErrorCode::Missing,
                    "the entry was deleted from the stream before it was handled",
                )],
                data: None,
            }));
        }
        let Some(data) = &self.data else {
            return StreamItem::Skipped(log_skip(Skipped {
                id,
                reason: SkipReason::NoData,
                errors: vec![FieldError::new(
                    "",
                    ErrorCode::Missing,
                    format!("the entry has no '{DATA_FIELD}' field"),
                )],
                data: None,
            }));
        };
        let mut extra: Vec<&str> = self
            .fields
            .iter()
            .map(String::as_str)
            .filter(|&f| f != DATA_FIELD)
            .collect();
        if !extra.is_empty() {
            extra.sort_unstable();
            return StreamItem::Skipped(log_skip(Skipped {
                id,
                reason: SkipReason::ExtraFields,
                errors: vec![FieldError::new(
                    "",
                    ErrorCode::ExtraForbidden,
                    format!(
                        "expected exactly one field, '{DATA_FIELD}', found also {}",
                        extra.join(", ")
                    ),
                )],
                data: Some(data.clone()),
            }));
        }
        match decoder.decode(data) {
            Ok(envelope) => StreamItem::Envelope(StreamEnvelope { id, envelope }),
            Err(error) => StreamItem::Skipped(log_skip(Skipped {
                id,
                reason: SkipReason::Decode(error.reason),
                errors: error.errors,
                data: Some(data.clone()),
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
pub struct PublishOptions {
    /// Trim the stream to about this many entries (`MAXLEN ~ n`).
    pub max_len: Option<usize>,
}

/// Validates the envelope, then `XADD`s it as one `data` field; gives the
/// entry id.
pub async fn publish_envelope(
    conn: &mut MultiplexedConnection,
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
    conn: &mut MultiplexedConnection,
    stream: &str,
    envelopes: &[CrowdPredictionEnvelope],
    options: PublishOptions,
) -> Result<Vec<String>, TransportError> {
    let mut pipe = ::redis::pipe();
    for envelope in envelopes {
        envelope.validate()?;
        pipe.add_command(xadd(stream, &envelope.to_json(), options));
    }
    pipe.query_async(conn).await.map_err(command_error("XADD"))
}

fn xadd(stream: &str, payload: &str, options: PublishOptions) -> ::redis::Cmd {
    let mut cmd = ::redis::cmd("XADD");
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
    conn: &mut MultiplexedConnection,
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
    conn: &mut MultiplexedConnection,
    stream: &str,
    count: usize,
) -> Result<Vec<RawEntry>, TransportError> {
    Ok(newest(conn, stream, count)
        .await?
        .into_iter()
        .map(RawEntry::from)
        .collect())
}

async fn newest(
    conn: &mut MultiplexedConnection,
    stream: &str,
    count: usize,
) -> Result<Vec<StreamId>, TransportError> {
    let reply: StreamRangeReply = ::redis::cmd("XREVRANGE")
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

// ---------------------------------------------------------------------------
// Follow
// ---------------------------------------------------------------------------

/// Options of [`follow_envelopes`].
#[derive(Debug, Clone)]
pub struct FollowOptions {
    /// Deliver entries after this id; `$` (the default) means those added
    /// after the call.
    pub last_id: String,
    /// How long one `XREAD` blocks.
    pub block: Duration,
    /// Entries per read.
    pub count: usize,
    /// Size limit per payload.
    pub max_payload_bytes: usize,
}

impl Default for FollowOptions {
    fn default() -> FollowOptions {
        FollowOptions {
            last_id: "$".to_owned(),
            block: Duration::from_secs(5),
            count: 100,
            max_payload_bytes: DEFAULT_MAX_PAYLOAD_BYTES,
        }
    }
}

/// Every entry added after `options.last_id`, in order, via `XREAD BLOCK` on
/// a connection of its own. It never ends by itself; drop it to stop.
///
/// A lost connection comes out as one `Err` item, then the follower
/// reconnects with backoff and resumes after the last id it saw, so no entry
/// is lost and none repeated. `$` is pinned to the newest id before the
/// first read for the same reason.
pub fn follow_envelopes(
    url: RedisUrl,
    stream: impl Into<String>,
    options: FollowOptions,
) -> impl Stream<Item = Result<StreamItem, TransportError>> {
    let decoder = Decoder::new().max_payload_bytes(options.max_payload_bytes);
    follow_entries(url, stream, options).map(move |entry| entry.map(|e| e.decode(&decoder)))
}

/// [`follow_envelopes`] without the decoding: each entry as Redis holds it.
/// A `last_id` Redis would not read gives one [`TransportError::InvalidId`]
/// and ends the stream, rather than being retried forever.
pub fn follow_entries(
    url: RedisUrl,
    stream: impl Into<String>,
    options: FollowOptions,
) -> impl Stream<Item = Result<RawEntry, TransportError>> {
    let state = if is_stream_id(&options.last_id) {
        Start::Following
    } else {
        Start::Refused(options.last_id.clone())
    };
    let follower = Follower {
        url,
        stream: stream.into(),
        cursor: options.last_id.clone(),
        options,
        conn: None,
        ready: VecDeque::new(),
        backoff: Backoff::default(),
    };
    futures_util::stream::unfold((follower, state), |(mut follower, state)| async move {
        match state {
            Start::Refused(id) => {
                Some((Err(TransportError::InvalidId(id)), (follower, Start::Ended)))
            }
            Start::Ended => None,
            Start::Following => {
                let item = follower.next().await;
                Some((item, (follower, Start::Following)))
            }
        }
    })
}

/// Where a follower stands: following, or about to refuse its start id, or
/// done after refusing it.
enum Start {
    Following,
    Refused(String),
    Ended,
}

struct Follower {
    url: RedisUrl,
    stream: String,
    options: FollowOptions,
    cursor: String,
    conn: Option<MultiplexedConnection>,
    ready: VecDeque<RawEntry>,
    backoff: Backoff,
}

impl Follower {
    async fn next(&mut self) -> Result<RawEntry, TransportError> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Ok(item);
            }
            self.backoff.wait().await;
            if let Err(error) = self.read().await {
                self.conn = None;
                self.backoff.failed();
                tracing::warn!(stream = %self.stream, cursor = %self.cursor, "follow: {error}; reconnecting");
                return Err(error);
            }
            self.backoff.succeeded();
        }
    }

    async fn read(&mut self) -> Result<(), TransportError> {
        let conn = match &mut self.conn {
            Some(conn) => conn,
            None => {
                let timeout = self.options.block + COMMAND_TIMEOUT;
                let conn = self.url.connect_with_timeout(timeout).await?;
                self.conn.insert(conn)
            }
        };
        if self.cursor == "$" {
            self.cursor = newest(conn, &self.stream, 1)
                .await?
                .first()
                .map_or_else(|| "0-0".to_owned(), |entry| entry.id.clone());
        }
        let reply: Option<StreamReadReply> = ::redis::cmd("XREAD")
            .arg("COUNT")
            .arg(self.options.count)
            .arg("BLOCK")
            .arg(duration_ms(self.options.block))
            .arg("STREAMS")
            .arg(&self.stream)
            .arg(&self.cursor)
            .query_async(conn)
            .await
            .map_err(command_error("XREAD"))?;
        for entry in reply.into_iter().flat_map(|r| r.keys).flat_map(|k| k.ids) {
            self.cursor.clone_from(&entry.id);
            self.ready.push_back(RawEntry::from(entry));
        }
        Ok(())
    }
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
            n => BACKOFF
                .0
                .saturating_mul(1 << (n - 1).min(16))
                .min(BACKOFF.1),
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

// ---------------------------------------------------------------------------
// Consumer groups
// ---------------------------------------------------------------------------

/// Settings of a [`GroupConsumer`].
#[derive(Debug, Clone)]
pub struct GroupOptions {
    /// The consumer group; created (with the stream) if missing.
    pub group: String,
    /// This consumer's name, unique within the group.
    pub consumer: String,
    /// Where a newly created group starts: `$` (default: new entries only) or `0`.
    pub start_id: String,
    /// How long one `XREADGROUP` blocks.
    pub block: Duration,
    /// Entries per read.
    pub count: usize,
    /// Entries pending this long with another consumer (a dead one, say), or
    /// with this one after its handler failed, are claimed and retried.
    pub claim_idle: Duration,
    /// Deliveries after which an entry whose handler keeps failing goes to
    /// the dead-letter stream.
    pub max_deliveries: u64,
    /// Size limit per payload.
    pub max_payload_bytes: usize,
    /// Stop after this many entries handled or dead-lettered, having
    /// fetched no more than that (the rest stay in the stream for later).
    pub limit: Option<u64>,
}

impl GroupOptions {
    /// Defaults for `group` and `consumer`: start at `$`, block 5 s, 100 per
    /// read, claim after 30 s idle, dead-letter after 5 deliveries.
    pub fn new(group: impl Into<String>, consumer: impl Into<String>) -> GroupOptions {
        GroupOptions {
            group: group.into(),
            consumer: consumer.into(),
            start_id: "$".to_owned(),
            block: Duration::from_secs(5),
            count: 100,
            claim_idle: Duration::from_secs(30),
            max_deliveries: 5,
            max_payload_bytes: DEFAULT_MAX_PAYLOAD_BYTES,
            limit: None,
        }
    }
}

/// What a [`GroupConsumer`] has done so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupStats {
    /// Entries whose handler succeeded (and were acknowledged).
    pub handled: u64,
    /// Handler failures (each left the entry pending for a retry, or
    /// dead-lettered it at the last delivery).
    pub failed: u64,
    /// Entries claimed from idle consumers (or retried from this one).
    pub claimed: u64,
    /// Entries written to the dead-letter stream, by reason.
    pub dead_lettered: BTreeMap<SkipReason, u64>,
}

/// One consumer of a group: entries are acknowledged only after the
/// handler succeeds; its own pending entries are handled first on start;
/// entries left idle by a dead consumer are claimed; an entry that does not
/// decode, or whose handler fails `max_deliveries` times, is written to
/// `<stream>:dead` (raw `data`, reason, errors, delivery count) and
/// acknowledged, in one transaction.
pub struct GroupConsumer {
    url: RedisUrl,
    stream: String,
    dead_letter: String,
    options: GroupOptions,
    decoder: Decoder,
    conn: Option<MultiplexedConnection>,
    drained_own: bool,
    last_claim: Option<Instant>,
    stats: GroupStats,
    backoff: Backoff,
}

impl GroupConsumer {
    /// A consumer of `stream`; nothing connects until the first poll.
    pub fn new(url: RedisUrl, stream: impl Into<String>, options: GroupOptions) -> GroupConsumer {
        let stream = stream.into();
        GroupConsumer {
            url,
            dead_letter: format!("{stream}:dead"),
            stream,
            decoder: Decoder::new().max_payload_bytes(options.max_payload_bytes),
            options,
            conn: None,
            drained_own: false,
            last_claim: None,
            stats: GroupStats::default(),
            backoff: Backoff::default(),
        }
    }

    /// The dead-letter stream, `<stream>:dead`.
    pub fn dead_letter_stream(&self) -> &str {
        &self.dead_letter
    }

    /// Counters since the consumer was made.
    pub fn stats(&self) -> &GroupStats {
        &self.stats
    }

    /// Handles entries until `stop` completes; connection losses are
    /// retried with backoff, so it returns only when told to.
    pub async fn run<H, Fut, E>(&mut self, handler: H, stop: impl Future<Output = ()>)
    where
        H: FnMut(StreamEnvelope) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: fmt::Display,
    {
        self.run_until(handler, stop, |_| false).await;
    }

    /// Like [`Self::run`], and also returns once `done` says so of the
    /// counters (after N entries, say).
    pub async fn run_until<H, Fut, E>(
        &mut self,
        mut handler: H,
        stop: impl Future<Output = ()>,
        done: impl Fn(&GroupStats) -> bool,
    ) where
        H: FnMut(StreamEnvelope) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: fmt::Display,
    {
        tokio::pin!(stop);
        while !done(&self.stats) && self.remaining() > 0 {
            tokio::select! {
                () = &mut stop => return,
                () = self.backoff.wait() => {}
            }
            let polled = tokio::select! {
                () = &mut stop => return,
                polled = self.poll(&mut handler) => polled,
            };
            if let Err(error) = polled {
                tracing::error!(stream = %self.stream, group = %self.options.group, "consume: {error}; reconnecting");
                self.backoff.failed();
            } else {
                self.backoff.succeeded();
            }
        }
    }

    /// One round: its own pending entries (on the first round and after an
    /// error), then entries
    /// idle long enough to claim, then new entries (blocking up to
    /// `block`). Gives how many entries it processed. After an error the
    /// connection is dropped, so the next round connects afresh.
    pub async fn poll<H, Fut, E>(&mut self, handler: &mut H) -> Result<usize, TransportError>
    where
        H: FnMut(StreamEnvelope) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: fmt::Display,
    {
        let polled = self.poll_once(handler).await;
        if polled.is_err() {
            self.conn = None;
            // What this consumer fetched and did not finish is pending with
            // it: handled first after the reconnect, before newer entries.
            self.drained_own = false;
        }
        polled
    }

    async fn poll_once<H, Fut, E>(&mut self, handler: &mut H) -> Result<usize, TransportError>
    where
        H: FnMut(StreamEnvelope) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: fmt::Display,
    {
        self.connect().await?;
        let mut processed = 0;
        if !self.drained_own {
            while self.remaining() > 0 {
                let entries = self.read_group("0", None).await?;
                if entries.is_empty() {
                    self.drained_own = true;
                    break;
                }
                processed += self.process_all(entries, handler).await?;
            }
        }
        if self.remaining() > 0
            && self
                .last_claim
                .is_none_or(|at| at.elapsed() >= self.options.claim_idle / 2)
        {
            let claimed = self.claim_idle().await?;
            self.stats.claimed += claimed.len() as u64;
            processed += self.process_all(claimed, handler).await?;
            self.last_claim = Some(Instant::now());
        }
        if self.remaining() > 0 {
            let entries = self.read_group(">", Some(self.options.block)).await?;
            processed += self.process_all(entries, handler).await?;
        }
        Ok(processed)
    }

    /// How many more entries this consumer may fetch: its batch size, or
    /// less when its `limit` is near.
    fn remaining(&self) -> usize {
        let Some(limit) = self.options.limit else {
            return self.options.count;
        };
        let done = self.stats.handled + self.stats.dead_lettered.values().sum::<u64>();
        usize::try_from(limit.saturating_sub(done))
            .unwrap_or(usize::MAX)
            .min(self.options.count)
    }

    async fn connect(&mut self) -> Result<&mut MultiplexedConnection, TransportError> {
        if self.conn.is_none() {
            let mut conn = self
                .url
                .connect_with_timeout(self.options.block + COMMAND_TIMEOUT)
                .await?;
            create_group(&mut conn, &self.stream, &self.options).await?;
            self.conn = Some(conn);
        }
        self.conn.as_mut().ok_or_else(|| TransportError::Connect {
            url: self.url.shown.clone(),
            message: "no connection".to_owned(),
        })
    }

    async fn read_group(
        &mut self,
        id: &str,
        block: Option<Duration>,
    ) -> Result<Vec<StreamId>, TransportError> {
        let mut cmd = ::redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(&self.options.group)
            .arg(&self.options.consumer)
            .arg("COUNT")
            .arg(self.remaining());
        if let Some(block) = block {
            cmd.arg("BLOCK").arg(duration_ms(block));
        }
        cmd.arg("STREAMS").arg(&self.stream).arg(id);
        let conn = self.connect().await?;
        let reply: Option<StreamReadReply> = cmd
            .query_async(conn)
            .await
            .map_err(command_error("XREADGROUP"))?;
        Ok(reply
            .into_iter()
            .flat_map(|r| r.keys)
            .flat_map(|k| k.ids)
            .collect())
    }

    async fn claim_idle(&mut self) -> Result<Vec<StreamId>, TransportError> {
        let budget = self.remaining();
        let mut claimed = Vec::new();
        let mut cursor = "0-0".to_owned();
        loop {
            let mut cmd = ::redis::cmd("XAUTOCLAIM");
            cmd.arg(&self.stream)
                .arg(&self.options.group)
                .arg(&self.options.consumer)
                .arg(duration_ms(self.options.claim_idle))
                .arg(&cursor)
                .arg("COUNT")
                .arg(self.remaining().max(1));
            let conn = self.connect().await?;
            let reply: StreamAutoClaimReply = cmd
                .query_async(conn)
                .await
                .map_err(command_error("XAUTOCLAIM"))?;
            claimed.extend(reply.claimed);
            // Entries deleted from the stream while pending cannot be
            // delivered; XAUTOCLAIM has already dropped them from the list.
            for id in reply.deleted_ids {
                tracing::warn!(%id, stream = %self.stream, "pending entry was deleted from the stream");
            }
            if reply.next_stream_id == "0-0" || claimed.len() >= budget {
                return Ok(claimed);
            }
            cursor = reply.next_stream_id;
        }
    }

    async fn process_all<H, Fut, E>(
        &mut self,
        entries: Vec<StreamId>,
        handler: &mut H,
    ) -> Result<usize, TransportError>
    where
        H: FnMut(StreamEnvelope) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: fmt::Display,
    {
        let count = entries.len();
        for entry in entries {
            self.process(entry, handler).await?;
        }
        Ok(count)
    }

    async fn process<H, Fut, E>(
        &mut self,
        entry: StreamId,
        handler: &mut H,
    ) -> Result<(), TransportError>
    where
        H: FnMut(StreamEnvelope) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: fmt::Display,
    {
        let entry = RawEntry::from(entry);
        let delivered = match entry.decode(&self.decoder) {
            StreamItem::Skipped(skipped) => return self.bury(skipped).await,
            StreamItem::Envelope(delivered) => delivered,
        };
        match handler(delivered).await {
            Ok(()) => {
                self.ack(&entry.id).await?;
                self.stats.handled += 1;
            }
            Err(error) => {
                self.stats.failed += 1;
                let deliveries = self.deliveries(&entry.id).await?;
                tracing::warn!(id = %entry.id, deliveries, "handler failed: {error}");
                if deliveries >= self.options.max_deliveries {
                    self.bury(Skipped {
                        id: entry.id.clone(),
                        reason: SkipReason::HandlerFailed,
                        errors: vec![FieldError::new(
                            "",
                            ErrorCode::HandlerFailed,
                            format!("handler failed {deliveries} times, last: {error}"),
                        )],
                        data: entry.data,
                    })
                    .await?;
                }
                // Otherwise the entry stays pending, and is claimed again
                // once idle for `claim_idle`.
            }
        }
        Ok(())
    }

    async fn ack(&mut self, id: &str) -> Result<(), TransportError> {
        let mut cmd = ::redis::cmd("XACK");
        cmd.arg(&self.stream).arg(&self.options.group).arg(id);
        let conn = self.connect().await?;
        cmd.query_async::<()>(conn)
            .await
            .map_err(command_error("XACK"))
    }

    async fn deliveries(&mut self, id: &str) -> Result<u64, TransportError> {
        let mut cmd = ::redis::cmd("XPENDING");
        cmd.arg(&self.stream)
            .arg(&self.options.group)
            .arg(id)
            .arg(id)
            .arg(1);
        let conn = self.connect().await?;
        let reply: StreamPendingCountReply = cmd
            .query_async(conn)
            .await
            .map_err(command_error("XPENDING"))?;
        Ok(reply
            .ids
            .first()
            .map_or(1, |pending| pending.times_delivered as u64))
    }

    /// Writes the entry to the dead-letter stream and acknowledges it, in
    /// one transaction: it is never both lost and acknowledged.
    async fn bury(&mut self, skipped: Skipped) -> Result<(), TransportError> {
        let deliveries = self.deliveries(&skipped.id).await?;
        let errors = serde_json::to_string(&skipped.errors).unwrap_or_default();
        let mut fields: Vec<(&str, Vec<u8>)> = vec![
            ("reason", skipped.reason.as_str().into()),
            ("errors", errors.into_bytes()),
            ("id", skipped.id.clone().into_bytes()),
            ("group", self.options.group.clone().into_bytes()),
            ("consumer", self.options.consumer.clone().into_bytes()),
            ("deliveries", deliveries.to_string().into_bytes()),
        ];
        if let Some(data) = skipped.data {
            fields.insert(0, (DATA_FIELD, data));
        }
        let mut pipe = ::redis::pipe();
        pipe.atomic()
            .cmd("XADD")
            .arg(&self.dead_letter)
            .arg("*")
            .arg(fields)
            .ignore()
            .cmd("XACK")
            .arg(&self.stream)
            .arg(&self.options.group)
            .arg(&skipped.id)
            .ignore();
        let conn = self.connect().await?;
        pipe.query_async::<()>(conn)
            .await
            .map_err(command_error("XADD to the dead-letter stream"))?;
        tracing::error!(
            id = %skipped.id, reason = %skipped.reason, dead_letter = %self.dead_letter,
            "dead-lettered after {deliveries} deliveries"
        );
        *self.stats.dead_lettered.entry(skipped.reason).or_default() += 1;
        Ok(())
    }
}

async fn create_group(
    conn: &mut MultiplexedConnection,
    stream: &str,
    options: &GroupOptions,
) -> Result<(), TransportError> {
    let created: Result<(), RedisError> = ::redis::cmd("XGROUP")
        .arg("CREATE")
        .arg(stream)
        .arg(&options.group)
        .arg(&options.start_id)
        .arg("MKSTREAM")
        .query_async(conn)
        .await;
    match created {
        Err(e) if e.code() != Some("BUSYGROUP") => Err(command_error("XGROUP CREATE")(e)),
        _ => Ok(()),
    }
}
