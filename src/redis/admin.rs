//! What an operator asks of a stream: its state ([`stream_stats`]) and its
//! dead letters ([`dead_letters`], [`replay_dead_letter`],
//! [`purge_dead_letters`]).

use std::collections::HashMap;

use redis_rs::aio::ConnectionLike;
use redis_rs::{Script, Value};
use serde::Serialize;

use super::keys::{dead_letter_key, legacy_dead_letter_key};
use super::publish::range_reply;
use super::scripts::bounded_fields;
use super::{command_error, reply_error, value_bytes, TransportError, DATA_FIELD};
use crate::error::FieldError;

/// A stream's state at one moment, as `XINFO` tells it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct StreamStats {
    /// The stream's key.
    pub stream: String,
    /// Entries in the stream now.
    pub length: u64,
    /// The oldest entry's id, if any.
    pub first_id: Option<String>,
    /// The newest entry's id, if any.
    pub last_id: Option<String>,
    /// Entries ever added (trimmed ones included).
    pub entries_added: u64,
    /// Its consumer groups.
    pub groups: Vec<GroupState>,
    /// Entries in its dead-letter stream ([`super::dead_letter_key`]).
    pub dead_letters: u64,
    /// Dead letters still under the key versions before 0.3 used
    /// (`<stream>:dead`), which [`super::migrate_legacy_keys`] moves;
    /// left out of the JSON when 0.
    #[serde(skip_serializing_if = "is_zero")]
    pub legacy_dead_letters: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// One consumer group of a stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct GroupState {
    /// The group's name.
    pub name: String,
    /// Entries delivered to its consumers and not yet acknowledged.
    pub pending: u64,
    /// Entries not yet delivered to the group; `None` when it cannot be
    /// told (Redis lost count after a deletion past the group's position,
    /// and more than [`LAG_COUNT_LIMIT`] entries follow it).
    pub lag: Option<u64>,
    /// Whether `lag` is not Redis's own figure, which was stale (it can be
    /// after an AOF reload or a trim: more entries waiting than the stream
    /// holds after the group's position) or unknown, and was counted here.
    pub lag_counted: bool,
    /// The last entry delivered to the group.
    pub last_delivered_id: String,
    /// Its consumers.
    pub consumers: Vec<ConsumerState>,
}

/// One consumer of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ConsumerState {
    /// The consumer's name.
    pub name: String,
    /// Entries pending with it.
    pub pending: u64,
    /// Milliseconds since it last read or claimed.
    pub idle_ms: u64,
}

/// `XINFO STREAM` with its first and last entries as their ids alone: the
/// entries themselves may be any size, and only the ids are wanted.
const STREAM_INFO: &str = r"
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
for i = 2, #info, 2 do
  if info[i - 1] == 'first-entry' or info[i - 1] == 'last-entry' then
    info[i] = info[i] and info[i][1] or ''
  end
end
return info
";

/// The state of `stream`, its groups and its dead letters; `None` when the
/// stream does not exist.
pub async fn stream_stats(
    conn: &mut impl ConnectionLike,
    stream: &str,
) -> Result<Option<StreamStats>, TransportError> {
    let info: Value = Script::new(STREAM_INFO)
        .key(stream)
        .invoke_async(conn)
        .await
        .map_err(command_error("EVALSHA stream info"))?;
    if info == Value::Nil {
        return Ok(None);
    }
    let info = fields(info).ok_or_else(|| reply_error("XINFO STREAM"))?;
    let groups = group_fields(conn, stream).await?;
    let mut states = Vec::with_capacity(groups.len());
    for group in groups {
        let name = text(&group, "name").unwrap_or_default();
        let consumers: Vec<Value> = redis_rs::cmd("XINFO")
            .arg("CONSUMERS")
            .arg(stream)
            .arg(&name)
            .query_async(conn)
            .await
            .map_err(command_error("XINFO CONSUMERS"))?;
        let consumers = consumers
            .into_iter()
            .filter_map(fields)
            .map(|c| ConsumerState {
                name: text(&c, "name").unwrap_or_default(),
                pending: number(&c, "pending").unwrap_or(0),
                idle_ms: number(&c, "idle").unwrap_or(0),
            })
            .collect();
        let last_delivered_id = text(&group, "last-delivered-id").unwrap_or_default();
        let redis_lag = number(&group, "lag");
        let lag = match group_lag(&info, &last_delivered_id, redis_lag) {
            Lag::Known(lag) => Some(lag),
            Lag::Count => count_after(conn, stream, &last_delivered_id).await?,
        };
        let lag_counted = lag != redis_lag;
        states.push(GroupState {
            pending: number(&group, "pending").unwrap_or(0),
            lag,
            lag_counted,
            last_delivered_id,
            consumers,
            name,
        });
    }
    let dead_letters = xlen(conn, &dead_letter_key(stream)?).await?;
    let legacy_dead_letters = legacy_dead_letters(conn, stream).await?;
    Ok(Some(StreamStats {
        stream: stream.to_owned(),
        length: number(&info, "length").unwrap_or(0),
        first_id: entry_id(&info, "first-entry"),
        last_id: entry_id(&info, "last-entry"),
        entries_added: number(&info, "entries-added").unwrap_or(0),
        groups: states,
        dead_letters,
        legacy_dead_letters,
    }))
}

