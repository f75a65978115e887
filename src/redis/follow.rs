//! Following a stream: every entry after a cursor, in order, across lost
//! connections, trimming and a stream made anew.

use crate::redis::Connection;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use futures_util::{Stream, StreamExt};
use redis_rs::Value;

use super::scripts::{bounded_entries, counter, text, FOLLOW};
use super::{
    command_error, duration_ms, is_stream_id, log_skip, reply_error, Backoff, RawEntry, RedisUrl,
    StreamItem, TransportError, COMMAND_TIMEOUT,
};
use crate::entry::{Gap, GapReason};
use crate::{Decoder, DEFAULT_MAX_PAYLOAD_BYTES};

/// Options of [`follow_envelopes`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FollowOptions {
    /// Deliver entries after this id; `$` (the default) means those added
    /// after the call.
    pub last_id: String,
    /// How long one wait for new entries blocks.
    pub block: Duration,
    /// Entries per read. The next read is sent while one is delivered, so
    /// a follower holds up to two reads' worth.
    pub count: usize,
    /// Size limit per payload; a larger one is left in Redis and comes out
    /// as a `too_large` skip with its size.
    pub max_payload_bytes: usize,
}

impl FollowOptions {
    /// The defaults, following from just after `last_id`.
    pub fn after(last_id: impl Into<String>) -> FollowOptions {
        FollowOptions {
            last_id: last_id.into(),
            ..FollowOptions::default()
        }
    }
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

/// What a raw follower yields: an entry, or entries it could not deliver.
/// Exhaustive on purpose: anything else a follower meets is an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Followed {
    /// The next entry.
    Entry(RawEntry),
    /// Entries that left the stream before they were read.
    Gap(Gap),
}

/// Every entry added after `options.last_id`, in order, decoded, on a
/// connection of its own. It never ends by itself; drop it to stop.
///
/// A lost connection comes out as one `Err` item, then the follower
/// reconnects with backoff and resumes after the last id it saw, so no entry
/// is lost and none repeated. `$` is pinned to the newest id before the
/// first read for the same reason. Entries trimmed before they were read,
/// and a stream made anew, come out as a [`Skipped`] with reason
/// [`SkipReason::Trimmed`] or [`SkipReason::Reset`]: never silently.
pub fn follow_envelopes(
    url: RedisUrl,
    stream: impl Into<String>,
    options: FollowOptions,
) -> impl Stream<Item = Result<StreamItem, TransportError>> {
    let decoder = Decoder::new().max_payload_bytes(options.max_payload_bytes);
    follow_entries(url, stream, options).map(move |followed| {
        followed.map(|followed| match followed {
            Followed::Entry(entry) => entry.decode(&decoder),
            Followed::Gap(gap) => StreamItem::Skipped(log_skip(gap.to_skipped())),
        })
    })
}