/// `XINFO GROUPS` of an existing stream: each group's fields by name.
async fn group_fields(
    conn: &mut impl ConnectionLike,
    stream: &str,
) -> Result<Vec<HashMap<String, Value>>, TransportError> {
    let groups: Vec<Value> = redis_rs::cmd("XINFO")
        .arg("GROUPS")
        .arg(stream)
        .query_async(conn)
        .await
        .map_err(command_error("XINFO GROUPS"))?;
    groups
        .into_iter()
        .map(|group| fields(group).ok_or_else(|| reply_error("XINFO GROUPS")))
        .collect()
}

/// The names of `stream`'s groups; none when there is no stream.
pub(super) async fn group_names(
    conn: &mut impl ConnectionLike,
    stream: &str,
) -> Result<Vec<String>, TransportError> {
    let exists: bool = redis_rs::cmd("EXISTS")
        .arg(stream)
        .query_async(conn)
        .await
        .map_err(command_error("EXISTS"))?;
    if !exists {
        return Ok(Vec::new());
    }
    let groups = group_fields(conn, stream).await?;
    Ok(groups
        .iter()
        .map(|group| text(group, "name").unwrap_or_default())
        .collect())
}

/// How many dead letters are left under the key before 0.3 (0 for a name
/// whose key did not change): [`stream_stats`], `dead` and a group
/// consumer's start warn of them, [`super::migrate_legacy_keys`] moves them.
pub async fn legacy_dead_letters(
    conn: &mut impl ConnectionLike,
    stream: &str,
) -> Result<u64, TransportError> {
    match legacy_dead_letter_key(stream) {
        Some(old) => xlen(conn, &old).await,
        None => Ok(0),
    }
}

/// `XLEN`: 0 for no key.
async fn xlen(conn: &mut impl ConnectionLike, key: &str) -> Result<u64, TransportError> {
    redis_rs::cmd("XLEN")
        .arg(key)
        .query_async(conn)
        .await
        .map_err(command_error("XLEN"))
}

/// The most entries [`stream_stats`] counts after a group's position when
/// Redis's lag is stale; past it the lag is `None`.
pub const LAG_COUNT_LIMIT: u64 = 100_000;

/// A group's lag as Redis tells it, or that it must be counted.
enum Lag {
    Known(u64),
    Count,
}

/// Redis's lag when it is consistent with the stream (an id after which no
/// entry is left has none; an id before the oldest entry has the whole
/// stream after it; no lag exceeds the stream's length), else `Count`.
fn group_lag(info: &HashMap<String, Value>, delivered: &str, redis_lag: Option<u64>) -> Lag {
    let length = number(info, "length").unwrap_or(0);
    let last = entry_id(info, "last-entry");
    let first = entry_id(info, "first-entry");
    let key = |id: &str| super::id_key(id);
    match (first, last) {
        (_, None) => Lag::Known(0),
        (_, Some(last)) if key(delivered) >= key(&last) => Lag::Known(0),
        (Some(first), _) if key(delivered) < key(&first) => Lag::Known(length),
        // The oldest entry is at or before the position: at most
        // `length - 1` entries can follow it.
        _ => match redis_lag {
            Some(lag) if lag < length => Lag::Known(lag),
            _ => Lag::Count,
        },
    }
}

/// How many entries follow `after` (at most [`LAG_COUNT_LIMIT`]; `None`
/// past it), counted inside Redis without fetching them.
async fn count_after(
    conn: &mut impl ConnectionLike,
    stream: &str,
    after: &str,
) -> Result<Option<u64>, TransportError> {
    const COUNT: &str = r"
local n, cursor, most = 0, '(' .. ARGV[1], tonumber(ARGV[2])
while n <= most do
  local read = redis.call('XRANGE', KEYS[1], cursor, '+', 'COUNT', 1000)
  if #read == 0 then return n end
  n = n + #read
  cursor = '(' .. read[#read][1]
end
return -1
";
    let counted: i64 = Script::new(COUNT)
        .key(stream)
        .arg(after)
        .arg(LAG_COUNT_LIMIT)
        .invoke_async(conn)
        .await
        .map_err(command_error("EVALSHA count"))?;
    Ok(u64::try_from(counted).ok())
}

/// A reply's field/value pairs (RESP2 flat array or RESP3 map) by name.
fn fields(reply: Value) -> Option<HashMap<String, Value>> {
    let pairs: Vec<(Value, Value)> = match reply {
        Value::Map(pairs) => pairs,
        Value::Array(items) => {
            let mut items = items.into_iter();
            std::iter::from_fn(|| Some((items.next()?, items.next()?))).collect()
        }
        _ => return None,
    };
    Some(
        pairs
            .into_iter()
            .filter_map(|(k, v)| Some((String::from_utf8(value_bytes(k)?).ok()?, v)))
            .collect(),
    )
}

fn text(fields: &HashMap<String, Value>, name: &str) -> Option<String> {
    String::from_utf8(value_bytes(fields.get(name)?.clone())?).ok()
}

fn number(fields: &HashMap<String, Value>, name: &str) -> Option<u64> {
    match fields.get(name)? {
        Value::Int(n) => u64::try_from(*n).ok(),
        other => String::from_utf8(value_bytes(other.clone())?)
            .ok()?
            .parse()
            .ok(),
    }
}

/// The id of the entry `STREAM_INFO` gives under `name` ("" for none).
fn entry_id(fields: &HashMap<String, Value>, name: &str) -> Option<String> {
    text(fields, name).filter(|id| !id.is_empty())
}

/// One entry of the dead-letter stream, as a group consumer wrote it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct DeadLetter {
    /// Its id in the dead-letter stream.
    pub id: String,
    /// The id the entry had in the stream.
    pub entry_id: String,
    /// Why it was dead-lettered (a [`super::SkipReason`] code).
    pub reason: String,
    /// What was wrong, path by path.
    pub errors: Vec<FieldError>,
    /// The group and consumer that wrote it.
    pub group: String,
    /// The consumer that wrote it.
    pub consumer: String,
    /// Deliveries of the entry in its group, when known.
    pub deliveries: Option<u64>,
    /// The entry's `data`, if it had one and it is within the size limit
    /// of the read: what [`replay_dead_letter`] publishes again.
    #[serde(skip)]
    pub data: Option<Vec<u8>>,
    /// The size of a `data` left out: over the read's limit, or never
    /// copied (an entry over the consumer's limit is dead-lettered by
    /// reference: its payload stays in the stream under `entry_id`).
    pub size: Option<u64>,
}

impl DeadLetter {
    /// A dead letter as `range.lua` gives it: values over the limit empty.
    fn from_bounded(id: String, fields: Vec<(String, Vec<u8>)>, data_size: u64) -> DeadLetter {
        let mut map: HashMap<String, Vec<u8>> = fields.into_iter().collect();
        let mut take = |name: &str| map.remove(name);
        let text = |bytes: Option<Vec<u8>>| {
            bytes
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default()
        };
        let errors = take("errors");
        let data = take(DATA_FIELD).filter(|_| data_size == 0);
        let size = (data_size > 0)
            .then_some(data_size)
            .or_else(|| text(take("size")).parse().ok());
        DeadLetter {
            data,
            size,
            entry_id: text(take("id")),
            reason: text(take("reason")),
            group: text(take("group")),
            consumer: text(take("consumer")),
            deliveries: text(take("deliveries")).parse().ok(),
            errors: errors
                .and_then(|e| serde_json::from_slice(&e).ok())
                .unwrap_or_default(),
            id,
        }
    }
}