/// [`follow_envelopes`] without the decoding: each entry as Redis holds it
/// (a payload over the size limit is left in Redis: only its size comes).
/// A `last_id` Redis would not read gives one [`TransportError::InvalidId`]
/// and ends the stream, rather than being retried forever.
pub fn follow_entries(
    url: RedisUrl,
    stream: impl Into<String>,
    options: FollowOptions,
) -> impl Stream<Item = Result<Followed, TransportError>> {
    let state = if is_stream_id(&options.last_id) {
        Start::Following
    } else {
        Start::Refused(options.last_id.clone())
    };
    let follower = Follower {
        url,
        stream: stream.into(),
        cursor: options.last_id.clone(),
        index: None,
        more: false,
        options,
        conn: None,
        ready: VecDeque::new(),
        ahead: None,
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
    /// The last id delivered.
    cursor: String,
    /// The stream's entries-added count at the cursor, when known: what a
    /// gap is measured from.
    index: Option<u64>,
    /// Whether the last read left entries after the cursor.
    more: bool,
    conn: Option<Connection>,
    ready: VecDeque<Followed>,
    /// The next read, sent while `ready` is delivered, when the last read
    /// left entries after the cursor: Redis reads it while the caller
    /// handles these. Its arguments are the state after `ready`, as a read
    /// sent afterwards would have them.
    ahead: Option<Pending>,
    backoff: Backoff,
}

type Pending = Pin<Box<dyn Future<Output = Result<Value, redis_rs::RedisError>> + Send>>;

/// One reply of `follow.lua`.
struct Read {
    state: String,
    cursor: String,
    index: Option<u64>,
    /// Entries lost: -1 none, -2 some (how many is not known), else how many.
    missed: i64,
    next: String,
    entries: Vec<RawEntry>,
    more: bool,
}

impl Follower {
    async fn next(&mut self) -> Result<Followed, TransportError> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Ok(item);
            }
            self.backoff.wait().await;
            if let Err(error) = self.read().await {
                self.conn = None;
                self.ahead = None;
                self.backoff.failed();
                tracing::warn!(stream = %self.stream, cursor = %self.cursor, "follow: {error}; reconnecting");
                return Err(error);
            }
            self.backoff.succeeded();
        }
    }

    async fn connection(&mut self) -> Result<&mut Connection, TransportError> {
        match self.conn {
            Some(ref mut conn) => Ok(conn),
            None => {
                let timeout = self.options.block + COMMAND_TIMEOUT;
                let conn = self.url.connect_with_timeout(timeout).await?;
                Ok(self.conn.insert(conn))
            }
        }
    }

    /// One atomic read; when it finds nothing new, one wait for the next
    /// entry (whose reply is dropped: the next read takes it with the
    /// counters).
    async fn read(&mut self) -> Result<(), TransportError> {
        let read = self.read_after_cursor().await?;
        self.more = read.more;
        let before = std::mem::replace(&mut self.cursor, read.cursor);
        match read.state.as_str() {
            "reset" => {
                self.ready.push_back(Followed::Gap(Gap {
                    reason: GapReason::Reset,
                    after: before,
                    before: read.next,
                    missed: None,
                }));
                "0-0".clone_into(&mut self.cursor);
                self.index = None;
                return Ok(());
            }
            "absent" => self.index = read.index,
            _ => {
                if read.missed != -1 {
                    let before = read.entries.first().map_or(read.next, |e| e.id.clone());
                    self.ready.push_back(Followed::Gap(Gap {
                        reason: GapReason::Trimmed,
                        after: self.cursor.clone(),
                        before,
                        missed: u64::try_from(read.missed).ok(),
                    }));
                }
                self.index = read.index;
            }
        }
        for entry in read.entries {
            self.cursor.clone_from(&entry.id);
            self.ready.push_back(Followed::Entry(entry));
        }
        if self.ready.is_empty() {
            self.wait_for_more().await?;
        } else if self.more {
            let mut ahead = self.send_read().await?;
            // Polled once, so the command is on its way to Redis now.
            if let Some(reply) = futures_util::FutureExt::now_or_never(&mut ahead) {
                ahead = Box::pin(std::future::ready(reply));
            }
            self.ahead = Some(ahead);
        }
        Ok(())
    }

    async fn read_after_cursor(&mut self) -> Result<Read, TransportError> {
        let pending = match self.ahead.take() {
            Some(ahead) => ahead,
            None => self.send_read().await?,
        };
        let reply = pending.await.map_err(command_error("EVALSHA follow.lua"))?;
        parse_read(reply).ok_or_else(|| reply_error("EVALSHA follow.lua"))
    }

    /// `follow.lua` after the cursor, as a future of its own.
    async fn send_read(&mut self) -> Result<Pending, TransportError> {
        let mut invocation = FOLLOW.key(self.stream.clone());
        invocation
            .arg(&self.cursor)
            .arg(self.options.count.max(1))
            .arg(self.options.max_payload_bytes)
            .arg(self.index.map_or_else(String::new, |i| i.to_string()))
            .arg(if self.more { "1" } else { "0" });
        let mut conn = self.connection().await?.clone();
        Ok(Box::pin(
            async move { invocation.invoke_async(&mut conn).await },
        ))
    }

    async fn wait_for_more(&mut self) -> Result<(), TransportError> {
        let mut cmd = redis_rs::cmd("XREAD");
        cmd.arg("COUNT")
            .arg(1)
            .arg("BLOCK")
            .arg(duration_ms(self.options.block))
            .arg("STREAMS")
            .arg(&self.stream)
            .arg(&self.cursor);
        let conn = self.connection().await?;
        cmd.query_async::<Value>(conn)
            .await
            .map_err(command_error("XREAD"))?;
        Ok(())
    }
}

fn parse_read(reply: Value) -> Option<Read> {
    let Value::Array(mut parts) = reply else {
        return None;
    };
    if parts.len() != 7 {
        return None;
    }
    let more = counter(parts.pop()?)? == Some(1);
    let entries = parts.pop()?;
    let next = text(parts.pop()?)?;
    let Value::Int(missed) = parts.pop()? else {
        return None;
    };
    let index = counter(parts.pop()?)?;
    let cursor = text(parts.pop()?)?;
    let state = text(parts.pop()?)?;
    let entries = bounded_entries(entries)?;
    Some(Read {
        state,
        cursor,
        index,
        missed,
        next,
        entries,
        more,
    })
}