/// Up to `count` dead letters of `stream`, oldest first, from `start`
/// (`-` for the first, or an id). A `data` over `max_payload_bytes` is left
/// in Redis (its size comes, as [`DeadLetter::size`]), and so is any other
/// value over it; 0 reads the ids and sizes alone.
pub async fn dead_letters(
    conn: &mut impl ConnectionLike,
    stream: &str,
    start: &str,
    count: usize,
    max_payload_bytes: usize,
) -> Result<Vec<DeadLetter>, TransportError> {
    let key = dead_letter_key(stream)?;
    let reply = range_reply(conn, &key, ("XRANGE", start, "+"), count, max_payload_bytes).await?;
    let Value::Array(entries) = reply else {
        return Ok(Vec::new());
    };
    entries
        .into_iter()
        .map(|entry| {
            let (id, fields, size) =
                bounded_fields(entry).ok_or_else(|| reply_error("EVALSHA range.lua"))?;
            Ok(DeadLetter::from_bounded(id, fields, size))
        })
        .collect()
}

/// What became of a dead letter [`replay_dead_letter`] was asked to replay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "replayed", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Replayed {
    /// Published again under this new id; the dead letter is gone.
    Published {
        /// The entry's new id in the stream.
        id: String,
    },
    /// No dead letter has this id.
    Missing,
    /// The dead letter holds no `data` to publish (an entry that had none,
    /// or one deleted before it was handled): left where it is.
    NoData,
}

/// `XADD`s a dead letter's data to the stream and deletes it, in one step.
const REPLAY: &str = r"
local found = redis.call('XRANGE', KEYS[2], ARGV[1], ARGV[1])[1]
if not found then return {'missing'} end
local fields = found[2]
for i = 1, #fields, 2 do
  if fields[i] == ARGV[2] then
    local id = redis.call('XADD', KEYS[1], '*', ARGV[2], fields[i + 1])
    redis.call('XDEL', KEYS[2], ARGV[1])
    return {'published', id}
  end
end
return {'no_data'}
";

/// Publishes a dead letter's raw `data` to `stream` again, as a new entry,
/// and removes the dead letter: atomically, so it is never both lost and
/// still there, or published twice.
pub async fn replay_dead_letter(
    conn: &mut impl ConnectionLike,
    stream: &str,
    dead_id: &str,
) -> Result<Replayed, TransportError> {
    let reply: Vec<String> = Script::new(REPLAY)
        .key(stream)
        .key(dead_letter_key(stream)?)
        .arg(dead_id)
        .arg(DATA_FIELD)
        .invoke_async(conn)
        .await
        .map_err(command_error("EVALSHA replay"))?;
    match reply.as_slice() {
        [done, id] if done == "published" => Ok(Replayed::Published { id: id.clone() }),
        [missing] if missing == "missing" => Ok(Replayed::Missing),
        [no_data] if no_data == "no_data" => Ok(Replayed::NoData),
        _ => Err(reply_error("EVALSHA replay")),
    }
}

/// Deletes dead letters by id, or, given none, the whole dead-letter
/// stream; gives how many went.
pub async fn purge_dead_letters(
    conn: &mut impl ConnectionLike,
    stream: &str,
    ids: &[String],
) -> Result<u64, TransportError> {
    let key = dead_letter_key(stream)?;
    if !ids.is_empty() {
        return redis_rs::cmd("XDEL")
            .arg(&key)
            .arg(ids)
            .query_async(conn)
            .await
            .map_err(command_error("XDEL"));
    }
    let script =
        Script::new("local n = redis.call('XLEN', KEYS[1]); redis.call('DEL', KEYS[1]); return n");
    script
        .key(&key)
        .invoke_async(conn)
        .await
        .map_err(command_error("EVALSHA purge"))
}
